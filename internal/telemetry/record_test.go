package telemetry

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestRecordJSONGolden pins the admin API's form of a record
// (GET /admin/v1/logs data items).
func TestRecordJSONGolden(t *testing.T) {
	r := sampleRecord(42, time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC))
	r.ErrorCode = "rate_limit_exceeded"
	r.Status = 429
	r.RateLimit = "tpm"
	r.RequestBody = []byte(`{"model":"gpt-4o-mini"}`)
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "record.golden.json", append(b, '\n'))

	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, r)
	}
}

func TestRecordJSONOmitsEmpty(t *testing.T) {
	b, err := json.Marshal(Record{RequestID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"tags", "guardrails", "error_code", "request_body", "response_body"} {
		if _, ok := m[k]; ok {
			t.Errorf("empty %s is present: %s", k, b)
		}
	}
	for _, k := range []string{"request_id", "time", "status", "latency_ms", "overhead_us", "rate_limit", "cost_usd"} {
		if _, ok := m[k]; !ok {
			t.Errorf("%s is missing: %s", k, b)
		}
	}
}
