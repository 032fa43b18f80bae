// Package lokiexporter sends logs to Loki's push API (/loki/api/v1/push) as
// snappy-compressed protobuf or JSON, with stream labels, structured metadata,
// line format and tenant under the user's control. It is for Loki deployments
// that cannot take OTLP: Loki 2.x, gateways that only expose the push API.
package lokiexporter
