package openai

import (
	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/wire"
)

var keySequenceNumber = []byte(`"sequence_number"`)

// sequenceNumber returns the sequence_number of a Responses stream event
// (its data): every event of such a stream carries one, counting up from 0,
// and an event the gateway writes into the stream must continue the count.
// Text cannot forge the key (a quote inside a JSON string is escaped), so
// when it occurs once its value is read where it stands; when it occurs
// more than once (an object nested in the event names it too), the top
// level's is looked up. ok is false when there is none, or it is not a
// non-negative integer.
func sequenceNumber(data []byte) (n int64, ok bool) {
	i := indexKey(data, keySequenceNumber)
	if i < 0 {
		return 0, false
	}
	if indexKey(data[i+len(keySequenceNumber):], keySequenceNumber) < 0 {
		return intField(data[i:], keySequenceNumber)
	}
	v := gjson.Get(wire.StringView(data), "sequence_number")
	if v.Type != gjson.Number || v.Num < 0 || v.Num != float64(int64(v.Num)) || v.Num > 1e15 {
		return 0, false
	}
	return int64(v.Num), true
}
