package tracing

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

const (
	tpSampled   = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tpUnsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
)

func TestParseTraceparent(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		ok    bool
		flags byte
	}{
		{"sampled", tpSampled, true, 1},
		{"unsampled", tpUnsampled, true, 0},
		{"other flag bits kept", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09", true, 9},
		{"surrounding whitespace", " \t" + tpSampled + " ", true, 1},
		{"future version", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true, 1},
		{"future version with suffix", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever", true, 1},
		{"future version, bad suffix", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", false, 0},
		{"version 00 with suffix", tpSampled + "-x", false, 0},
		{"version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false, 0},
		{"empty", "", false, 0},
		{"short", tpSampled[:54], false, 0},
		{"uppercase trace id", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false, 0},
		{"uppercase flags", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A", false, 0},
		{"zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", false, 0},
		{"zero parent id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false, 0},
		{"non-hex", "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", false, 0},
		{"wrong separator", "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false, 0},
		{"shifted fields", "00-4bf92f3577b34da6a3ce929d0e0e47-3600f067aa0ba902b7-01", false, 0},
		{"two values joined", tpSampled + "," + tpSampled, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tid, pid, flags, ok := parseTraceparent([]byte(tt.in))
			if ok != tt.ok || flags != tt.flags {
				t.Fatalf("parse(%q) ok=%v flags=%x; want %v %x", tt.in, ok, flags, tt.ok, tt.flags)
			}
			if ok && (hex.EncodeToString(tid[:]) != "4bf92f3577b34da6a3ce929d0e0e4736" ||
				hex.EncodeToString(pid[:]) != "00f067aa0ba902b7") {
				t.Errorf("ids = %x %x", tid, pid)
			}
		})
	}
}

func TestSample(t *testing.T) {
	tests := []struct {
		name        string
		ratio       float64
		traceparent string
		want        bool
		parent      bool
	}{
		{"ratio 0, none", 0, "", false, false},
		{"ratio 0, invalid", 0, "garbage", false, false},
		{"ratio 0, sampled parent", 0, tpSampled, true, true},
		{"ratio 0, unsampled parent", 0, tpUnsampled, false, false},
		{"ratio 1, none", 1, "", true, false},
		{"ratio 1, invalid is absent", 1, "00-zz", true, false},
		{"ratio 1, sampled parent", 1, tpSampled, true, true},
		{"ratio 1, unsampled parent", 1, tpUnsampled, false, false},
		{"ratio 0.5, sampled parent", 0.5, tpSampled, true, true},
		{"ratio 0.5, unsampled parent", 0.5, tpUnsampled, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &Tracer{bound: ratioBound(tt.ratio)}
			for range 1000 {
				var in []byte
				if tt.traceparent != "" {
					in = []byte(tt.traceparent)
				}
				d, ok := tr.Sample(in)
				if ok != tt.want || d.Sampled() != ok {
					t.Fatalf("Sample(%q) = %v (Sampled %v); want %v", in, ok, d.Sampled(), tt.want)
				}
				if !ok {
					if d != (Decision{}) {
						t.Fatalf("unsampled decision not zero: %+v", d)
					}
					continue
				}
				if d.HasParent() != tt.parent {
					t.Fatalf("HasParent = %v; want %v", d.HasParent(), tt.parent)
				}
				if tt.parent {
					if hex.EncodeToString(d.TraceID[:]) != tpSampled[3:35] || hex.EncodeToString(d.ParentSpanID[:]) != tpSampled[36:52] {
						t.Fatalf("decision %+v does not continue %s", d, tt.traceparent)
					}
				}
				if d.TraceID == [16]byte{} || d.SpanID == [8]byte{} || d.UpstreamSpanID == [8]byte{} || d.SpanID == d.UpstreamSpanID {
					t.Fatalf("invalid ids in %+v", d)
				}
			}
		})
	}
}

// TestSampleRatio checks the share of sampled new traces for several
// ratios over many random ids, within bounds of many standard deviations.
func TestSampleRatio(t *testing.T) {
	const n = 200_000
	for _, ratio := range []float64{0.001, 0.1, 0.5, 0.9} {
		t.Run(fmt.Sprint(ratio), func(t *testing.T) {
			tr := &Tracer{bound: ratioBound(ratio)}
			got := 0
			for range n {
				if _, ok := tr.Sample(nil); ok {
					got++
				}
			}
			want := ratio * n
			if tol := 0.1*want + 50; float64(got) < want-tol || float64(got) > want+tol {
				t.Errorf("ratio %v: sampled %d of %d; want %.0f ± %.0f", ratio, got, n, want, tol)
			}
		})
	}
}

// TestSampleMatchesTraceIDRatioBased: the ratio decision is the SDK's
// TraceIDRatioBased decision for the same trace id, so it is consistent
// with any OpenTelemetry component that samples by trace id.
func TestSampleMatchesTraceIDRatioBased(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, ratio := range []float64{0, 0.001, 0.1, 0.5, 0.999, 1} {
		tr := &Tracer{bound: ratioBound(ratio)}
		sdk := sdktrace.TraceIDRatioBased(ratio)
		for i := range 20_000 {
			var tid trace.TraceID
			lo := rng.Uint64()
			if i == 0 {
				lo = 0 // edges
			} else if i == 1 {
				lo = ^uint64(0)
			}
			binary.BigEndian.PutUint64(tid[:8], rng.Uint64()|1)
			binary.BigEndian.PutUint64(tid[8:], lo)
			res := sdk.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: tid})
			want := res.Decision == sdktrace.RecordAndSample
			if got := tr.keep(lo); got != want {
				t.Fatalf("ratio %v, trace id %s: keep %v, SDK %v", ratio, tid, got, want)
			}
		}
	}
}

func TestAppendTraceparent(t *testing.T) {
	tr := &Tracer{bound: ratioBound(0)}
	d, ok := tr.Sample([]byte(tpSampled))
	if !ok {
		t.Fatal("not sampled")
	}
	buf := make([]byte, 0, 64)
	got := d.AppendTraceparent(buf)
	want := "00-" + tpSampled[3:35] + "-" + hex.EncodeToString(d.UpstreamSpanID[:]) + "-01"
	if string(got) != want {
		t.Fatalf("AppendTraceparent = %q; want %q", got, want)
	}
	if &got[0] != &buf[:1][0] {
		t.Error("AppendTraceparent reallocated a buffer with room")
	}
	if out := (Decision{}).AppendTraceparent([]byte("x")); string(out) != "x" {
		t.Errorf("unsampled AppendTraceparent = %q; want dst unchanged", out)
	}
	if allocs := testing.AllocsPerRun(100, func() { buf = d.AppendTraceparent(buf[:0]) }); allocs != 0 {
		t.Errorf("AppendTraceparent allocates %v times", allocs)
	}
}

// refTraceparent is an independent, slow reading of the W3C rules, for
// differential fuzzing.
var refTraceparentRE = regexp.MustCompile(`^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$`)

func refTraceparent(s string) (tid, pid string, flags byte, ok bool) {
	m := refTraceparentRE.FindStringSubmatch(strings.Trim(s, " \t"))
	if m == nil || m[1] == "ff" || (m[1] == "00" && m[5] != "") ||
		m[2] == strings.Repeat("0", 32) || m[3] == strings.Repeat("0", 16) {
		return "", "", 0, false
	}
	f, _ := hex.DecodeString(m[4])
	return m[2], m[3], f[0], true
}

func FuzzParseTraceparent(f *testing.F) {
	for _, s := range []string{
		tpSampled, tpUnsampled, "", "00-", "ff" + tpSampled[2:], "01" + tpSampled[2:] + "-x",
		tpSampled + "-", " " + tpSampled, "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		strings.ToUpper(tpSampled), "00\n" + tpSampled[3:],
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tid, pid, flags, ok := parseTraceparent(b)
		rtid, rpid, rflags, rok := refTraceparent(string(b))
		if ok != rok {
			t.Fatalf("parse(%q) ok=%v; reference says %v", b, ok, rok)
		}
		if !ok {
			return
		}
		if hex.EncodeToString(tid[:]) != rtid || hex.EncodeToString(pid[:]) != rpid || flags != rflags {
			t.Fatalf("parse(%q) = %x %x %x; reference %s %s %x", b, tid, pid, flags, rtid, rpid, rflags)
		}
		// What Sample builds from it parses back to the same trace.
		if flags&flagSampled != 0 {
			d, sampled := (&Tracer{}).Sample(b)
			if !sampled {
				t.Fatalf("sampled traceparent %q not traced", b)
			}
			tid2, pid2, flags2, ok2 := parseTraceparent(d.AppendTraceparent(nil))
			if !ok2 || tid2 != tid || pid2 != d.UpstreamSpanID || flags2 != flagSampled {
				t.Fatalf("round trip of %q failed", b)
			}
		}
	})
}

func BenchmarkSampleNoTraceparent(b *testing.B) {
	for _, ratio := range []float64{0, 0.01} {
		b.Run(fmt.Sprintf("ratio=%g", ratio), func(b *testing.B) {
			tr := &Tracer{bound: ratioBound(ratio)}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if _, ok := tr.Sample(nil); ok {
					n++
				}
			}
			_ = n
		})
	}
}

func BenchmarkSampleTraceparent(b *testing.B) {
	tr := &Tracer{bound: ratioBound(0)}
	in := []byte(tpSampled)
	b.ReportAllocs()
	var d Decision
	for b.Loop() {
		d, _ = tr.Sample(in)
	}
	if !d.Sampled() {
		b.Fatal("not sampled")
	}
}

func BenchmarkAppendTraceparent(b *testing.B) {
	d, _ := (&Tracer{}).Sample([]byte(tpSampled))
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = d.AppendTraceparent(buf[:0])
	}
	if !bytes.HasPrefix(buf, []byte("00-")) {
		b.Fatal("bad value")
	}
}
