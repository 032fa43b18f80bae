//go:build e2e

package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
)

// TestAgentJSONLFormats sends JSONL files in the other wrappings a host
// produces (stderr redirected to a file, Docker's json-file) through the
// shipped agent and one gateway: every line of every request must be in the
// log store once, with its trace id and x_request_id, next to the request's
// spans and OTLP log records.
func TestAgentJSONLFormats(t *testing.T) {
	if !hasComponent(shippedConfig(t, "agent.yaml"), "receivers", "jsonl") {
		t.Skip("MISSING COMPONENT: the jsonl receiver (receiver/jsonlreceiver, issue 3) is not in configs/agent.yaml")
	}
	missing := processorMissing(t, "otelcol-dynamo.yaml")
	exp := expectations{processor: missing == "", jsonl: true}
	for _, tc := range []struct {
		name   string
		format telemetrygen.Format
		zone   *time.Location
	}{
		// DYN_LOG_USE_LOCAL_TZ: times with an offset instead of a Z.
		{name: "raw-local-time", format: telemetrygen.FormatRaw, zone: time.FixedZone("", 2*3600)},
		{name: "docker", format: telemetrygen.FormatDocker},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startStores(t)
			gw := startGateway(t, "gateway", "otelcol-dynamo.yaml", s)
			logDir := filepath.Join(t.TempDir(), "logs")
			agent := startCollector(t, "agent", "agent.yaml",
				"GATEWAY_ENDPOINTS=["+gw.grpc+"]",
				"JSONL_INCLUDE=["+filepath.Join(logDir, "*.log*")+"]",
			)
			m := generate(t, telemetrygen.Config{
				Generator: telemetrygen.Options{
					SystemShare: 0.1, FailureShare: 0.2, LogsPerRequest: 2, SpanEvents: true, JSONLZone: tc.zone,
				},
				OTLP:       telemetrygen.SenderOptions{Endpoint: agent.grpc, Insecure: true},
				JSONL:      telemetrygen.JSONLWriterOptions{Dir: logDir, Format: tc.format, RotateBytes: 128 << 10},
				Requests:   scaled(120),
				Rate:       300,
				RootDelay:  500 * time.Millisecond,
				NoiseEvery: 20,
			})
			checkTraces(t, s.jaeger, m, exp)
			checkLogs(t, s.vlogs, m, exp)
			checkNothingLate(t, s, m, exp)
			if missing != "" {
				t.Skip(missing + " (counts and searches above were checked)")
			}
		})
	}
}
