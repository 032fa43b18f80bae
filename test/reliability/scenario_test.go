package reliability

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testbackend"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// traffic runs a source in the background.
type traffic struct {
	src  *source
	stop chan struct{}
	errc chan error
}

func startTraffic(src *source, interval time.Duration) *traffic {
	tr := &traffic{src: src, stop: make(chan struct{}), errc: make(chan error, 1)}
	go func() { tr.errc <- src.run(context.Background(), tr.stop, interval) }()
	return tr
}

// finish stops sending and waits until the batch in flight was accepted.
func (tr *traffic) finish(t testing.TB) {
	t.Helper()
	close(tr.stop)
	select {
	case err := <-tr.errc:
		require.NoError(t, err)
	case <-time.After(5 * time.Minute):
		t.Fatal("the source did not get its last batch accepted within 5 minutes")
	}
}

// waitUntil sleeps for d while failing fast if the traffic source failed.
func (tr *traffic) waitFor(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case err := <-tr.errc:
		t.Fatalf("traffic stopped early: %v", err)
	case <-time.After(d):
	}
}

// restartJaeger starts a new Jaeger process with the same arguments (same
// ports; the in-memory store starts empty).
func restartJaeger(t testing.TB, j *testbackend.Jaeger) *testbackend.Jaeger {
	t.Helper()
	nj := *j
	nj.Proc = testutil.StartProcess(t, "jaeger (restarted)", j.Proc.Cmd.Path, j.Proc.Cmd.Args[1:], nil)
	testutil.Eventually(t, 60*time.Second, 100*time.Millisecond, func() error {
		if nj.Proc.Exited() {
			return fmt.Errorf("jaeger exited:\n%s", nj.Proc.Output())
		}
		var v any
		return nj.GetJSON("/api/services", &v)
	})
	testutil.WaitForTCP(t, nj.OTLPGRPC, 30*time.Second)
	return &nj
}

// restartVictoriaLogs starts a new VictoriaLogs process with the same
// arguments (same port, same data folder: what it had stored stays).
func restartVictoriaLogs(t testing.TB, v *testbackend.VictoriaLogs) *testbackend.VictoriaLogs {
	t.Helper()
	nv := *v
	nv.Proc = testutil.StartProcess(t, "victoria-logs (restarted)", v.Proc.Cmd.Path, v.Proc.Cmd.Args[1:], nil)
	testutil.Eventually(t, 60*time.Second, 100*time.Millisecond, func() error {
		if nv.Proc.Exited() {
			return fmt.Errorf("victoria-logs exited:\n%s", nv.Proc.Output())
		}
		_, err := nv.Query("*")
		return err
	})
	return &nv
}

// waitForAll polls the stores until every span and log record the source got
// acknowledged is there (adding jaegerBefore, what an earlier, since stopped,
// in-memory Jaeger held) and returns what arrived.
func waitForAll(t testing.TB, src *source, j *testbackend.Jaeger, v *testbackend.VictoriaLogs, jaegerBefore arrival, timeout time.Duration) (spans, logs arrival) {
	t.Helper()
	wantSpans, wantLogs := int(src.ackSpans.Load()), int(src.ackLogs.Load())
	batches := src.nextSeq.Load()
	deadline := time.Now().Add(timeout)
	for {
		var errS, errL error
		spans, errS = jaegerSpans(j, src.service)
		spans = spans.add(jaegerBefore)
		logs, errL = victoriaLogs(v, src.service)
		if errS == nil && errL == nil && spans.unique() >= wantSpans && logs.unique() >= wantLogs {
			// Give late duplicates a moment? No: duplicates are whatever the
			// stores hold now; a copy still in flight is not counted.
			return spans, logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("not everything arrived within %s: spans %d of %d (missing e.g. %v), logs %d of %d (missing e.g. %v); errors: %v %v",
				timeout, spans.unique(), wantSpans, spans.missing(batches, src.spansPerBatch, 5),
				logs.unique(), wantLogs, logs.missing(batches, src.logsPerBatch, 5), errS, errL)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
