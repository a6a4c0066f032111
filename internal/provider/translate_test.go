package provider_test

import (
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// Golden files of every translation direction (issue #16), under
// testdata/translate:
//
//	in/<client>.request.<case>.json   a client's request (cases below)
//	in/<upstream>.reply.json          an upstream's complete reply
//	in/<upstream>.stream.sse          an upstream's stream (Converse: .txt,
//	                                  one decoded message a line)
//	out/<client>_to_<upstream>/request.<case>.json       the upstream body
//	out/<client>_to_<upstream>/request.<case>.error.txt  or its refusal
//	out/<client>_to_<upstream>/reply.json                the client's reply
//	out/<client>_to_<upstream>/stream.sse                the client's stream
//
// JSON is indented for review; the comparison is of the exact output's
// indentation, so a change of escapes, number spelling or key order shows.
// Times the encoders take from the clock and ids they make up (Converse
// sends neither) are placeholders (stable). Refresh with
//
//	go test ./internal/provider -run TestTranslate -update-translate

// requestCases are the client request fixtures: full carries everything a
// client sends in a turn (system prompt, a multi-turn conversation with an
// image, tools and a forced tool choice, a tool call and its result, stop
// sequences, temperature, max tokens, reasoning and cache breakpoints where
// the format has them); agent is a later agent turn without stop sequences
// (a PDF, parallel tool calls, an error result, structured output), so
// that targets refusing stop sequences (Responses) have a translation too.
var requestCases = []string{"full", "agent"}

func TestTranslateRequest(t *testing.T) {
	for _, d := range directions() {
		for _, name := range requestCases {
			t.Run(d.String()+"/"+name, func(t *testing.T) {
				req, err := clientRequest(t, d, d.client.name+".request."+name+".json")
				if err != nil {
					t.Fatalf("the client's request does not decode: %v", err)
				}
				body, err := d.up.codec().EncodeRequest(nil, req)
				base := d.String() + "/request." + name
				if err != nil {
					removeGolden(t, base+".json")
					golden(t, base+".error.txt", fieldErrorGolden(t, err))
					return
				}
				removeGolden(t, base+".error.txt")
				golden(t, base+".json", indented(t, body))
			})
		}
	}
}

func TestTranslateReply(t *testing.T) {
	for _, d := range directions() {
		t.Run(d.String(), func(t *testing.T) {
			start := time.Now()
			req, err := clientRequest(t, d, d.client.name+".request.full.json")
			if err != nil {
				t.Fatal(err)
			}
			req.Stream = false
			in := readIn(t, d.up.name+".reply.json")
			var r canon.Reply
			if err := d.up.codec().DecodeReply(in, &r); err != nil {
				t.Fatalf("the upstream's reply does not decode: %v", err)
			}
			out := d.client.codec().EncodeReply(nil, &r, req)
			golden(t, d.String()+"/reply.json", indented(t, stable(out, in, start)))
		})
	}
}

func TestTranslateStream(t *testing.T) {
	for _, d := range directions() {
		t.Run(d.String(), func(t *testing.T) {
			start := time.Now()
			req, err := clientRequest(t, d, d.client.name+".request.full.json")
			if err != nil {
				t.Fatal(err)
			}
			req.Stream = true
			evs := upstreamStream(t, d.up)
			out, mid, err := translateStream(d.up.codec(), d.client.codec(), req, evs)
			if err != nil {
				t.Fatalf("the upstream's stream does not decode: %v", err)
			}
			if err := checkGrammar(mid); err != nil {
				t.Errorf("the upstream decoder breaks canon's grammar: %v", err)
			}
			checkSSE(t, out)
			var in []byte
			for _, e := range evs {
				in = append(append(in, e.name...), e.data...)
			}
			golden(t, d.String()+"/stream.sse", stable(out, in, start))
		})
	}
}
