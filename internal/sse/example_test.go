package sse_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/sluice-gw/sluice/internal/sse"
)

// A relay loop: forward each event as received, rewrite the ones it must change, stop at
// [DONE] or at the end of the upstream body.
func ExampleReader() {
	upstream := strings.NewReader(": ping\n\n" +
		"data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n" +
		"data: [DONE]\n\n")
	r := sse.NewReader(upstream, 0)
	var out []byte // what the client receives
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("upstream failed:", err)
			return
		}
		switch {
		case ev.IsDone():
			out = append(out, ev.Raw...)
			fmt.Printf("%q\n", out)
			return
		case bytes.Contains(ev.Data, []byte(`"Hi"`)):
			out = sse.AppendData(out, bytes.ReplaceAll(ev.Data, []byte(`"Hi"`), []byte(`"Hello"`)))
		default:
			out = append(out, ev.Raw...) // keep-alive comments and other events pass as is
		}
	}
	// Output:
	// ": ping\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"Hello\"}}]}\n\ndata: [DONE]\n\n"
}

func ExampleAppendEvent() {
	out := sse.AppendEvent(nil, []byte("content_block_delta"), []byte(`{"text":"a"}`))
	out = sse.AppendData(out, []byte("[DONE]"))
	fmt.Print(string(out))
	// Output:
	// event: content_block_delta
	// data: {"text":"a"}
	//
	// data: [DONE]
}
