package canon

import "github.com/sluice-gw/sluice/internal/sse"

// Frames collects the events a StreamEncoder writes: each an SSE event
// name (empty: none) and its data, in one buffer. The gateway hands each
// to the output guardrails and then writes it with WriteTo, the way it
// handles an upstream's own events.
type Frames struct {
	buf   []byte
	spans []frameSpan
	open  int // the start of the data of the frame being written; -1: none
}

type frameSpan struct{ name, data, end int }

// Reset empties f, keeping its memory.
func (f *Frames) Reset() {
	f.buf, f.spans, f.open = f.buf[:0], f.spans[:0], -1
}

// Len returns how many frames f holds.
func (f *Frames) Len() int { return len(f.spans) }

// At returns frame i's name and data, views valid until f changes.
func (f *Frames) At(i int) (name, data []byte) {
	s := f.spans[i]
	return f.buf[s.name:s.data], f.buf[s.data:s.end]
}

// Begin starts a frame named name and returns the buffer its data is
// appended to; End takes the buffer back. Between them nothing else may
// use f:
//
//	b := f.Begin("message_delta")
//	b = append(b, `{"type":"message_delta"}`...)
//	f.End(b)
func (f *Frames) Begin(name string) []byte {
	n := len(f.buf)
	f.buf = append(f.buf, name...)
	f.spans = append(f.spans, frameSpan{name: n, data: len(f.buf)})
	f.open = len(f.spans) - 1
	return f.buf
}

// End closes the frame Begin started; b is its buffer with the data
// appended.
func (f *Frames) End(b []byte) {
	f.buf = b
	f.spans[f.open].end = len(b)
	f.open = -1
}

// Add appends a frame with the given name and data.
func (f *Frames) Add(name string, data []byte) { f.End(append(f.Begin(name), data...)) }

// AppendSSE appends every frame to dst as SSE events.
func (f *Frames) AppendSSE(dst []byte) []byte {
	for i := range f.spans {
		name, data := f.At(i)
		dst = sse.AppendEvent(dst, name, data)
	}
	return dst
}

// Release empties f for reuse by a later stream, dropping a buffer grown
// past 64 KiB (a Responses stream's last event repeats the whole reply)
// so that a pooled owner does not pin it.
func (f *Frames) Release() {
	if cap(f.buf) > 64<<10 {
		f.buf = nil
	}
	if cap(f.spans) > 1024 {
		f.spans = nil
	}
	f.Reset()
}
