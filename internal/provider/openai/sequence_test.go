package openai

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestSequenceNumber(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want int64
		ok   bool
	}{
		{"delta", `{"type":"response.output_text.delta","sequence_number":7,"item_id":"m","output_index":0,"content_index":0,"delta":"hi"}`, 7, true},
		{"last key, spaces", `{"type":"response.created", "sequence_number" : 0 }`, 0, true},
		{"text cannot forge it", `{"type":"response.output_text.delta","delta":"\"sequence_number\":99","sequence_number":3}`, 3, true},
		{"nested key too", `{"type":"response.created","response":{"metadata":{"sequence_number":"9"}},"sequence_number":1}`, 1, true},
		{"nested key first, numeric", `{"response":{"x":{"sequence_number":42}},"sequence_number":2}`, 2, true},
		{"only nested", `{"response":{"x":{"sequence_number":42}},"y":{"sequence_number":43}}`, 0, false},
		{"none", `{"type":"response.output_text.delta","delta":"hi"}`, 0, false},
		{"not a number", `{"sequence_number":"5"}`, 0, false},
		{"negative", `{"sequence_number":-1}`, 0, false},
		{"done", `[DONE]`, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, ok := sequenceNumber([]byte(tc.data))
			if n != tc.want || ok != tc.ok {
				t.Errorf("sequenceNumber(%s) = %d, %v; want %d, %v", tc.data, n, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzSequenceNumber: on a valid JSON object that names the key once, a
// number found is the top level's sequence_number (with several, the top
// level's is gjson's).
func FuzzSequenceNumber(f *testing.F) {
	f.Add([]byte(`{"type":"response.output_text.delta","sequence_number":7,"delta":"hi"}`))
	f.Add([]byte(`{"a":{"sequence_number":1},"sequence_number":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, ok := sequenceNumber(data)
		var top map[string]json.RawMessage
		if !ok || bytes.Count(data, keySequenceNumber) != 1 || json.Unmarshal(data, &top) != nil {
			return
		}
		var want int64
		if raw, found := top["sequence_number"]; found && json.Unmarshal(raw, &want) == nil && want != n {
			t.Fatalf("sequenceNumber(%s) = %d, top level has %d", data, n, want)
		}
	})
}
