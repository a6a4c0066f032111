package telemetry

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/testenv"
)

// outageLength is how long the test keeps PostgreSQL down (the issue asks
// for 30 s).
const outageLength = 30 * time.Second

// TestPostgresOutage stops a private PostgreSQL for 30 s during a steady
// load and starts it again: every record submitted ends up in the table
// exactly once, spooled while the server was down and replayed after.
func TestPostgresOutage(t *testing.T) {
	pg := testenv.PrivatePostgres(t)
	log, logs := testLogger(t)
	sink := openTestPostgres(t, pg.URL(), PostgresOptions{Dedup: true, Logger: log})
	p := newTestPipeline(t, Config{
		BatchSize: 100, FlushInterval: 20 * time.Millisecond, SinkTimeout: time.Second, Logger: log,
	}, sink)

	// A bounded load: one record every 2 ms until told to stop.
	var submitted, refused atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			r := sampleRecord(i, time.Time{})
			if p.Submit(&r) {
				submitted.Add(1)
			} else {
				refused.Add(1)
			}
		}
	}()
	stopLoad := func() {
		close(stop)
		wg.Wait()
	}

	eventually(t, "rows reach the database", func() bool { return p.Status().Written > 0 })
	pg.Stop()
	downAt := time.Now()
	eventually(t, "the pipeline notices the outage", func() bool { st := p.Status(); return !st.SinkUp && st.Spooling })
	time.Sleep(outageLength - time.Since(downAt))
	if st := p.Status(); st.Spooled == 0 || st.SinkUp {
		t.Fatalf("status during the outage = %+v", st)
	}
	pg.Start()
	upAt := time.Now()
	time.Sleep(2 * time.Second) // load goes on after the restart
	stopLoad()
	n := submitted.Load()
	eventually(t, "the spool is replayed", func() bool {
		st := p.Status()
		return st.SinkUp && !st.Spooling && int64(st.Written+st.Replayed) == n
	})
	t.Logf("caught up %v after the restart; status %+v", time.Since(upAt).Round(time.Millisecond), p.Status())
	closePipeline(t, p)

	if refused.Load() != 0 {
		t.Fatalf("%d records refused by Submit", refused.Load())
	}
	if got := pgCount(t, sink, ""); int64(got) != n {
		t.Fatalf("%d rows in the database, %d records submitted", got, n)
	}
	if d := pgDuplicates(t, sink); d != 0 {
		t.Fatalf("%d duplicated request ids", d)
	}
	for _, want := range []string{"sink down or slow", "sink is up again", "spool replayed into the sink"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// TestPostgresDownAtStart starts the sink and the pipeline with the
// server down (as sluice serve may): records spool, the log says so, and
// once the server comes up the schema is migrated and everything lands.
func TestPostgresDownAtStart(t *testing.T) {
	pg := testenv.PrivatePostgres(t)
	pg.Stop()
	log, logs := testLogger(t)
	sink := openTestPostgres(t, pg.URL(), PostgresOptions{Dedup: true, Logger: log})
	p := newTestPipeline(t, Config{BatchSize: 50, FlushInterval: 10 * time.Millisecond, SinkTimeout: time.Second, Logger: log}, sink)
	eventually(t, "the pipeline reports the sink down", func() bool { st := p.Status(); return !st.SinkUp && st.LastError != "" })
	submitN(t, p, 0, 500)
	eventually(t, "records spool", func() bool { return p.Status().Spooled == 500 })
	if !strings.Contains(logs.String(), "spooling records to disk") {
		t.Fatalf("no log line about spooling:\n%s", logs.String())
	}
	pg.Start()
	eventually(t, "the spool is replayed", func() bool { st := p.Status(); return st.Replayed == 500 && !st.Spooling })
	closePipeline(t, p)
	if n := pgCount(t, sink, ""); n != 500 {
		t.Fatalf("%d rows, want 500", n)
	}
}
