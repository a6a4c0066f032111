package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

// scReload reloads both instances over and over, by SIGHUP and by the
// admin API, rewriting the config before each (a key's limit changes, a
// model comes and goes), while the load runs: no request may fail for it
// (docs/operations.md, "Reloading the config": in-flight requests finish
// on the snapshot they started with).
func scReload(ctx context.Context, e *env, o *outcome) error {
	before := map[string][]float64{}
	for _, res := range []string{"applied", "unchanged", "rejected"} {
		before[res] = e.MetricAll(ctx, "sluice_config_reloads_total", `result="`+res+`"`)
	}
	run := e.startLoad(ctx, "reload", e.o.rate, healthy)
	posts := make([]int, len(e.Gateways))
	hups := make([]int, len(e.Gateways))
	var postFailures []string
	deadline := time.Now().Add(10 * time.Second)
	var loopErr error
	for k := 0; time.Now().Before(deadline); k++ {
		if loopErr = harness.Sleep(ctx, 250*time.Millisecond); loopErr != nil {
			break
		}
		e.gen++
		if loopErr = writeConfig(e.ConfigPath, e.gen); loopErr != nil {
			break
		}
		i := k % len(e.Gateways)
		g := e.Gateways[i]
		if (k/len(e.Gateways))%2 == 0 {
			if loopErr = g.Signal(syscall.SIGHUP); loopErr != nil {
				break
			}
			hups[i]++
			continue
		}
		status, body, err := g.Reload(ctx)
		posts[i]++
		// "unchanged" only when a SIGHUP's reload, held up, read this
		// same file first: fine, as long as nothing is rejected.
		if err != nil || status != 200 || !(strings.Contains(body, `"result":"applied"`) || strings.Contains(body, `"result":"unchanged"`)) {
			postFailures = append(postFailures, fmt.Sprintf("%s: %d %v %.200s", g.Name, status, err, body))
		}
	}
	rs := stopLoad(run, o)
	if loopErr != nil {
		return loopErr
	}
	servedCheck(o, "every request served during the reloads", rs)
	o.check("every POST /admin/v1/reload answered 200", len(postFailures) == 0, "%v POSTs, %d not 200 applied or unchanged%s",
		sum(toFloat(posts)), len(postFailures), first(postFailures))

	// A last reload through the API, then every instance runs the file
	// as it is now.
	for _, g := range e.Gateways {
		if status, body, err := g.Reload(ctx); err != nil || status != 200 {
			return fmt.Errorf("final reload of %s: %d %v %s", g.Name, status, err, body)
		}
	}
	b, err := os.ReadFile(e.ConfigPath)
	if err != nil {
		return err
	}
	h := sha256.Sum256(b)
	hash := hex.EncodeToString(h[:])[:16]
	inForce := e.MetricAll(ctx, "sluice_config_info", `hash="`+hash+`"`)
	o.check("the last file is in force everywhere", sum(inForce) == float64(len(e.Gateways)),
		"sluice_config_info{hash=%q} per instance: %v", hash, inForce)

	after := map[string][]float64{}
	for _, res := range []string{"applied", "unchanged", "rejected"} {
		after[res] = e.MetricAll(ctx, "sluice_config_reloads_total", `result="`+res+`"`)
	}
	applied, rejected := deltas(before["applied"], after["applied"]), deltas(before["rejected"], after["rejected"])
	o.Measured["reloads_sighup"] = hups
	o.Measured["reloads_post"] = posts
	o.Measured["reloads_applied"] = applied
	o.Measured["reloads_unchanged"] = deltas(before["unchanged"], after["unchanged"])
	o.check("no reload rejected", sum(rejected) == 0, "rejected per instance: %v", rejected)
	// Signals that arrive during a reload may coalesce into one: each
	// instance reloaded at least its POSTs (+ the final one) and one
	// SIGHUP's worth, and applied the new file at least once.
	unchanged := deltas(before["unchanged"], after["unchanged"])
	ok := true
	for i := range e.Gateways {
		want := float64(posts[i] + 1)
		if hups[i] > 0 {
			want++
		}
		ok = ok && applied[i]+unchanged[i] >= want && applied[i] > 0
	}
	o.check("reloads counted", ok, "applied %v, unchanged %v per instance after %v SIGHUPs and %v POSTs (+1 final POST each)",
		applied, unchanged, hups, posts)

	acc, err := e.settleLogs(ctx, "reload", rs, 5*time.Second)
	if err != nil {
		return err
	}
	logChecks(o, acc, false)
	return nil
}

func toFloat(v []int) []float64 {
	f := make([]float64, len(v))
	for i, x := range v {
		f[i] = float64(x)
	}
	return f
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return " (first: " + s[0] + ")"
}
