package sse

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
)

// none stands for a nil slice in expected events, so that nil and empty differ.
const none = "<nil>"

// ev is an Event copied into comparable strings.
type ev struct {
	Raw, Name, Data, ID string
	Incomplete          bool
}

func (e ev) String() string {
	return fmt.Sprintf("{Raw:%q Name:%q Data:%q ID:%q Incomplete:%v}", e.Raw, e.Name, e.Data, e.ID, e.Incomplete)
}

func show(b []byte) string {
	if b == nil {
		return none
	}
	return string(b)
}

func toEv(e Event) ev {
	return ev{Raw: string(e.Raw), Name: show(e.Name), Data: show(e.Data), ID: show(e.ID), Incomplete: e.Incomplete}
}

// readAll reads events until Next fails and returns them with the error.
func readAll(r *Reader) ([]ev, error) {
	var out []ev
	for {
		e, err := r.Next()
		if err != nil {
			return out, err
		}
		if len(e.Raw) == 0 {
			return out, fmt.Errorf("event %d has an empty Raw", len(out))
		}
		out = append(out, toEv(e))
	}
}

// cutReader returns data in parts: each Read stops at the next offset in cuts (or
// fills p when cuts is empty). It allocates nothing, so benchmarks can use it.
type cutReader struct {
	data []byte
	cuts []int // increasing offsets into data
	pos  int
	ci   int
	err  error // returned after data instead of io.EOF when set
}

func (c *cutReader) reset() { c.pos, c.ci = 0, 0 }

func (c *cutReader) Read(p []byte) (int, error) {
	if c.pos >= len(c.data) {
		if c.err != nil {
			return 0, c.err
		}
		return 0, io.EOF
	}
	stop := len(c.data)
	for c.ci < len(c.cuts) && c.cuts[c.ci] <= c.pos {
		c.ci++
	}
	if c.ci < len(c.cuts) {
		stop = min(c.cuts[c.ci], stop)
	}
	n := copy(p, c.data[c.pos:stop])
	c.pos += n
	return n, nil
}

// randomCuts splits n bytes into parts of 1 to maxPart bytes, chosen from seed.
func randomCuts(n, maxPart int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var cuts []int
	for at := 0; at < n; {
		at += 1 + rng.IntN(maxPart)
		cuts = append(cuts, at)
	}
	return cuts
}

// everyByte cuts n bytes into 1-byte parts.
func everyByte(n int) []int {
	cuts := make([]int, n)
	for i := range cuts {
		cuts[i] = i + 1
	}
	return cuts
}

// openAIStream is a chat completion stream as OpenAI sends it: a role chunk, n content
// chunks of about 230 bytes, a finish chunk, a usage chunk and [DONE].
func openAIStream(n int) []byte {
	const head = `data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_06737a9306","choices":[{"index":0,`
	var b []byte
	b = append(b, head+`"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`+"\n\n"...)
	for i := range n {
		b = fmt.Appendf(b, head+`"delta":{"content":" tok%d"},"logprobs":null,"finish_reason":null}],"usage":null}`+"\n\n", i)
	}
	b = append(b, head+`"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}`+"\n\n"...)
	b = append(b, `data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":`...)
	b = fmt.Appendf(b, `%d,"total_tokens":%d}}`+"\n\n", n, n+12)
	return append(b, "data: [DONE]\n\n"...)
}

// anthropicStream is a Messages stream as Anthropic sends it, with n text deltas.
func anthropicStream(n int) []byte {
	var b []byte
	b = append(b, "event: message_start\n"+
		`data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[],"model":"claude-3-5-haiku-20241022","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}`+"\n\n"+
		"event: content_block_start\n"+
		`data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`+"\n\n"+
		"event: ping\n"+
		`data: {"type": "ping"}`+"\n\n"...)
	for i := range n {
		b = fmt.Appendf(b, "event: content_block_delta\n"+
			`data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" tok%d"}}`+"\n\n", i)
	}
	b = append(b, "event: content_block_stop\n"+
		`data: {"type":"content_block_stop","index":0}`+"\n\n"+
		"event: message_delta\n"...)
	b = fmt.Appendf(b, `data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":%d}}`+"\n\n", n)
	return append(b, "event: message_stop\n"+`data: {"type":"message_stop"}`+"\n\n"...)
}

// refParse is a deliberately naive parser of a whole input, written straight from the
// rules in the package comment, to check the Reader against in tests and fuzzing.
func refParse(in []byte) []ev {
	var (
		out   []ev
		start int
		name  []byte
		id    []byte
		data  [][]byte
	)
	emit := func(end int, incomplete bool) {
		e := ev{Raw: string(in[start:end]), Name: show(name), ID: show(id), Data: none, Incomplete: incomplete}
		if data != nil {
			e.Data = string(bytes.Join(data, []byte("\n")))
		}
		out = append(out, e)
		start, name, id, data = end, nil, nil, nil
	}
	i := 0
	if bytes.HasPrefix(in, []byte(bom)) {
		i = len(bom)
	}
	for i < len(in) {
		j := i
		for j < len(in) && in[j] != '\r' && in[j] != '\n' {
			j++
		}
		line := in[i:j]
		switch {
		case j == len(in):
			i = j
		case in[j] == '\r' && j+1 < len(in) && in[j+1] == '\n':
			i = j + 2
		default:
			i = j + 1
		}
		if len(line) == 0 {
			emit(i, false)
			continue
		}
		if line[0] == ':' {
			continue
		}
		key, val := string(line), []byte{}
		if c := bytes.IndexByte(line, ':'); c >= 0 {
			key, val = string(line[:c]), line[c+1:]
			val = bytes.TrimPrefix(val, []byte(" "))
		}
		switch key {
		case "data":
			data = append(data, val)
		case "event":
			name = val
		case "id":
			if !bytes.Contains(val, []byte{0}) {
				id = val
			}
		}
	}
	if start < len(in) {
		emit(len(in), true)
	}
	return out
}
