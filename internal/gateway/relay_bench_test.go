package gateway

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/metrics"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/sse"
)

// openAIStream renders a chat stream of n content chunks with the usage
// chunk a client that did not ask for it must not see.
func openAIStream(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}` + "\n\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" word%d"},"finish_reason":null}],"usage":null}`+"\n\n", i)
	}
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}` + "\n\n")
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":` + fmt.Sprint(n) + `,"total_tokens":` + fmt.Sprint(n+9) + `}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

// relayAll runs the relay's event loop over stream and returns what the
// client would receive.
func relayAll(x *exchange, stream []byte, dst []byte) []byte {
	x.rd.Reset(bytes.NewReader(stream))
	x.done, x.sawTerminal, x.usage = false, false, provider.Usage{}
	for !x.done {
		x.fill()
		dst = append(dst, x.out...)
		x.out = x.out[:0]
	}
	return dst
}

func TestRelayHidesUsageChunk(t *testing.T) {
	stream := openAIStream(5)
	x := &exchange{op: provider.OpChat, format: provider.FormatOpenAI}
	x.hideUsage, x.rd = true, sse.NewReader(nil, maxEvent)
	got := relayAll(x, stream, nil)
	if bytes.Contains(got, []byte(`"choices":[]`)) {
		t.Fatalf("usage chunk relayed:\n%s", got)
	}
	if !bytes.HasSuffix(got, []byte("data: [DONE]\n\n")) || !x.sawTerminal {
		t.Fatalf("stream not relayed to its end:\n%s", got)
	}
	if !x.usage.Valid || x.usage.Output != 5 || x.usage.Input != 9 {
		t.Fatalf("usage %+v", x.usage)
	}
	// Without hiding, the client gets the upstream's bytes exactly.
	x.hideUsage = false
	if got := relayAll(x, stream, nil); !bytes.Equal(got, stream) {
		t.Fatalf("relay changed the stream:\n%s", got)
	}
}

// BenchmarkRelayOpenAIStream measures the relay's per-event work: SSE
// parse, usage inspection, terminal detection, batching.
func BenchmarkRelayOpenAIStream(b *testing.B) {
	const events = 200
	stream := openAIStream(events)
	x := &exchange{op: provider.OpChat, format: provider.FormatOpenAI}
	x.hideUsage, x.rd = true, sse.NewReader(nil, maxEvent)
	dst := make([]byte, 0, len(stream))
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		dst = relayAll(x, stream, dst[:0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(events+4), "ns/event")
}

// A stream cut in the middle of an event ends with a clean error event, not
// with the error glued onto the broken line.
func TestRelayCutMidEvent(t *testing.T) {
	stream := openAIStream(3)
	cut := stream[:len(stream)/2]
	for cut[len(cut)-1] == '\n' {
		cut = cut[:len(cut)-1]
	}
	g := &Gateway{met: metrics.New()}
	up, err := provider.NewUpstream(&config.Provider{Name: "p", Kind: "openai", BaseURL: "http://127.0.0.1:1/v1"})
	if err != nil {
		t.Fatal(err)
	}
	x := &exchange{g: g, op: provider.OpChat, format: provider.FormatOpenAI}
	x.up, x.rd = up, sse.NewReader(nil, maxEvent)
	got := string(relayAll(x, cut, nil))
	i := strings.LastIndex(got, "data: {\"error\"")
	if i < 0 || (i > 0 && !strings.HasSuffix(got[:i], "\n\n")) {
		t.Fatalf("error event not on its own:\n%s", got)
	}
	if !strings.HasSuffix(got, "\n\n") || x.errCode != CodeUpstreamUnreachable {
		t.Fatalf("code %q, stream:\n%s", x.errCode, got)
	}
}
