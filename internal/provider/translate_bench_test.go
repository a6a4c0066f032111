package provider_test

import (
	"bytes"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// Benchmarks of every translation direction, on the golden tests'
// fixtures: a client request decoded and encoded for the upstream (the
// full turn, about 2 KB, or the agent turn where the target refuses the
// full one's stop sequences), an upstream reply (about 1 KB) decoded and
// encoded for the client, and one upstream stream event (a text delta)
// decoded and encoded for the client.
func BenchmarkTranslate(b *testing.B) {
	for _, d := range directions() {
		b.Run(d.String()+"/request", func(b *testing.B) { benchRequest(b, d) })
		b.Run(d.String()+"/reply", func(b *testing.B) { benchReply(b, d) })
		b.Run(d.String()+"/event", func(b *testing.B) { benchEvent(b, d) })
	}
}

func benchRequest(b *testing.B, d direction) {
	var body []byte
	for _, name := range requestCases {
		body = readIn(b, d.client.name+".request."+name+".json")
		r, err := clientRequest(b, d, d.client.name+".request."+name+".json")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.up.codec().EncodeRequest(nil, r); err == nil {
			break
		}
	}
	client, up := d.client.codec(), d.up.codec()
	var r canon.Request
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		r.Reset()
		if err := client.DecodeRequest(body, &r); err != nil {
			b.Fatal(err)
		}
		r.Model = d.up.model
		var err error
		if out, err = up.EncodeRequest(out[:0], &r); err != nil {
			b.Fatal(err)
		}
	}
}

func benchReply(b *testing.B, d direction) {
	req, err := clientRequest(b, d, d.client.name+".request.full.json")
	if err != nil {
		b.Fatal(err)
	}
	body := readIn(b, d.up.name+".reply.json")
	client, up := d.client.codec(), d.up.codec()
	var r canon.Reply
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		r.Reset()
		if err := up.DecodeReply(body, &r); err != nil {
			b.Fatal(err)
		}
		out = client.EncodeReply(out[:0], &r, req)
	}
}

// benchEvent measures the stream's first text delta event, repeated: the
// decoder and encoder are primed with the events before it, and primed
// afresh every 4096 events (the Responses encoder keeps the reply's text
// for its last event: a stream of millions of deltas would grow it
// without bound).
func benchEvent(b *testing.B, d direction) {
	req, err := clientRequest(b, d, d.client.name+".request.full.json")
	if err != nil {
		b.Fatal(err)
	}
	req.Stream = true
	evs := upstreamStream(b, d.up)
	at := 0
	for at < len(evs) && !bytes.Contains(evs[at].data, []byte("Le Jules Verne is right")) {
		at++
	}
	if at == len(evs) {
		b.Fatal("no text delta in the stream fixture")
	}
	up, client := d.up.codec(), d.client.codec()
	var dec canon.StreamDecoder
	var enc canon.StreamEncoder
	var f canon.Frames
	var buf []canon.Event
	prime := func() {
		dec, enc = up.NewDecoder(), client.NewEncoder(req)
		for _, e := range evs[:at] {
			buf, _ = dec.Decode(e.name, e.data, buf[:0])
			for i := range buf {
				f.Reset()
				enc.Encode(&f, &buf[i])
			}
		}
	}
	prime()
	e := evs[at]
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		if n++; n%4096 == 0 {
			prime()
		}
		if buf, err = dec.Decode(e.name, e.data, buf[:0]); err != nil {
			b.Fatal(err)
		}
		f.Reset()
		for i := range buf {
			enc.Encode(&f, &buf[i])
		}
	}
	if f.Len() == 0 {
		b.Fatal("the event wrote nothing")
	}
}
