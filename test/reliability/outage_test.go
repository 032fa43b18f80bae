package reliability

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testbackend"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// TestBackendOutage stops Jaeger and VictoriaLogs while traffic flows, keeps
// sending for the outage, then starts new ones on the same ports: every span
// and log record arrives, the sending queues drain to zero, and the
// collector's memory stays bounded. It reports the peak queue size and RSS.
func TestBackendOutage(t *testing.T) {
	outage := pick(15*time.Second, 60*time.Second)

	jaeger := testbackend.StartJaeger(t)
	vlogs := testbackend.StartVictoriaLogs(t)
	gw := newGateway(t, jaeger.OTLPGRPC, vlogs.OTLPLogsEndpoint(), nil)
	gw.start()

	src := newSource(t, gw.GRPC, fmt.Sprintf("outage-%d", time.Now().UnixNano()), 10, 10)
	tr := startTraffic(src, 10*time.Millisecond)
	tr.waitFor(t, 3*time.Second)

	// The in-memory Jaeger forgets everything when stopped: pause, let all
	// acknowledged spans reach it, count them, then stop both stores.
	tr.finish(t)
	before, _ := waitForAll(t, src, jaeger, vlogs, arrival{}, time.Minute)
	peaks := sample(250*time.Millisecond, func() map[string]float64 {
		out := map[string]float64{}
		if rss, err := gw.rssBytes(); err == nil {
			out["rss"] = float64(rss)
		}
		if m, err := gw.scrape(); err == nil {
			out["queue_traces"] = m.sum("otelcol_exporter_queue_size", `exporter="otlp_grpc/tempo"`)
			out["queue_logs"] = m.sum("otelcol_exporter_queue_size", `exporter="otlp_http/loki"`)
		}
		return out
	})
	jaeger.Proc.Stop(10 * time.Second)
	vlogs.Proc.Stop(10 * time.Second)
	t.Logf("stores stopped after %d spans / %d log records", src.ackSpans.Load(), src.ackLogs.Load())

	tr = startTraffic(src, 10*time.Millisecond)
	tr.waitFor(t, outage)
	m, err := gw.scrape()
	require.NoError(t, err)
	queued := m.sum("otelcol_exporter_queue_size")
	assert.Positive(t, queued, "nothing queued during the outage")

	jaeger = restartJaeger(t, jaeger)
	vlogs = restartVictoriaLogs(t, vlogs)
	t.Logf("stores back after %s of outage, %.0f batches queued", outage, queued)
	tr.waitFor(t, 3*time.Second)
	tr.finish(t)

	spans, logs := waitForAll(t, src, jaeger, vlogs, before, 3*time.Minute)
	testutil.Eventually(t, time.Minute, 250*time.Millisecond, func() error {
		m, err := gw.scrape()
		if err != nil {
			return err
		}
		if q := m.sum("otelcol_exporter_queue_size"); q != 0 {
			return fmt.Errorf("queues hold %v batches", q)
		}
		return nil
	})
	p := peaks.Stop()
	gw.alive()
	m, err = gw.scrape()
	require.NoError(t, err)
	t.Logf("RESULT outage: %s outage; spans sent %d, arrived %d distinct, %d duplicates; logs sent %d, arrived %d distinct, %d duplicates; peak queue size traces %.0f / logs %.0f requests; peak RSS %s; exporter sent spans %.0f, failed %.0f; sent logs %.0f, failed %.0f",
		outage, src.ackSpans.Load(), spans.unique(), spans.duplicates(), src.ackLogs.Load(), logs.unique(), logs.duplicates(),
		p["queue_traces"], p["queue_logs"], mib(p["rss"]),
		m.sumPrefix("otelcol_exporter_sent_spans"), m.sumPrefix("otelcol_exporter_send_failed_spans"),
		m.sumPrefix("otelcol_exporter_sent_log_records"), m.sumPrefix("otelcol_exporter_send_failed_log_records"))
	assert.Equal(t, int(src.ackSpans.Load()), spans.unique(), "spans lost")
	assert.Equal(t, int(src.ackLogs.Load()), logs.unique(), "log records lost")
	// Queued data lives on disk (file_storage), not in memory: the process
	// stays far below the memory limiter's limit.
	assert.Less(t, p["rss"], float64(512<<20), "RSS during the outage")
}
