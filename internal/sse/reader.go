package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxEventSize is the limit on one event's size (len of [Event.Raw]) that
// [NewReader] uses when given a size <= 0, and that a zero [Reader] uses.
const DefaultMaxEventSize = 1 << 20

// DoneData is the data of the event that ends an OpenAI stream ("data: [DONE]").
const DoneData = "[DONE]"

const (
	// initialBufSize is the size of a Reader's first buffer. It doubles when an event
	// needs more, up to the event size limit plus one byte.
	initialBufSize = 4 << 10
	// maxEmptyReads is how many reads in a row may return neither bytes nor an error
	// before Next gives up with io.ErrNoProgress (the same bound as bufio).
	maxEmptyReads = 100
)

// bom is the UTF-8 byte order mark, skipped at the start of a stream.
const bom = "\xEF\xBB\xBF"

// ErrEventTooLarge is returned (wrapped with the limit) by [Reader.Next] when an event is
// longer than the Reader's maximum event size.
var ErrEventTooLarge = errors.New("sse: event too large")

// errInvalidRead reports an io.Reader that returned a byte count outside its buffer.
var errInvalidRead = errors.New("sse: source returned an invalid byte count")

// Event is one event read by a [Reader]. Its slices point into the Reader's buffers and
// stay valid only until the next call to [Reader.Next] or [Reader.Reset]. Each slice's
// capacity equals its length, so appending to one never overwrites the Reader's buffer.
type Event struct {
	// Raw is the event exactly as received, from the end of the previous event up to and
	// including the blank line that ends this one (or up to the end of input when
	// Incomplete). Writing Raw relays the event byte for byte. The first event of a
	// stream that starts with a UTF-8 byte order mark holds the mark too.
	Raw []byte
	// Name is the value of the last "event" field, nil when the event has none (and
	// empty but not nil for "event:" with an empty value).
	Name []byte
	// Data is the value of the "data" field; several data lines are joined with "\n".
	// Nil when the event has no data field, empty but not nil for "data:" with an empty
	// value. It never holds a '\r'. With one data line it points into Raw; with several
	// it points into a buffer the Reader reuses.
	Data []byte
	// ID is the value of the last "id" field of this event that holds no U+0000, nil if
	// none.
	ID []byte
	// Incomplete reports that the input ended, or a read failed, before the blank line
	// that ends an event: the stream was cut short. When the last byte of Raw is neither
	// '\n' nor '\r', the event's last line was cut as well; it is parsed as if it had
	// been terminated, so its value may be truncated.
	Incomplete bool
}

// IsDone reports whether the event is OpenAI's end-of-stream marker, data "[DONE]".
func (e *Event) IsDone() bool {
	return string(e.Data) == DoneData
}

// span locates a field value inside the event being parsed, as offsets from its start.
// Offsets survive the buffer being compacted or grown, pointers would not.
type span struct {
	off, end int
	ok       bool
}

// Reader reads events from an upstream body. Create one with [NewReader]; a zero Reader
// is usable after [Reader.Reset] and limits events to [DefaultMaxEventSize]. A Reader is
// not safe for concurrent use.
type Reader struct {
	src io.Reader
	max int // limit on len(Event.Raw); <= 0 means DefaultMaxEventSize

	// buf[start:end] holds bytes read and not yet returned: the event being parsed,
	// whose lines up to scan are parsed. buf[scan:look] is known to hold no line
	// terminator, so a long line is not searched again after each read.
	buf               []byte
	start, scan, look int
	end               int
	// err is the source's error (or a sticky error of ours), returned once the bytes
	// read before it have been returned as events.
	err error

	bomDone bool // the stream start has been checked for a byte order mark
	skipLF  bool // a line ended in '\r' that was the last byte read: skip a '\n' next

	// Fields of the event being parsed.
	name, id, data span
	dataLines      int
	joined         []byte // data lines joined with '\n' when there are several
}

