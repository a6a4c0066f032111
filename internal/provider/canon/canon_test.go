package canon

import (
	"errors"
	"testing"
)

func TestUsageMerge(t *testing.T) {
	var u Usage
	u.Merge(&Usage{Input: 20, CacheRead: 12})
	u.Merge(&Usage{Output: 7, Reasoning: 3})
	u.Merge(&Usage{}) // says nothing: changes nothing
	want := Usage{Input: 20, Output: 7, CacheRead: 12, Valid: true, Reasoning: 3}
	if u != want {
		t.Errorf("merged %+v, want %+v", u, want)
	}
	var v Usage
	v.Merge(&Usage{Valid: true})
	if !v.Valid {
		t.Error("a valid empty usage did not make the sum valid")
	}
}

func TestFrames(t *testing.T) {
	var f Frames
	f.Reset()
	b := f.Begin("message_delta")
	f.End(append(b, `{"a":1}`...))
	f.Add("", []byte("line1\nline2"))
	if f.Len() != 2 {
		t.Fatalf("%d frames", f.Len())
	}
	if n, d := f.At(0); string(n) != "message_delta" || string(d) != `{"a":1}` {
		t.Errorf("frame 0: %q %q", n, d)
	}
	want := "event: message_delta\ndata: {\"a\":1}\n\ndata: line1\ndata: line2\n\n"
	if got := string(f.AppendSSE(nil)); got != want {
		t.Errorf("SSE %q, want %q", got, want)
	}
	f.Reset()
	if f.Len() != 0 {
		t.Error("Reset kept frames")
	}
}

func TestParseObject(t *testing.T) {
	if _, err := ParseObject([]byte(`{"a":`)); !errors.Is(err, ErrInvalidJSON) {
		t.Errorf("broken JSON: %v", err)
	}
	var fe *FieldError
	if _, err := ParseObject([]byte(`[1]`)); !errors.As(err, &fe) || fe.Field != "body" {
		t.Errorf("an array: %v", err)
	}
	if r, err := ParseObject([]byte(`{"a":1}`)); err != nil || r.Get("a").Int() != 1 {
		t.Errorf("an object: %v %v", r, err)
	}
}
