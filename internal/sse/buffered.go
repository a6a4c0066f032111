package sse

import "bytes"

// Buffered reports whether Next would return without reading from the
// source: a complete LF- or CRLF-terminated event, or the end of the stream,
// is already buffered. A relay uses it to send events that arrived together
// in one write while never holding back an event when the next one is not
// there yet. It may report false when an event is in fact complete (a
// CR-only line ending); that costs an extra write, never a delay.
func (r *Reader) Buffered() bool {
	if r.err != nil {
		return true
	}
	b := r.buf[r.start:r.end]
	if r.skipLF && len(b) > 0 && b[0] == '\n' {
		b = b[1:]
	}
	return bytes.Contains(b, []byte("\n\n")) || bytes.Contains(b, []byte("\r\n\r\n")) ||
		(len(b) > 0 && b[0] == '\n')
}
