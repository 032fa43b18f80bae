// Package e2e holds the end-to-end tests (build tag e2e, run by `make e2e`):
// bin/otelcol-dynamo with the shipped configurations, run as separate
// processes on free loopback ports, between the Dynamo traffic generator
// (internal/telemetrygen) and real trace and log stores (Jaeger v2 and
// VictoriaLogs, see internal/testbackend). Every test checks what the stores
// hold, through their own query APIs, against the generator's manifest:
// nothing lost, nothing duplicated, every span and log record of a request
// findable by its x_request_id.
package e2e
