package route

import "testing"

func TestTriggers(t *testing.T) {
	def := NewTriggers([]string{"connect", "timeout", "429", "5xx"})
	codes := NewTriggers([]string{"408", "4xx"})
	for _, tc := range []struct {
		tr     Triggers
		status int
		want   bool
	}{
		{def, 500, true}, {def, 503, true}, {def, 429, true}, {def, 400, false}, {def, 408, false}, {def, 200, false},
		{codes, 400, true}, {codes, 408, true}, {codes, 499, true}, {codes, 500, false}, {Triggers{}, 500, false},
		{NewTriggers([]string{"408"}), 408, true}, {NewTriggers([]string{"408"}), 409, false},
	} {
		if got := tc.tr.Status(tc.status); got != tc.want {
			t.Errorf("%+v: Status(%d) = %v", tc.tr, tc.status, got)
		}
	}
	if !def.NoReply(FailConnect) || !def.NoReply(FailTimeout) || def.NoReply(FailShed) {
		t.Error("default triggers: connect and timeout retry, shedding does not")
	}
	if onlyConnect := NewTriggers([]string{"connect"}); !onlyConnect.NoReply(FailConnect) || onlyConnect.NoReply(FailTimeout) {
		t.Error("connect without timeout")
	}
}
