// Package lokipush turns OpenTelemetry log records into Loki push requests.
//
// An Encoder groups the records of a plog.Logs by tenant and by stream (the
// set of label values), builds one entry per record with its line and
// structured metadata, and sorts the entries of every stream by timestamp.
// AppendProtobuf and AppendJSON then write a group of streams in the two
// encodings Loki's push API accepts: protobuf compressed with snappy's block
// format, or JSON.
//
// Label names are fixed when the Encoder is built, so the per-record work is a
// few attribute look-ups, one hash of the label values and one map look-up;
// the label string of a stream is built once, when the stream is first seen.
package lokipush