// NewReader returns a Reader that reads events from src. maxEventSize limits the size of
// one event (len of its Raw); <= 0 means [DefaultMaxEventSize]. The Reader buffers at
// most maxEventSize+1 bytes.
func NewReader(src io.Reader, maxEventSize int) *Reader {
	if maxEventSize <= 0 {
		maxEventSize = DefaultMaxEventSize
	}
	return &Reader{src: src, max: maxEventSize}
}

// Reset makes the Reader read a new stream from src, discarding any buffered bytes and
// error but keeping its buffers and size limit, so that a pooled Reader allocates
// nothing once warm. A buffer grown by a large event stays that size.
func (r *Reader) Reset(src io.Reader) {
	*r = Reader{src: src, max: r.max, buf: r.buf, joined: r.joined[:0]}
}

// Next returns the next event. The returned Event's slices point into the Reader's
// buffers and stay valid only until the next call to Next or Reset.
//
// At the clean end of input Next returns io.EOF. An event cut short by the end of input
// (or by a read error) is still returned, with Incomplete set, and io.EOF (or the read
// error) comes on the next call. An event longer than the size limit returns an error
// matching [ErrEventTooLarge]. Errors from the source are returned as they are. Once Next
// has returned an error it returns it on every later call, until Reset.
func (r *Reader) Next() (Event, error) {
	if r.max <= 0 {
		r.max = DefaultMaxEventSize
	}
	for {
		if r.parseLines() {
			return r.dispatch(false)
		}
		if r.err != nil {
			return r.atEnd()
		}
		r.fill()
	}
}

// parseLines parses the complete lines buffered after scan. It returns true when it has
// consumed a blank line, which ends the event at scan, and false when it needs more input.
func (r *Reader) parseLines() bool {
	if !r.bomDone {
		avail := r.buf[r.scan:r.end]
		if len(avail) < len(bom) && r.err == nil && string(avail) == bom[:len(avail)] {
			return false // too few bytes yet to tell
		}
		if len(avail) >= len(bom) && string(avail[:len(bom)]) == bom {
			r.scan += len(bom)
			r.look = r.scan
		}
		r.bomDone = true
	}
	for {
		if r.skipLF {
			if r.scan == r.end {
				return false
			}
			if r.buf[r.scan] == '\n' {
				r.scan++
				r.look = r.scan
			}
			r.skipLF = false
		}
		i := r.findEOL()
		if i < 0 {
			return false
		}
		next := i + 1
		if r.buf[i] == '\r' {
			switch {
			case next < r.end:
				if r.buf[next] == '\n' {
					next++
				}
			case i == r.scan && r.err == nil:
				// A blank line ended by '\r' as the last byte read: the next byte
				// decides whether the line ending is "\r" or "\r\n". Wait for it, so
				// that Raw does not depend on how the input was split into reads.
				r.look = i
				return false
			default:
				// Mid-event the '\n' can wait: it joins this event's Raw whenever
				// it comes.
				r.skipLF = true
			}
		}
		lineStart := r.scan
		r.scan, r.look = next, next
		if i == lineStart {
			r.skipLF = false
			return true
		}
		r.field(lineStart, i)
	}
}

// findEOL returns the index in buf of the first '\r' or '\n' at or after scan, or -1.
func (r *Reader) findEOL() int {
	i := indexEOL(r.buf[r.look:r.end])
	if i < 0 {
		r.look = r.end
		return -1
	}
	return r.look + i
}

// field applies the non-blank line buf[a:b] to the event being parsed.
func (r *Reader) field(a, b int) {
	line := r.buf[a:b]
	if line[0] == ':' {
		return // comment
	}
	name, v := line, b // no colon: the whole line is the name, the value is empty
	if c := bytes.IndexByte(line, ':'); c >= 0 {
		name = line[:c]
		v = a + c + 1
		if v < b && r.buf[v] == ' ' {
			v++
		}
	}
	val := span{off: v - r.start, end: b - r.start, ok: true}
	switch {
	case string(name) == "data":
		r.addData(val)
	case string(name) == "event":
		r.name = val
	case string(name) == "id":
		if bytes.IndexByte(r.buf[v:b], 0) < 0 {
			r.id = val
		}
	}
}

