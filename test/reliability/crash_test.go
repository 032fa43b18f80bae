package reliability

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testbackend"
)

// TestCrashKill9 kills the gateway with SIGKILL while a retrying OTLP client
// sends spans and log records, restarts it on the same storage folder, and
// checks that every span and log record the client sent reaches Jaeger and
// VictoriaLogs. It reports how many arrived more than once (the promise is
// at-least-once).
func TestCrashKill9(t *testing.T) {
	kills := pick(2, 5)
	period := pick(5*time.Second, 20*time.Second)

	jaeger := testbackend.StartJaeger(t)
	vlogs := testbackend.StartVictoriaLogs(t)
	gw := newGateway(t, jaeger.OTLPGRPC, vlogs.OTLPLogsEndpoint(), nil)
	gw.start()

	src := newSource(t, gw.GRPC, fmt.Sprintf("crash-%d", time.Now().UnixNano()), 10, 10)
	tr := startTraffic(src, 10*time.Millisecond)
	for k := 0; k < kills; k++ {
		tr.waitFor(t, period)
		before := src.ackSpans.Load()
		gw.proc.Kill()
		t.Logf("kill -9 #%d after %d spans acknowledged", k+1, before)
		gw.start()
	}
	tr.waitFor(t, period)
	tr.finish(t)

	spans, logs := waitForAll(t, src, jaeger, vlogs, arrival{}, 3*time.Minute)
	gw.alive()
	t.Logf("RESULT crash: %d kill -9, %d batches; spans sent %d, arrived %d distinct, %d duplicates; logs sent %d, arrived %d distinct, %d duplicates; client retries by code %v",
		kills, src.nextSeq.Load(), src.ackSpans.Load(), spans.unique(), spans.duplicates(),
		src.ackLogs.Load(), logs.unique(), logs.duplicates(), src.failures())
	assert.Equal(t, int(src.ackSpans.Load()), spans.unique(), "spans lost")
	assert.Equal(t, int(src.ackLogs.Load()), logs.unique(), "log records lost")
	require.Positive(t, src.ackSpans.Load())
}
