package bedrock

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// DefaultMaxMessage bounds one event-stream message when NewEventReader is
// given no bound: the AWS event-stream format's own limits, a 16 MiB
// payload plus 128 KiB of headers and the 16 bytes of prelude and CRC.
const DefaultMaxMessage = 16<<20 + 128<<10 + 16

// Event-stream message layout: total length, headers length, prelude CRC;
// headers; payload; message CRC (all big-endian uint32).
const (
	preludeLen = 12
	frameLen   = preludeLen + 4 // prelude and message CRC
	// readFromSlack is what bytes.Buffer.ReadFrom wants free beyond the
	// payload (bytes.MinRead) before each read: the payload buffer has it,
	// so that the SDK's decoder never grows a new one.
	readFromSlack = 512
)

// ErrMessageTooLarge is an event-stream message over the reader's bound.
var ErrMessageTooLarge = errors.New("bedrock: event-stream message too large")

// EventReader reads the messages of an AWS event stream (the body of a
// ConverseStream reply, content type application/vnd.amazon.eventstream)
// one at a time, decoded by the AWS SDK's eventstream.Decoder, which checks
// both the prelude's and the message's CRC32. It checks the lengths in the
// prelude itself first, so that a message can neither exceed the bound nor
// make the decoder read past its end. Buffers are reused: the views Next
// returns are valid until the next call.
type EventReader struct {
	r       io.Reader
	max     int
	dec     *eventstream.Decoder
	msg     []byte // the current message, read whole
	br      bytes.Reader
	payload []byte // the decoder's payload buffer
	name    []byte
	text    []byte // an error message's text
}

// NewEventReader returns a reader of r's messages, each at most maxMessage
// bytes in all (<= 0: DefaultMaxMessage).
func NewEventReader(r io.Reader, maxMessage int) *EventReader {
	if maxMessage <= 0 {
		maxMessage = DefaultMaxMessage
	}
	return &EventReader{r: r, max: maxMessage, dec: eventstream.NewDecoder()}
}

// Next returns the next message's name and payload:
//
//   - :message-type event: name is its :event-type (messageStart,
//     contentBlockDelta, ...), payload its JSON payload;
//   - exception: name is its :exception-type (throttlingException, ...),
//     payload its JSON payload ({"message": ...});
//   - error: name is its :error-code, payload its :error-message (text).
//
// It returns io.EOF at the clean end of the stream (between messages) and
// an error for a truncated message (io.ErrUnexpectedEOF), one over the
// bound (ErrMessageTooLarge), a checksum that does not match, or a message
// without the headers its type requires.
func (er *EventReader) Next() (name, payload []byte, err error) {
	if cap(er.msg) < preludeLen {
		er.msg = make([]byte, 0, 4<<10)
	}
	m := er.msg[:preludeLen]
	if _, err := io.ReadFull(er.r, m); err != nil {
		if err == io.EOF {
			return nil, nil, io.EOF
		}
		return nil, nil, fmt.Errorf("bedrock: event stream: %w", noEOF(err))
	}
	total := binary.BigEndian.Uint32(m[0:4])
	headers := binary.BigEndian.Uint32(m[4:8])
	switch {
	case uint64(total) > uint64(er.max):
		return nil, nil, fmt.Errorf("%w: %d bytes, bound %d", ErrMessageTooLarge, total, er.max)
	case total < frameLen || headers > total-frameLen:
		return nil, nil, fmt.Errorf("bedrock: event stream: message length %d cannot hold %d bytes of headers", total, headers)
	}
	if cap(er.msg) < int(total) {
		er.msg = append(er.msg[:preludeLen], make([]byte, int(total)-preludeLen)...)
	}
	m = er.msg[:total]
	if _, err := io.ReadFull(er.r, m[preludeLen:]); err != nil {
		return nil, nil, fmt.Errorf("bedrock: event stream: %w", noEOF(err))
	}
	if need := int(total-headers-frameLen) + readFromSlack; cap(er.payload) < need {
		er.payload = make([]byte, 0, need)
	}
	er.br.Reset(m)
	msg, err := er.dec.Decode(&er.br, er.payload[:0])
	if err != nil {
		return nil, nil, fmt.Errorf("bedrock: event stream: %w", noEOF(err))
	}
	if cap(msg.Payload) > cap(er.payload) {
		er.payload = msg.Payload[:0]
	}
	switch typ := stringHeader(msg.Headers, ":message-type"); typ {
	case "event":
		return er.named(msg.Headers, ":event-type", msg.Payload)
	case "exception":
		return er.named(msg.Headers, ":exception-type", msg.Payload)
	case "error":
		er.text = append(er.text[:0], stringHeader(msg.Headers, ":error-message")...)
		return er.named(msg.Headers, ":error-code", er.text)
	case "":
		return nil, nil, errors.New("bedrock: event stream: message without :message-type")
	default:
		return nil, nil, fmt.Errorf("bedrock: event stream: unknown :message-type %q", clip(typ))
	}
}

// named returns header h of hs as the name, with payload.
func (er *EventReader) named(hs eventstream.Headers, h string, payload []byte) (name, _ []byte, err error) {
	v := stringHeader(hs, h)
	if v == "" {
		return nil, nil, fmt.Errorf("bedrock: event stream: message without %s", h)
	}
	er.name = append(er.name[:0], v...)
	return er.name, payload, nil
}

// stringHeader returns header name's value when it is a string, else "".
func stringHeader(hs eventstream.Headers, name string) string {
	for i := range hs {
		if hs[i].Name == name {
			if s, ok := hs[i].Value.(eventstream.StringValue); ok {
				return string(s)
			}
			return ""
		}
	}
	return ""
}

// noEOF turns an io.EOF met inside a message into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// clip shortens an upstream string quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
