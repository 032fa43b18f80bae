// Package bench measures this distribution's components side by side with
// the stock components a user would otherwise configure for the same work:
// the dynamo processor against a transform (OTTL) configuration, the jsonl
// receiver against file_log with json, time, severity and trace parsing,
// and the whole OTLP pipeline with and without the dynamo processor.
//
// The benchmarks live in this package's tests (make bench runs them all in
// one run and prints a table, see BENCHMARKS.md); the package itself holds
// the harness they share: CPU-time and memory readings from the OS, a small
// OTLP gRPC sink that counts what arrives, and the Dynamo-shaped workloads.
package bench // import "github.com/otelcol-dynamo/otelcol-dynamo/test/bench"
