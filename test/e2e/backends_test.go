//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
)

// TestBackends checks the stores themselves, with no collector in between:
// Jaeger (as configured by internal/testbackend) takes OTLP spans and answers
// searches by service, span name and tag; VictoriaLogs takes OTLP logs and
// answers LogsQL. The other tests rely on both.
func TestBackends(t *testing.T) {
	s := startStores(t)
	// Only the new version: its spans all carry x_request_id natively.
	gen := telemetrygen.Options{Versions: []telemetrygen.Version{telemetrygen.VersionNew}, LogsPerRequest: 2, SystemShare: 0.1}

	spansOnly := gen
	spansOnly.LogsPerRequest = 0 // Jaeger takes no logs
	traces := generate(t, telemetrygen.Config{
		Generator: spansOnly, OTLP: telemetrygen.SenderOptions{Endpoint: s.jaeger.OTLPGRPC, Insecure: true}, Requests: 40,
	})
	exp := expectations{}
	checkTraces(t, s.jaeger, traces, exp)

	services, err := s.jaeger.Services()
	require.NoError(t, err)
	for svc := range traces.Totals.SpansByService {
		require.Contains(t, services, svc)
	}

	// VictoriaLogs takes no spans: send log records alone, over OTLP/HTTP.
	g := telemetrygen.NewGenerator(gen)
	lb := telemetrygen.NewLogsBuilder()
	for range 40 {
		lb.Add(g.Next(time.Now()))
	}
	sender, err := telemetrygen.NewSender(telemetrygen.SenderOptions{Endpoint: s.vlogs.OTLPLogsEndpoint(), HTTP: true})
	require.NoError(t, err)
	defer sender.Close()
	require.NoError(t, sender.SendLogs(context.Background(), lb.Logs()))
	entries := s.vlogs.WaitForCount(t, "*", lb.Len(), 30*time.Second)
	require.NotEmpty(t, entries)
	for _, e := range entries {
		require.Regexp(t, `^[0-9a-f]{32}$`, e["trace_id"])
		require.Regexp(t, `^[0-9a-f]{16}$`, e["span_id"])
		require.NotEmpty(t, e["service.name"], "resource attributes keep their dotted names")
	}
	t.Logf("VictoriaLogs stored all %d OTLP log records with trace and span ids", len(entries))
}
