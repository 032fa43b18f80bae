//go:build e2e

package e2e

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
)

// TestGatewayLokiPush is TestGateway's mixed run with logs sent through the
// `loki` exporter to a Loki push API (configs/otelcol-dynamo-loki-push.yaml):
// the same records must arrive, each with its trace id and x_request_id as
// structured metadata, in streams labelled by service name.
func TestGatewayLokiPush(t *testing.T) {
	const config = "otelcol-dynamo-loki-push.yaml"
	if _, err := os.Stat(configPath(t, config)); err != nil {
		t.Skip("MISSING COMPONENT: configs/" + config + " (the loki exporter, issue 5) does not exist")
	}
	missing := processorMissing(t, config)
	exp := expectations{processor: missing == ""}

	s := startStores(t)
	gw := startGateway(t, "gateway", config, s, "LOKI_PUSH_ENDPOINT="+s.vlogs.LokiPushURL())
	m := generate(t, telemetrygen.Config{
		Generator: telemetrygen.Options{SystemShare: 0.1, FailureShare: 0.1, LogsPerRequest: 4},
		OTLP:      telemetrygen.SenderOptions{Endpoint: gw.grpc, Insecure: true},
		Requests:  scaled(150), Rate: 300,
		RootDelay: 500 * time.Millisecond,
	})
	checkTraces(t, s.jaeger, m, exp)
	checkLogs(t, s.vlogs, m, exp)
	checkNothingLate(t, s, m, exp)

	// Stream labels: service_name (from service.name) and level.
	entries, err := s.vlogs.Query("*")
	require.NoError(t, err)
	byService := map[string]int{}
	for _, e := range entries {
		svc, _ := e["service_name"].(string)
		byService[svc]++
		assert.Contains(t, []any{"info", "error", "INFO", "ERROR"}, e["level"], "level label of %v", e)
	}
	assert.Equal(t, m.Totals.OTLPLogsByService, byService, "records per service_name label")
	t.Logf("checked the service_name and level labels of %d records", len(entries))

	if missing != "" {
		t.Skip(missing + " (counts, searches and labels above were checked)")
	}
}
