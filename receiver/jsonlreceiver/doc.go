// Package jsonlreceiver implements the `jsonl` receiver: it tails the JSONL log
// files NVIDIA Dynamo writes (one JSON object per line, optionally wrapped by a
// container runtime in CRI or Docker json-file format) and turns every line
// into an OpenTelemetry log record, holding reading back while the pipeline
// refuses data and persisting the acknowledged read position after every
// accepted batch.
//
// File discovery, fingerprints, rotation and the per-poll checkpoint come from
// pkg/stanza/fileconsumer; parsing and container-log unwrapping live in
// internal/parser and the per-batch checkpoint in internal/ackstore.
// design.md states the guarantees and their limits.
package jsonlreceiver // import "github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver"
