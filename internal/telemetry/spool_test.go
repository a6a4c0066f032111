package telemetry

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// frameOf is batch encoded as a frame ready for spool.append.
func frameOf(batch []Record) []byte {
	return appendBatch(make([]byte, frameHeader), batch)
}

// batchOf is n records with ids from first on.
func batchOf(first, n int) []Record {
	out := make([]Record, n)
	for i := range out {
		out[i] = sampleRecord(first+i, time.Unix(1700000000, 0).UTC())
	}
	return out
}

func openTestSpool(t *testing.T, dir string, maxBytes, segMax int64) *spool {
	t.Helper()
	s, err := openSpool(dir, maxBytes, segMax, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("openSpool: %v", err)
	}
	t.Cleanup(func() { _ = s.close() })
	return s
}

// drain reads and commits everything, returning the ids in order.
func drain(t *testing.T, s *spool, want int) []string {
	t.Helper()
	var ids []string
	for s.pending() {
		recs, m := s.read(nil, want)
		for _, r := range recs {
			ids = append(ids, r.RequestID)
		}
		s.commit(m)
	}
	return ids
}

func ids(first, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("req-%08d", first+i)
	}
	return out
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segmentExt))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSpoolAppendReadCommit(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, dir, 1<<20, 1<<20)
	for i := range 3 {
		if err := s.append(frameOf(batchOf(i*10, 10))); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	if !s.pending() || s.bytes() == 0 {
		t.Fatalf("pending=%v bytes=%d after appends", s.pending(), s.bytes())
	}
	// want=15 takes whole frames: two of ten.
	recs, m := s.read(nil, 15)
	if len(recs) != 20 {
		t.Fatalf("read %d records, want 20 (two whole frames)", len(recs))
	}
	s.commit(m)
	if got := drain(t, s, 15); !slices.Equal(got, ids(20, 10)) {
		t.Fatalf("rest = %v", got)
	}
	if s.pending() || s.bytes() != 0 {
		t.Fatalf("after drain: pending=%v bytes=%d", s.pending(), s.bytes())
	}
	if f := segFiles(t, dir); len(f) != 0 {
		t.Fatalf("segments left after full replay: %v", f)
	}
	// Appends after a full replay start a new segment.
	if err := s.append(frameOf(batchOf(100, 1))); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, s, 10); !slices.Equal(got, ids(100, 1)) {
		t.Fatalf("after restart: %v", got)
	}
}

func TestSpoolRotationAndOrder(t *testing.T) {
	dir := t.TempDir()
	var frames [][]byte
	largest := 0
	for i := range 10 {
		frames = append(frames, frameOf(batchOf(i*5, 5)))
		largest = max(largest, len(frames[i]))
	}
	segMax := int64(largest * 3) // three frames per segment (sizes differ by a few bytes)
	s := openTestSpool(t, dir, 1<<20, segMax)
	for _, f := range frames {
		if err := s.append(f); err != nil {
			t.Fatal(err)
		}
	}
	files := segFiles(t, dir)
	if len(files) != 4 {
		t.Fatalf("segments = %d, want 4 (3+3+3+1 frames)", len(files))
	}
	// Replay one frame at a time: a segment goes once all of it is in.
	var got []string
	for s.pending() {
		before := len(segFiles(t, dir))
		recs, m := s.read(nil, 1)
		for _, r := range recs {
			got = append(got, r.RequestID)
		}
		s.commit(m)
		after := len(segFiles(t, dir))
		if after < before && len(got)%15 != 0 && len(got) != 50 {
			t.Fatalf("segment deleted after %d records, mid-segment", len(got))
		}
	}
	if !slices.Equal(got, ids(0, 50)) {
		t.Fatalf("replay order = %v", got)
	}
	if f := segFiles(t, dir); len(f) != 0 {
		t.Fatalf("segments left: %v", f)
	}
}

func TestSpoolReopenReplaysInOrder(t *testing.T) {
	tests := []struct {
		name   string
		segMax int64
		want   []string
	}{
		// One frame per segment: the replayed frame's segment is gone.
		{"finished segment deleted", 300, ids(2, 10)},
		// One segment: progress inside a segment is not persisted, so the
		// replayed frame comes again (at least once; sinks dedup).
		{"unfinished segment replayed again", 1 << 20, ids(0, 12)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := openSpool(dir, 1<<20, tt.segMax, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			for i := range 6 {
				if err := s.append(frameOf(batchOf(i*2, 2))); err != nil {
					t.Fatal(err)
				}
			}
			// Replay one frame, then "crash".
			_, m := s.read(nil, 1)
			s.commit(m)
			_ = s.close()
			s2 := openTestSpool(t, dir, 1<<20, tt.segMax)
			if got := drain(t, s2, 3); !slices.Equal(got, tt.want) {
				t.Fatalf("after reopen: %v, want %v", got, tt.want)
			}
			if err := s2.append(frameOf(batchOf(50, 1))); err != nil {
				t.Fatal(err)
			}
			if got := drain(t, s2, 3); !slices.Equal(got, ids(50, 1)) {
				t.Fatalf("new segment after reopen: %v", got)
			}
		})
	}
}

