package reliability

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testbackend"
)

// TestCrashKill9 kills the gateway with SIGKILL while a retrying OTLP client
// sends spans and log records and a Dynamo process appends JSONL lines to a
// file the jsonl receiver tails, restarts it on the same storage folder, and
// checks that every span, log record and line reaches Jaeger and
// VictoriaLogs. It reports how many arrived more than once (the promise is
// at-least-once).
func TestCrashKill9(t *testing.T) {
	kills := pick(2, 5)
	period := pick(5*time.Second, 20*time.Second)

	jaeger := testbackend.StartJaeger(t)
	vlogs := testbackend.StartVictoriaLogs(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "worker.log")
	gw := newGateway(t, jaeger.OTLPGRPC, vlogs.OTLPLogsEndpoint(),
		[]string{jsonlOverlay(t, logPath+"*", filepath.Join(dir, "state"), "")})
	gw.start()

	src := newSource(t, gw.GRPC, fmt.Sprintf("crash-%d", time.Now().UnixNano()), 10, 10)
	tr := startTraffic(src, 10*time.Millisecond)
	w := newJSONLWriter(t, logPath, src.service+"-jsonl")
	w.start(5, 10*time.Millisecond)
	// Log records that arrive before any span of their trace carries the
	// request id, which the dynamo processor holds in memory until it learns
	// the id (at most its wait, 5s by default).
	early := newSource(t, gw.GRPC, src.service+"-logs-first", 3, 5)
	early.logsFirst, early.spanDelay = true, 2*time.Second
	trEarly := startTraffic(early, 0)
	for k := 0; k < kills; k++ {
		tr.waitFor(t, period)
		before := src.ackSpans.Load()
		gw.proc.Kill()
		t.Logf("kill -9 #%d after %d spans acknowledged", k+1, before)
		gw.start()
	}
	tr.waitFor(t, period)
	tr.finish(t)
	trEarly.finish(t)
	written := w.finish(t)

	spans, logs := waitForAll(t, src, jaeger, vlogs, arrival{}, 3*time.Minute)
	lines := waitForJSONL(t, vlogs, w.run, written, 3*time.Minute)
	gw.alive()
	t.Logf("RESULT crash: %d kill -9, %d batches; spans sent %d, arrived %d distinct, %d duplicates; logs sent %d, arrived %d distinct, %d duplicates; client retries by code %v",
		kills, src.nextSeq.Load(), src.ackSpans.Load(), spans.unique(), spans.duplicates(),
		src.ackLogs.Load(), logs.unique(), logs.duplicates(), src.failures())
	t.Logf("RESULT crash (JSONL): %d kill -9; lines written %d, arrived %d distinct, %d duplicates",
		kills, written, lines.unique(), lines.duplicates())
	assert.Equal(t, int(written), lines.unique(), "JSONL lines lost")

	// Log records the dynamo processor holds while it waits for their
	// trace's request id were acknowledged before they reach the queue; the
	// gateway keeps them in file_storage too (dynamo propagation.storage), so
	// kill -9 must not lose them either.
	var eSpans, eLogs arrival
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		var err error
		eSpans, _ = jaegerSpans(jaeger, early.service)
		eLogs, err = victoriaLogs(vlogs, early.service)
		require.NoError(t, err)
		if eLogs.unique() == int(early.ackLogs.Load()) || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("RESULT crash (logs before spans, held by the dynamo processor): %d kill -9; log records sent %d, arrived %d distinct (%d lost), %d duplicates; spans sent %d, arrived %d",
		kills, early.ackLogs.Load(), eLogs.unique(), int(early.ackLogs.Load())-eLogs.unique(), eLogs.duplicates(), early.ackSpans.Load(), eSpans.unique())
	assert.Equal(t, int(early.ackSpans.Load()), eSpans.unique(), "spans lost")
	assert.Equal(t, int(early.ackLogs.Load()), eLogs.unique(), "log records held by the dynamo processor lost")
	assert.Equal(t, int(src.ackSpans.Load()), spans.unique(), "spans lost")
	assert.Equal(t, int(src.ackLogs.Load()), logs.unique(), "log records lost")
	require.Positive(t, src.ackSpans.Load())
}
