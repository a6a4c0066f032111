package migrate

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		fs      fstest.MapFS
		want    []Migration // nil with wantErr
		wantErr string
	}{
		{
			name: "ordered by version, not by name",
			fs: fstest.MapFS{
				"m/10_ten.sql":   file("TEN"),
				"m/0002_two.sql": file("TWO"),
				"m/9_nine.sql":   file("NINE"),
				"m/0001_one.sql": file("ONE"),
				"other/3_x.sql":  file("OTHER"),
			},
			want: []Migration{
				{1, "0001_one.sql", "ONE"}, {2, "0002_two.sql", "TWO"},
				{9, "9_nine.sql", "NINE"}, {10, "10_ten.sql", "TEN"},
			},
		},
		{name: "empty directory", fs: fstest.MapFS{"m": &fstest.MapFile{Mode: fs.ModeDir | 0o755}}, want: []Migration{}},
		{name: "missing directory", fs: fstest.MapFS{"x/0001_a.sql": file("")}, wantErr: "migrate: open m"},
		{name: "duplicate version", fs: fstest.MapFS{"m/0001_a.sql": file(""), "m/1_b.sql": file("")},
			wantErr: "0001_a.sql and 1_b.sql have the same version 1"},
		{name: "no underscore", fs: fstest.MapFS{"m/0001.sql": file("")}, wantErr: `"0001.sql" is not a file named NNNN_name.sql`},
		{name: "not numbered", fs: fstest.MapFS{"m/abcd_a.sql": file("")}, wantErr: "is not a file named"},
		{name: "no number", fs: fstest.MapFS{"m/_a.sql": file("")}, wantErr: "is not a file named"},
		{name: "signed number", fs: fstest.MapFS{"m/+1_a.sql": file("")}, wantErr: "is not a file named"},
		{name: "negative number", fs: fstest.MapFS{"m/-1_a.sql": file("")}, wantErr: "is not a file named"},
		{name: "version zero", fs: fstest.MapFS{"m/0000_a.sql": file("")}, wantErr: "is not a file named"},
		{name: "version over int32", fs: fstest.MapFS{"m/2147483648_a.sql": file("")}, wantErr: "is not a file named"},
		{name: "largest version", fs: fstest.MapFS{"m/2147483647_a.sql": file("X")},
			want: []Migration{{2147483647, "2147483647_a.sql", "X"}}},
		{name: "empty name", fs: fstest.MapFS{"m/0001_.sql": file("")}, wantErr: "is not a file named"},
		{name: "not .sql", fs: fstest.MapFS{"m/0001_a.txt": file("")}, wantErr: "is not a file named"},
		{name: "directory", fs: fstest.MapFS{"m/0001_a.sql/x": file("")}, wantErr: `"0001_a.sql" is not a file named`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(tt.fs, "m")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "migrate: ") {
					t.Fatalf("Load = %v, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Load = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("Load[%d] = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestCheckArgs(t *testing.T) {
	tests := []struct {
		name      string
		component string
		ms        []Migration
		wantErr   string
	}{
		{"ok", "c", []Migration{{Version: 1}, {Version: 3}}, ""},
		{"none", "c", nil, ""},
		{"no component", "", nil, "component name is required"},
		{"not increasing", "c", []Migration{{Version: 2, Name: "a"}, {Version: 1, Name: "b"}}, "b: versions must increase"},
		{"duplicate", "c", []Migration{{Version: 1, Name: "a"}, {Version: 1, Name: "b"}}, "b: versions must increase"},
		{"zero", "c", []Migration{{Version: 0, Name: "a"}}, "a: version 0 is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkArgs(tt.component, tt.ms)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("checkArgs: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("checkArgs = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzParseName(f *testing.F) {
	for _, s := range []string{"0001_keys.sql", "1_a.sql", "0001.sql", "+1_a.sql", "0_a.sql", "99999999999_a.sql", "1_.sql", "1_a.sq", "١_a.sql"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		v, ok := parseName(name)
		if !ok {
			if v != 0 {
				t.Fatalf("parseName(%q) = %d, false; want 0", name, v)
			}
			return
		}
		num, rest, _ := strings.Cut(name, "_")
		if v < 1 || v > 1<<31-1 || !strings.HasSuffix(rest, ".sql") || len(rest) <= len(".sql") {
			t.Fatalf("parseName(%q) = %d, true", name, v)
		}
		for _, c := range num {
			if c < '0' || c > '9' {
				t.Fatalf("parseName(%q) accepted non-digit %q", name, c)
			}
		}
	})
}
