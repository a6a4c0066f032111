package walk

import (
	"reflect"
	"testing"
)

// Reset forgets the event read last, Clear the whole stream; both keep the
// arrays, and leave what a fresh StreamText holds.
func TestStreamTextReset(t *testing.T) {
	fill := func(st *StreamText) {
		d := []byte(`{"a":"x","b":1}`)
		st.AddSlot(d, ChanKey{A: 1}, Span{Start: 5, End: 8})
		st.EndAll, st.Full = true, true
		st.EndAs = append(st.EndAs, 2)
		st.EndKeys = append(st.EndKeys, ChanKey{B: 3})
		st.Reg = Closed{1, 2}
		st.W.Reset(d)
		st.W.Str(Span{Start: 5, End: 8})
		st.Head = append(st.Head, "h"...)
		st.HaveHead = true
		st.Data = append(st.Data, "d"...)
	}
	var st StreamText
	fill(&st)
	if len(st.Slots) != 1 || len(st.W.Fields) != 1 {
		t.Fatalf("AddSlot or Str recorded nothing: %+v", st)
	}
	st.Reset()
	if len(st.Slots)+len(st.EndAs)+len(st.EndKeys) != 0 || st.EndAll || st.Full || st.Reg != (Closed{}) || !st.HaveHead {
		t.Errorf("Reset left the event's part or dropped the stream's: %+v", st)
	}
	fill(&st)
	st.Clear()
	fresh := StreamText{Slots: st.Slots, EndAs: st.EndAs, EndKeys: st.EndKeys, W: Walker{Fields: st.W.Fields}, Head: st.Head, Data: st.Data}
	if !reflect.DeepEqual(st, fresh) || cap(st.Slots) == 0 || len(st.Slots)+len(st.Head)+len(st.Data)+len(st.W.Fields) != 0 {
		t.Errorf("Clear: %+v", st)
	}
	if st.AddSlot([]byte(`{"a":1}`), ChanKey{}, Span{Start: 5, End: 6}) {
		t.Error("AddSlot took a number")
	}
}
