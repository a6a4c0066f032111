package config

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "quick.yaml", Line: 12, Col: 17, Path: "models[2].targets[0].provider", Msg: `unknown provider "openi"`},
			`quick.yaml:12:17: models[2].targets[0].provider: unknown provider "openi"`},
		{Error{File: "q.yaml", Line: 3, Col: 1, Msg: "invalid YAML: x"}, `q.yaml:3:1: invalid YAML: x`},
		{Error{File: "q.yaml", Msg: "and 3 more problems"}, `q.yaml: and 3 more problems`},
		{Error{Path: "log.level", Msg: "bad"}, `log.level: bad`},
		{Error{Msg: "bad"}, `bad`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.e.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorsSorted(t *testing.T) {
	es := Errors{
		{File: "f", Line: 9, Col: 1, Msg: "c"},
		{File: "f", Line: 2, Col: 5, Msg: "b"},
		{File: "f", Line: 2, Col: 1, Msg: "a"},
		{File: "f", Line: 9, Col: 1, Msg: "c"},
		{File: "f", Line: 9, Col: 1, Msg: "d"},
	}.sorted()
	want := "f:2:1: a\nf:2:5: b\nf:9:1: c\nf:9:1: d"
	if got := es.Error(); got != want {
		t.Errorf("sorted:\n%s\nwant:\n%s", got, want)
	}
}

func TestReportErrors(t *testing.T) {
	es := Errors{{File: "f.yaml", Line: 1, Col: 2, Path: "p", Msg: "m1"}, {File: "f.yaml", Line: 3, Col: 4, Msg: "m2"}}
	tests := []struct {
		name string
		err  error
		code int
		out  string
	}{
		{"nil", nil, 0, ""},
		{"errors", es, 2, "f.yaml:1:2: p: m1\nf.yaml:3:4: m2\n"},
		{"wrapped errors", fmt.Errorf("serve: %w", es), 2, "f.yaml:1:2: p: m1\nf.yaml:3:4: m2\n"},
		{"one error", Error{File: "f.yaml", Line: 1, Col: 1, Msg: "m"}, 2, "f.yaml:1:1: m\n"},
		{"other", errors.New("config: open x.yaml: no such file or directory"), 1, "sluice: config: open x.yaml: no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if code := ReportErrors(&buf, tt.err); code != tt.code {
				t.Errorf("code = %d, want %d", code, tt.code)
			}
			if buf.String() != tt.out {
				t.Errorf("output = %q, want %q", buf.String(), tt.out)
			}
		})
	}
}
