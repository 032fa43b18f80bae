//go:build e2e

package e2e

import (
	"testing"
	"time"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
)

// TestGateway runs bin/otelcol-dynamo on the shipped gateway configuration
// between the generator and the stores, once per version mix: every request
// of every version must be findable whole, by service, span name and tag
// x_request_id, with all its log records; the log records of requests that
// were not sampled must arrive too, passed on without waiting.
func TestGateway(t *testing.T) {
	missing := processorMissing(t, "otelcol-dynamo.yaml")
	exp := expectations{processor: missing == ""}
	for _, tc := range []struct {
		name     string
		versions []telemetrygen.Version
		http     bool
	}{
		{name: "old", versions: []telemetrygen.Version{telemetrygen.VersionOld}},
		{name: "mid", versions: []telemetrygen.Version{telemetrygen.VersionMid}},
		{name: "new", versions: []telemetrygen.Version{telemetrygen.VersionNew}},
		{name: "mix", versions: telemetrygen.Versions},
		{name: "mix-over-http", versions: telemetrygen.Versions, http: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startStores(t)
			gw := startGateway(t, "gateway", "otelcol-dynamo.yaml", s)
			endpoint := gw.grpc
			if tc.http {
				endpoint = "http://" + gw.http
			}
			m := generate(t, telemetrygen.Config{
				Generator: telemetrygen.Options{
					Versions: tc.versions, SystemShare: 0.1, FailureShare: 0.1, LogsPerRequest: 3,
					// Some roots spell the id x-request-id or
					// http.request.header.x-request-id.
					AliasShare: 0.2,
					// A fifth of the requests are not sampled (no spans,
					// log records with the sampled flag clear).
					UnsampledShare: 0.2,
				},
				OTLP:     telemetrygen.SenderOptions{Endpoint: endpoint, HTTP: tc.http, Insecure: true},
				Requests: scaled(150), Rate: 300,
				// Roots close last and reach the collector after their children
				// and logs, as Dynamo's batch exporter sends them.
				RootDelay: 500 * time.Millisecond,
			})
			checkTraces(t, s.jaeger, m, exp)
			checkLogs(t, s.vlogs, m, exp)
			checkNothingLate(t, s, m, exp)
			if exp.processor {
				checkUnsampledPassed(t, unsampledItems(m, false), gw)
			}
			if missing != "" {
				t.Skip(missing + " (counts and searches above were checked)")
			}
		})
	}
}
