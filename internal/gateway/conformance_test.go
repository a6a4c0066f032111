package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/mock"
)

// The conformance matrix (issue #16): every inbound format × every
// provider kind × {non-stream, stream} × {text, tool call round trip,
// image input, usage with cached tokens}, driven by the official SDKs of
// each inbound format (conform_clients_test.go) through Sluice, serving
// examples/providers.yaml, to the mock speaking each upstream's format.
// The table of results is printed, and written to
// testdata/conformance.md with -update-conformance; docs/providers.md
// keeps a copy.

var updateConformance = flag.Bool("update-conformance", false, "rewrite testdata/conformance.md with the matrix")

// confModels are examples/providers.yaml's public models, one per kind.
var confModels = []struct{ kind, model string }{
	{"openai", "gpt-4o-mini"},
	{"azure", "azure-gpt-4o-mini"},
	{"anthropic", "claude-3-5-haiku"},
	{"gemini", "gemini-2.0-flash"},
	{"bedrock", "bedrock-claude-3-5-haiku"},
}

var confScenarios = []string{"text", "tools", "image", "cached"}

// confCachedTokens is what the mock reports as read from the prompt cache
// in the cached scenario (X-Mock-Cached-Tokens).
const confCachedTokens = 12

// confPNG is a 1×1 PNG: what the image scenario sends.
var confPNG = func() []byte {
	b, _ := base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYPj/HwADAgH/2Z8u7wAAAABJRU5ErkJggg==")
	return b
}()

// confWeatherSchema is the tool of the tools scenario: get_weather(city).
var confWeatherSchema = map[string]any{
	"type":       "object",
	"properties": map[string]any{"city": map[string]any{"type": "string", "description": "the city"}},
	"required":   []string{"city"},
}

// confResult is what a client read from one reply, in its own SDK's terms.
type confResult struct {
	text   string
	calls  []confCall
	input  int64 // prompt tokens, cached included
	output int64
	cached int64
}

type confCall struct{ id, name, args string }

// confQuery is one request of a scenario.
type confQuery struct {
	text    string
	image   []byte // PNG
	tool    bool   // offer get_weather and require a call
	headers map[string]string
}

// confClient is one inbound format, through its official SDK.
type confClient interface {
	// ask sends q as a new conversation.
	ask(ctx context.Context, model string, stream bool, q confQuery) (confResult, error)
	// answer continues the conversation of q, whose reply called call,
	// with the tool's result.
	answer(ctx context.Context, model string, stream bool, q confQuery, call confCall, result string) (confResult, error)
}

func TestConformanceMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the conformance matrix runs every SDK against every provider kind")
	}
	s := providersStack(t)
	clients := []struct {
		name string
		c    confClient
	}{
		{"openai-chat", newConfOpenAIChat(s)},
		{"openai-responses", newConfOpenAIResponses(s)},
		{"anthropic", newConfAnthropic(s)},
		{"gemini", newConfGemini(t, s)},
	}
	results := map[string]string{} // inbound|kind|scenario|mode → ok or the failure
	for _, cl := range clients {
		for _, m := range confModels {
			for _, sc := range confScenarios {
				for _, stream := range []bool{false, true} {
					mode := "buffered"
					if stream {
						mode = "stream"
					}
					name := cl.name + "/" + m.kind + "/" + sc + "/" + mode
					ran := false
					ok := t.Run(name, func(t *testing.T) {
						ran = true
						if err := confRun(testCtx(t), s, cl.c, m.model, sc, stream); err != nil {
							t.Fatal(err)
						}
					})
					cell := "ok"
					switch {
					case !ran:
						cell = "not run"
					case !ok:
						cell = "FAIL"
					}
					results[cl.name+"|"+m.kind+"|"+sc+"|"+mode] = cell
				}
			}
		}
	}
	names := make([]string, len(clients))
	for i, c := range clients {
		names[i] = c.name
	}
	table := confTable(results, names)
	t.Log("\n" + table)
	if *updateConformance {
		if err := os.WriteFile("testdata/conformance.md", []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// confRun runs one scenario and checks what the client read, and what
// reached the mock.
func confRun(ctx context.Context, s *stack, c confClient, model, scenario string, stream bool) error {
	switch scenario {
	case "text":
		r, err := c.ask(ctx, model, stream, confQuery{text: "Say hello"})
		if err != nil {
			return err
		}
		return r.wantText()
	case "image":
		r, err := c.ask(ctx, model, stream, confQuery{text: "What is in this picture?", image: confPNG})
		if err != nil {
			return err
		}
		if err := r.wantText(); err != nil {
			return err
		}
		if e := confLastUpstream(ctx, s, base64.StdEncoding.EncodeToString(confPNG)); !strings.Contains(e.Body, base64.StdEncoding.EncodeToString(confPNG)) {
			return fmt.Errorf("the image did not reach the upstream (%s): %.300s", e.Path, e.Body)
		}
		return nil
	case "cached":
		q := confQuery{text: "Say hello", headers: map[string]string{"X-Mock-Cached-Tokens": fmt.Sprint(confCachedTokens)}}
		r, err := c.ask(ctx, model, stream, q)
		if err != nil {
			return err
		}
		if err := r.wantText(); err != nil {
			return err
		}
		if r.cached != confCachedTokens || r.input < confCachedTokens {
			return fmt.Errorf("usage: %d cached of %d input tokens, want %d cached", r.cached, r.input, confCachedTokens)
		}
		return nil
	case "tools":
		q := confQuery{text: "What is the weather in Paris?", tool: true}
		r, err := c.ask(ctx, model, stream, q)
		if err != nil {
			return err
		}
		if len(r.calls) != 1 || r.calls[0].name != "get_weather" {
			return fmt.Errorf("want one call of get_weather, got %+v", r.calls)
		}
		var args struct {
			City *string `json:"city"`
		}
		if err := json.Unmarshal([]byte(r.calls[0].args), &args); err != nil || args.City == nil {
			return fmt.Errorf("arguments %q do not satisfy the schema (a string city): %v", r.calls[0].args, err)
		}
		r2, err := c.answer(ctx, model, stream, q, r.calls[0], "sunny, 21 degrees")
		if err != nil {
			return fmt.Errorf("sending the tool result: %w", err)
		}
		if err := r2.wantText(); err != nil {
			return fmt.Errorf("after the tool result: %w", err)
		}
		if e := confLastUpstream(ctx, s, "sunny, 21 degrees"); !strings.Contains(e.Body, "sunny, 21 degrees") {
			return fmt.Errorf("the tool result did not reach the upstream (%s): %.300s", e.Path, e.Body)
		}
		return nil
	}
	return fmt.Errorf("unknown scenario %s", scenario)
}

func (r confResult) wantText() error {
	if strings.TrimSpace(r.text) == "" {
		return fmt.Errorf("no text in the reply (calls %+v)", r.calls)
	}
	if r.input <= 0 || r.output <= 0 {
		return fmt.Errorf("usage missing: %d input, %d output tokens", r.input, r.output)
	}
	return nil
}

// confLastUpstream returns the mock's latest journal entry once it holds
// want, or after a few seconds the latest there is: the mock journals a
// streamed request when its stream ends, which may be after the client
// has read the last event.
func confLastUpstream(ctx context.Context, s *stack, want string) mock.Entry {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var last mock.Entry
	_, _ = s.mock.WaitJournal(ctx, func(es []mock.Entry) bool {
		if len(es) == 0 {
			return false
		}
		last = es[len(es)-1]
		return strings.Contains(last.Body, want)
	})
	return last
}

// confTable renders the results as Markdown: a row per inbound format and
// provider kind, a column per scenario and mode.
func confTable(results map[string]string, inbound []string) string {
	var b strings.Builder
	b.WriteString("| inbound format | provider kind |")
	for _, sc := range confScenarios {
		fmt.Fprintf(&b, " %s | %s (stream) |", sc, sc)
	}
	b.WriteString("\n|---|---|")
	for range confScenarios {
		b.WriteString("---|---|")
	}
	b.WriteString("\n")
	for _, in := range inbound {
		for _, m := range confModels {
			fmt.Fprintf(&b, "| %s | %s |", in, m.kind)
			for _, sc := range confScenarios {
				for _, mode := range []string{"buffered", "stream"} {
					fmt.Fprintf(&b, " %s |", results[in+"|"+m.kind+"|"+sc+"|"+mode])
				}
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
