package ratelimit

import (
	"strings"
	"testing"
	"time"
)

func TestAppendReset(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {-time.Second, "0s"}, {1, "1ms"}, {time.Millisecond, "1ms"}, {250*time.Millisecond + 1, "251ms"},
		{999*time.Millisecond + 1, "1s"}, {time.Second, "1s"}, {time.Second + 1, "2s"}, {6 * time.Second, "6s"},
		{6 * time.Minute, "6m0s"}, {59*time.Minute + 59*time.Second, "59m59s"}, {time.Hour, "1h0m0s"},
		{25*time.Hour + 61*time.Second, "25h1m1s"},
	} {
		if got := string(AppendReset(nil, tt.d)); got != tt.want {
			t.Errorf("AppendReset(%v) = %q, want %q", tt.d, got, tt.want)
		}
		// Go's own format, for whole seconds.
		if tt.d >= time.Second && tt.d%time.Second == 0 && tt.d.String() != tt.want {
			t.Errorf("%v: %q differs from time.Duration's %q", tt.d, tt.want, tt.d.String())
		}
	}
	buf := make([]byte, 0, 32)
	if n := testing.AllocsPerRun(100, func() { buf = AppendReset(buf[:0], 6*time.Minute) }); n != 0 {
		t.Errorf("AppendReset allocates %v times", n)
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		d        time.Duration
		sec, ms  int64
		contains string
	}{
		{6 * time.Second, 6, 6000, ""}, {6*time.Second + 1, 7, 6001, ""}, {1, 1, 1, ""}, {0, 0, 0, ""},
	} {
		d := Decision{RetryAfter: tt.d}
		if d.RetryAfterSeconds() != tt.sec || d.RetryAfterMillis() != tt.ms {
			t.Errorf("%v: %d s, %d ms", tt.d, d.RetryAfterSeconds(), d.RetryAfterMillis())
		}
	}
}

func TestMessages(t *testing.T) {
	for _, tt := range []struct {
		d    Decision
		want []string
	}{
		{Decision{Reason: ReasonRPM, Scope: ScopeKey, Limit: 10, RetryAfter: 6 * time.Second}, []string{"(rpm)", "10 requests per minute", "Retry after 6s"}},
		{Decision{Reason: ReasonTPM, Scope: ScopeKeyModel, Model: "gpt-4o", Limit: 1000, Tokens: 4106, RetryAfter: time.Minute},
			[]string{"(tpm)", `model "gpt-4o"`, "1000 tokens per minute", "reserves 4106", "max_tokens"}},
		{Decision{Reason: ReasonConcurrency, Scope: ScopeKey, Limit: 4}, []string{"(concurrency)", "4 requests in flight"}},
		{Decision{Reason: ReasonBudget, BudgetUSD: 5, SpendUSD: 5.004, Period: "day", ResetAt: time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC)},
			[]string{"$5.00 of its $5.00 daily budget", "2030-01-03T00:00:00Z"}},
		{Decision{Reason: ReasonUnavailable}, []string{"Retry shortly"}},
	} {
		msg := tt.d.Message()
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s message %q lacks %q", tt.d.Reason, msg, w)
			}
		}
	}
	if (&Decision{Allowed: true}).Message() != "" {
		t.Error("an admitted decision has a message")
	}
}
