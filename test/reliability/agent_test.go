package reliability

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testbackend"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// TestAgentCrashKill9 runs configs/agent.yaml in front of a gateway, tails
// JSONL and receives OTLP on the agent, and kills the agent with SIGKILL
// twice. The agent batches in its persistent queue, not in a batch processor
// (which acknowledged what it buffered and lost it on kill -9), so nothing
// is lost.
func TestAgentCrashKill9(t *testing.T) {
	kills := pick(2, 5)
	period := pick(5*time.Second, 20*time.Second)

	run := func(t *testing.T, overlays []string) (lostSpans, lostLogs, lostLines int, total int64) {
		jaeger := testbackend.StartJaeger(t)
		vlogs := testbackend.StartVictoriaLogs(t)
		gw := newGateway(t, jaeger.OTLPGRPC, vlogs.OTLPLogsEndpoint(), nil)
		gw.start()

		dir := t.TempDir()
		logPath := filepath.Join(dir, "worker.log")
		agent := newGateway(t, "unused:4317", "http://unused", overlays,
			fmt.Sprintf("GATEWAY_ENDPOINTS=[%s]", gw.GRPC), fmt.Sprintf("JSONL_INCLUDE=[%s*]", logPath))
		agent.configs[0] = filepath.Join(testutil.RepoRoot(t), "configs", "agent.yaml")
		agent.start()

		src := newSource(t, agent.GRPC, fmt.Sprintf("agent-crash-%d", time.Now().UnixNano()), 10, 10)
		tr := startTraffic(src, 10*time.Millisecond)
		w := newJSONLWriter(t, logPath, src.service+"-jsonl")
		w.start(5, 10*time.Millisecond)
		for k := 0; k < kills; k++ {
			tr.waitFor(t, period)
			agent.proc.Kill()
			agent.start()
		}
		tr.waitFor(t, period)
		tr.finish(t)
		written := w.finish(t)

		// Wait until nothing more arrives, then count.
		var spans, logs, lines arrival
		last := -1
		for deadline := time.Now().Add(pick(90*time.Second, 3*time.Minute)); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
			var err error
			spans, err = jaegerSpans(jaeger, src.service)
			require.NoError(t, err)
			logs, err = victoriaLogs(vlogs, src.service)
			require.NoError(t, err)
			lines, err = victoriaLogs(vlogs, w.run)
			require.NoError(t, err)
			n := spans.unique() + logs.unique() + lines.unique()
			if int64(n) == src.ackSpans.Load()+src.ackLogs.Load()+written || n == last {
				break
			}
			last = n
		}
		agent.alive()
		lostSpans = int(src.ackSpans.Load()) - spans.unique()
		lostLogs = int(src.ackLogs.Load()) - logs.unique()
		lostLines = int(written) - lines.unique()
		t.Logf("RESULT agent crash %s: %d kill -9; spans sent %d, lost %d, duplicates %d; log records sent %d, lost %d, duplicates %d; JSONL lines written %d, lost %d, duplicates %d",
			t.Name(), kills, src.ackSpans.Load(), lostSpans, spans.duplicates(), src.ackLogs.Load(), lostLogs, logs.duplicates(),
			written, lostLines, lines.duplicates())
		return lostSpans, lostLogs, lostLines, src.ackSpans.Load() + src.ackLogs.Load() + written
	}

	s, l, j, _ := run(t, nil)
	assert.Zero(t, s, "spans lost")
	assert.Zero(t, l, "log records lost")
	assert.Zero(t, j, "JSONL lines lost")
}
