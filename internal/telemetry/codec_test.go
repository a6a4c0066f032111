package telemetry

import (
	"errors"
	"os"
	"reflect"
	"testing"
	"time"
)

func TestCodecRoundTrip(t *testing.T) {
	full := sampleRecord(7, time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.UTC))
	full.ErrorCode = "rate_limit_exceeded"
	full.RateLimit = "tpm"
	full.Fallback = true
	full.TokensEstimated = true
	full.RequestBody = []byte(`{"messages":[{"role":"user","content":"héllo \u0000"}]}`)
	full.ResponseBody = []byte{0xff, 0x00, 0x01}
	full.CostUSD = 1.0 / 3
	full.Latency = -time.Nanosecond // any int64 survives
	empty := Record{}
	emptyBodies := Record{RequestID: "x", Time: time.Unix(0, 1).UTC(), RequestBody: []byte{}}
	tests := []struct {
		name  string
		batch []Record
		want  []Record
	}{
		{"no records", nil, nil},
		{"zero record", []Record{empty}, []Record{empty}},
		{"full record", []Record{full}, []Record{full}},
		// An empty body stays empty (and non-nil).
		{"empty body", []Record{emptyBodies}, []Record{{RequestID: "x", Time: time.Unix(0, 1).UTC(), RequestBody: []byte{}}}},
		{"several", []Record{full, empty, full}, []Record{full, empty, full}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := appendBatch(nil, tt.batch)
			got, err := decodeBatch(nil, payload)
			if err != nil {
				t.Fatalf("decodeBatch: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d records, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !reflect.DeepEqual(got[i], tt.want[i]) {
					t.Errorf("record %d:\n got %+v\nwant %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestCodecRejectsTruncatedAndTrailing(t *testing.T) {
	payload := appendBatch(nil, []Record{sampleRecord(1, time.Now()), sampleRecord(2, time.Now())})
	for n := 0; n < len(payload); n++ {
		if _, err := decodeBatch(nil, payload[:n]); !errors.Is(err, errCodec) {
			t.Fatalf("prefix of %d/%d bytes: err = %v, want errCodec", n, len(payload), err)
		}
	}
	if _, err := decodeBatch(nil, append(payload, 0)); !errors.Is(err, errCodec) {
		t.Fatalf("trailing byte: err = %v, want errCodec", err)
	}
	bad := append([]byte{}, payload...)
	bad[0] = 99
	if _, err := decodeBatch(nil, bad); !errors.Is(err, errCodec) {
		t.Fatalf("unknown version: err = %v, want errCodec", err)
	}
}

// TestCodecReadsVersion1 decodes a spool payload written before the
// cache-write and reasoning counts (testdata/spool-v1.bin, by the
// version-1 encoder): a spool left by an older binary still replays.
func TestCodecReadsVersion1(t *testing.T) {
	payload, err := os.ReadFile("testdata/spool-v1.bin")
	if err != nil {
		t.Fatal(err)
	}
	if payload[0] != 1 {
		t.Fatalf("testdata/spool-v1.bin is version %d", payload[0])
	}
	got, err := decodeBatch(nil, payload)
	if err != nil {
		t.Fatalf("decodeBatch: %v", err)
	}
	want := sampleRecord(7, time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.UTC))
	want.ErrorCode = "rate_limit_exceeded"
	want.RequestBody = []byte(`{"x":1}`)
	want.CacheWriteTokens, want.ReasoningTokens = 0, 0 // not in version 1
	if len(got) != 2 || !reflect.DeepEqual(got[0], want) || got[1].RequestID != "y" || !got[1].Time.Equal(time.Unix(0, 1)) {
		t.Fatalf("got %+v\nwant [%+v {y ...}]", got, want)
	}
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add(appendBatch(nil, []Record{sampleRecord(1, time.Unix(1700000000, 5))}))
	f.Add(appendBatch(nil, nil))
	f.Add([]byte{codecVersion, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := decodeBatch(nil, b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to something that decodes the same.
		again, err := decodeBatch(nil, appendBatch(nil, recs))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if len(again) != len(recs) {
			t.Fatalf("re-decode: %d records, want %d", len(again), len(recs))
		}
		for i := range recs {
			if again[i].RequestID != recs[i].RequestID || !again[i].Time.Equal(recs[i].Time) || len(again[i].Tags) != len(recs[i].Tags) {
				t.Fatalf("record %d changed on re-encode", i)
			}
		}
	})
}
