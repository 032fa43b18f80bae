// Package telemetrygen generates telemetry shaped exactly like NVIDIA Dynamo's:
// the spans of aggregated and disaggregated inference requests, the OTLP log
// records emitted during them, and the JSONL lines Dynamo writes to stderr, in
// the spellings of Dynamo's old, mid and new versions (see
// ../shared/docs/dynamo-telemetry.md in the project's shared documents).
//
// The package is the library behind cmd/dynamo-telemetrygen, and tests call it
// in-process: [NewGenerator] builds requests, [Run] sends them over OTLP
// (gRPC or HTTP, with the collector's own pdata and OTLP clients), writes their
// JSONL lines to files (raw, CRI- or Docker-wrapped, with rotation) and returns
// a [Manifest] of exactly what was sent, so that a test can check that
// everything arrived and nothing extra did.
package telemetrygen // import "github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