func TestSpoolTornTail(t *testing.T) {
	good := frameOf(batchOf(0, 3))
	sealFrame(good)
	next := frameOf(batchOf(3, 3))
	sealFrame(next)
	tests := []struct {
		name string
		tail []byte
	}{
		{"partial header", next[:5]},
		{"header only", next[:frameHeader]},
		{"partial payload", next[:len(next)-1]},
		{"bad crc", func() []byte { b := slices.Clone(next); b[6] ^= 0xff; return b }()},
		{"flipped payload bit", func() []byte { b := slices.Clone(next); b[len(b)-3] ^= 1; return b }()},
		{"zero-filled tail", make([]byte, 64)},
		{"huge length", []byte{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, fmt.Sprintf("%020d%s", 7, segmentExt))
			if err := os.WriteFile(path, append(slices.Clone(good), tt.tail...), 0o600); err != nil {
				t.Fatal(err)
			}
			log, buf := testLogger(t)
			s, err := openSpool(dir, 1<<20, 1<<20, log)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			if !strings.Contains(buf.String(), "torn or corrupt tail") {
				t.Errorf("no log line about the torn tail: %q", buf.String())
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() != int64(len(good)) {
				t.Errorf("file is %d bytes after open, want truncated to %d", st.Size(), len(good))
			}
			if got := drain(t, s, 100); !slices.Equal(got, ids(0, 3)) {
				t.Fatalf("replayed %v, want only the whole frame", got)
			}
			// Appends continue in a new segment, numbered after the old one.
			if err := s.append(frameOf(batchOf(9, 1))); err != nil {
				t.Fatal(err)
			}
			if f := segFiles(t, dir); len(f) != 1 || !strings.HasSuffix(f[0], fmt.Sprintf("%020d%s", 8, segmentExt)) {
				t.Fatalf("segments = %v", f)
			}
		})
	}
}

func TestSpoolCorruptMiddleFrameNotReplayed(t *testing.T) {
	dir := t.TempDir()
	a, b, c := frameOf(batchOf(0, 2)), frameOf(batchOf(2, 2)), frameOf(batchOf(4, 2))
	for _, f := range [][]byte{a, b, c} {
		sealFrame(f)
	}
	b[len(b)-1] ^= 0x55
	var data []byte
	for _, f := range [][]byte{a, b, c} {
		data = append(data, f...)
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%020d%s", 1, segmentExt)), data, 0o600); err != nil {
		t.Fatal(err)
	}
	s := openTestSpool(t, dir, 1<<20, 1<<20)
	if got := drain(t, s, 100); !slices.Equal(got, ids(0, 2)) {
		t.Fatalf("replayed %v, want only the frame before the corrupt one", got)
	}
}

func TestSpoolFull(t *testing.T) {
	frame := frameOf(batchOf(0, 4))
	s := openTestSpool(t, t.TempDir(), int64(len(frame)*2), 1<<20)
	for i := range 2 {
		if err := s.append(frameOf(batchOf(i*4, 4))); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if err := s.append(frameOf(batchOf(8, 4))); !errors.Is(err, errSpoolFull) {
		t.Fatalf("third append: err = %v, want errSpoolFull", err)
	}
	if got := s.bytes(); got != int64(len(frame)*2) {
		t.Fatalf("bytes = %d, want %d", got, len(frame)*2)
	}
	// Replaying frees the space again.
	drain(t, s, 100)
	if err := s.append(frameOf(batchOf(8, 4))); err != nil {
		t.Fatalf("append after replay: %v", err)
	}
}

func TestSpoolIgnoresForeignFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"notes.txt", "1.seg", "abc" + segmentExt} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := openTestSpool(t, dir, 1<<20, 1<<20)
	if s.pending() || s.bytes() != 0 {
		t.Fatalf("foreign files taken as segments: pending=%v bytes=%d", s.pending(), s.bytes())
	}
}

// FuzzSpoolSegment opens a segment of arbitrary bytes: it must never
// panic, and what it replays must be whole, checksummed frames.
func FuzzSpoolSegment(f *testing.F) {
	a := frameOf(batchOf(0, 2))
	sealFrame(a)
	f.Add(a)
	f.Add(append(slices.Clone(a), a[:11]...))
	f.Add([]byte{})
	f.Add(make([]byte, 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, fmt.Sprintf("%020d%s", 1, segmentExt))
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := openSpool(dir, 1<<30, 1<<30, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer s.close()
		for s.pending() {
			_, m := s.read(nil, 1000)
			s.commit(m)
		}
		if s.bytes() != 0 {
			t.Fatalf("bytes = %d after replaying everything", s.bytes())
		}
	})
}