// addData adds one data line. A single line is left in place; from the second on the
// lines are joined in r.joined.
func (r *Reader) addData(val span) {
	switch r.dataLines {
	case 0:
		r.data = val
	case 1:
		r.joined = append(r.joined[:0], r.value(r.data)...)
		fallthrough
	default:
		r.joined = append(r.joined, '\n')
		r.joined = append(r.joined, r.value(val)...)
	}
	r.dataLines++
}

// value returns the bytes s locates in the event being parsed, with no spare capacity.
func (r *Reader) value(s span) []byte {
	a, b := r.start+s.off, r.start+s.end
	return r.buf[a:b:b]
}

// dispatch returns the event buf[start:scan] and starts the next one at scan.
func (r *Reader) dispatch(incomplete bool) (Event, error) {
	if r.scan-r.start > r.max {
		r.fail(r.tooLarge())
		return Event{}, r.err
	}
	ev := Event{Raw: r.buf[r.start:r.scan:r.scan], Incomplete: incomplete}
	if r.name.ok {
		ev.Name = r.value(r.name)
	}
	if r.id.ok {
		ev.ID = r.value(r.id)
	}
	switch {
	case r.dataLines == 1:
		ev.Data = r.value(r.data)
	case r.dataLines > 1:
		ev.Data = r.joined[:len(r.joined):len(r.joined)]
	}
	r.start = r.scan
	r.name, r.id, r.data, r.dataLines = span{}, span{}, span{}, 0
	return ev, nil
}

// atEnd is called when the source has failed or ended and no complete event is left:
// it returns the unfinished event if there is one, else the error.
func (r *Reader) atEnd() (Event, error) {
	if r.start == r.end {
		return Event{}, r.err
	}
	if r.scan < r.end { // an unterminated last line: parse it as if terminated
		r.field(r.scan, r.end)
		r.scan, r.look = r.end, r.end
	}
	return r.dispatch(true)
}

// fill moves the unfinished event to the front of the buffer, grows the buffer if the
// event needs it, and reads more. It records any failure in r.err.
func (r *Reader) fill() {
	if r.src == nil {
		r.err = io.EOF
		return
	}
	if r.start > 0 {
		n := copy(r.buf, r.buf[r.start:r.end])
		r.scan -= r.start
		r.look -= r.start
		r.end = n
		r.start = 0
	}
	// One byte over the limit: the byte after an event that ends in "\r" tells whether
	// it ends in "\r\n". More than that is an event over the limit.
	limit := r.max + 1
	switch {
	case r.buf == nil:
		r.buf = make([]byte, min(initialBufSize, limit))
	case len(r.buf)-r.end < len(r.buf)/4 && len(r.buf) < limit:
		// Grow before the free space gets small, so reads stay large.
		nb := make([]byte, min(2*len(r.buf), limit))
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	if r.end == len(r.buf) {
		r.fail(r.tooLarge())
		return
	}
	for range maxEmptyReads {
		n, err := r.src.Read(r.buf[r.end:])
		if n < 0 || n > len(r.buf)-r.end {
			r.fail(errInvalidRead)
			return
		}
		r.end += n
		if err != nil {
			r.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	r.err = io.ErrNoProgress
}

func (r *Reader) tooLarge() error {
	return fmt.Errorf("%w: limit is %d bytes", ErrEventTooLarge, r.max)
}

// fail makes err sticky and drops what is buffered: the stream cannot be resynchronised.
func (r *Reader) fail(err error) {
	r.err = err
	r.start, r.scan, r.look, r.end = 0, 0, 0, 0
	r.bomDone, r.skipLF = true, false
	r.name, r.id, r.data, r.dataLines = span{}, span{}, span{}, 0
}
