// Package dynamoprocessor implements the dynamo processor, which makes the
// traces and logs of an NVIDIA Dynamo fleet answer "show me everything about
// request X": one canonical x_request_id on every span and log record of a
// request (carried across the trace, between the traces and logs pipelines),
// Dynamo's own request id unified across versions, span names consistent and
// bounded, HTTP semantics and span status on the frontend's spans, numeric
// fields as numbers, and dynamo.component / dynamo.role on every resource.
package dynamoprocessor // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"
