//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
)

// TestScaleOut puts the shipped agent (configs/agent.yaml, load_balancing by
// trace id over a static list of gateways) in front of two gateways that
// share the stores. Neither gateway sees all traffic, yet every trace must
// arrive whole and every span and log record must still get its
// x_request_id: all of a request's telemetry has to meet in one gateway.
func TestScaleOut(t *testing.T) {
	missing := processorMissing(t, "otelcol-dynamo.yaml")
	jsonl := hasComponent(shippedConfig(t, "agent.yaml"), "receivers", "jsonl")
	exp := expectations{processor: missing == "", jsonl: jsonl}

	s := startStores(t)
	gw1 := startGateway(t, "gateway-1", "otelcol-dynamo.yaml", s)
	gw2 := startGateway(t, "gateway-2", "otelcol-dynamo.yaml", s)
	logDir := filepath.Join(t.TempDir(), "pods")
	agent := startCollector(t, "agent", "agent.yaml",
		"GATEWAY_ENDPOINTS=["+gw1.grpc+", "+gw2.grpc+"]",
		"JSONL_INCLUDE=["+filepath.Join(logDir, "*.log*")+"]",
	)

	cfg := telemetrygen.Config{
		// A fifth of the requests are not sampled: their log records reach
		// the gateway that owns their trace and must go on without waiting.
		Generator: telemetrygen.Options{SystemShare: 0.1, FailureShare: 0.1, AliasShare: 0.1, LogsPerRequest: 3, SpanEvents: true, UnsampledShare: 0.2},
		OTLP:      telemetrygen.SenderOptions{Endpoint: agent.grpc, Insecure: true},
		Requests:  scaled(300), Rate: 300,
		RootDelay: 500 * time.Millisecond,
	}
	if jsonl {
		// CRI-wrapped, as on a Kubernetes node, with long lines split into
		// partial records and files rotated by rename while they are tailed.
		cfg.JSONL = telemetrygen.JSONLWriterOptions{Dir: logDir, Format: telemetrygen.FormatCRI, CRISplit: 512, RotateBytes: 256 << 10}
		// Python lines and vLLM's coloured text share the workers' stderr.
		cfg.NoiseEvery = 25
	}
	m := generate(t, cfg)
	checkTraces(t, s.jaeger, m, exp)
	checkLogs(t, s.vlogs, m, exp)
	checkNothingLate(t, s, m, exp)
	if exp.processor {
		checkUnsampledPassed(t, unsampledItems(m, jsonl), gw1, gw2)
	}

	// The load was spread: each gateway took part of it, together all of it.
	spans1 := gw1.metric(t, "otelcol_receiver_accepted_spans")
	spans2 := gw2.metric(t, "otelcol_receiver_accepted_spans")
	t.Logf("gateway-1 accepted %.0f spans, gateway-2 %.0f (of %d)", spans1, spans2, m.Totals.Spans)
	assert.Positive(t, spans1, "gateway-1 got traffic")
	assert.Positive(t, spans2, "gateway-2 got traffic")
	assert.Less(t, spans1, float64(m.Totals.Spans), "gateway-1 did not see all traffic")
	assert.Less(t, spans2, float64(m.Totals.Spans), "gateway-2 did not see all traffic")
	require.Equal(t, float64(m.Totals.Spans), spans1+spans2, "every span went to exactly one gateway")
	logs1 := gw1.metric(t, "otelcol_receiver_accepted_log_records")
	logs2 := gw2.metric(t, "otelcol_receiver_accepted_log_records")
	t.Logf("gateway-1 accepted %.0f log records, gateway-2 %.0f", logs1, logs2)
	assert.Positive(t, logs1, "gateway-1 got log records")
	assert.Positive(t, logs2, "gateway-2 got log records")

	var skips []string
	if missing != "" {
		skips = append(skips, missing)
	}
	if !jsonl {
		skips = append(skips, "MISSING COMPONENT: the jsonl receiver (receiver/jsonlreceiver, issue 3) is not in configs/agent.yaml; JSONL files were not generated or checked")
	}
	if len(skips) > 0 {
		t.Skip(strings.Join(skips, "; ") + " (traces, OTLP logs and load spreading above were checked)")
	}
}
