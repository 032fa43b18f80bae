package lokipush

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// benchLogs is a gateway-sized batch (8192 records, the gateway's
// send_batch_size) from 8 Dynamo processes, each record with a request id,
// trace context and a few span fields, at mixed severities.
func benchLogs() plog.Logs {
	const resources, perResource = 8, 1024
	services := []string{"dynamo-frontend", "dynamo-worker-prefill", "dynamo-worker-decode", "dynamo-worker-vllm"}
	severities := []plog.SeverityNumber{plog.SeverityNumberInfo, plog.SeverityNumberInfo, plog.SeverityNumberDebug, plog.SeverityNumberWarn, plog.SeverityNumberError}
	ld := plog.NewLogs()
	base := time.Date(2026, 7, 30, 18, 4, 11, 0, time.UTC)
	for r := 0; r < resources; r++ {
		rl := ld.ResourceLogs().AppendEmpty()
		attrs := rl.Resource().Attributes()
		attrs.PutStr("service.name", services[r%len(services)])
		attrs.PutStr("dynamo.component", "worker")
		attrs.PutStr("k8s.namespace.name", "dynamo")
		attrs.PutStr("k8s.pod.name", fmt.Sprintf("pod-%d", r))
		lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
		for i := 0; i < perResource; i++ {
			lr := lrs.AppendEmpty()
			// Mostly in order, with some records out of order.
			lr.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i^3) * time.Millisecond)))
			lr.SetSeverityNumber(severities[i%len(severities)])
			lr.Body().SetStr("request received: POST /v1/chat/completions model=Qwen/Qwen3-0.6B stream=true")
			lr.Attributes().PutStr("x_request_id", fmt.Sprintf("req-%d-%d", r, i/4))
			lr.Attributes().PutStr("request_id", "6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44")
			lr.Attributes().PutStr("span_name", "http-request")
			lr.Attributes().PutStr("input_tokens", "9")
			lr.SetTraceID(pcommon.TraceID{byte(r), byte(i), 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
			lr.SetSpanID(pcommon.SpanID{byte(i), 2, 3, 4, 5, 6, 7, 8})
		}
	}
	return ld
}

var benchLabels = []Label{
	{Name: "service_name", Source: FromResource, Attribute: "service.name"},
	{Name: "dynamo_component", Source: FromResource, Attribute: "dynamo.component"},
	{Name: "dynamo_role", Source: FromResource, Attribute: "dynamo.role"},
	{Name: "k8s_namespace_name", Source: FromResource, Attribute: "k8s.namespace.name"},
	{Name: "deployment_environment", Source: FromResource, Attribute: "deployment.environment"},
	{Name: "level", Source: FromSeverity},
}

func benchEncoder(b *testing.B, format LineFormat) *Encoder {
	e, err := NewEncoder(Options{
		Labels:             benchLabels,
		StructuredMetadata: defaultMetadata,
		LineFormat:         format,
		LineAttributes:     []Field{{Attribute: "x_request_id", Name: "x_request_id"}, {Attribute: "input_tokens", Name: "input_tokens"}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkGroup groups a batch into streams and entries (text lines).
func BenchmarkGroup(b *testing.B) {
	ld := benchLogs()
	e := benchEncoder(b, LineText)
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res := e.Group(ld, now)
		if res.Batches[0].Entries != 8192 {
			b.Fatal(res.Batches[0].Entries)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ld.LogRecordCount()), "ns/record")
}

// BenchmarkGroupNaiveBaseline groups the same batch the straightforward way:
// a label map per record, rendered to a sorted label string that keys a map
// of streams. It is the yardstick for BenchmarkGroup.
func BenchmarkGroupNaiveBaseline(b *testing.B) {
	ld := benchLogs()
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		streams := map[string]*push.Stream{}
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			rl := rls.At(i)
			lrs := rl.ScopeLogs().At(0).LogRecords()
			for j := 0; j < lrs.Len(); j++ {
				lr := lrs.At(j)
				labels := map[string]string{}
				for _, l := range benchLabels {
					switch l.Source {
					case FromResource:
						if v, ok := rl.Resource().Attributes().Get(l.Attribute); ok {
							labels[l.Name] = v.AsString()
						}
					case FromSeverity:
						labels[l.Name] = SeverityLevel(lr)
					}
				}
				names := make([]string, 0, len(labels))
				for k := range labels {
					names = append(names, k)
				}
				slices.Sort(names)
				var sb strings.Builder
				sb.WriteByte('{')
				for k, n := range names {
					if k > 0 {
						sb.WriteString(", ")
					}
					fmt.Fprintf(&sb, "%s=%q", n, labels[n])
				}
				sb.WriteByte('}')
				key := sb.String()
				s := streams[key]
				if s == nil {
					s = &push.Stream{Labels: key}
					streams[key] = s
				}
				ent := push.Entry{Timestamp: Timestamp(lr, now), Line: lr.Body().AsString()}
				for _, f := range defaultMetadata {
					if v := fieldString(lr, rl.Resource().Attributes(), f.Attribute); v != "" {
						ent.StructuredMetadata = append(ent.StructuredMetadata, push.LabelAdapter{Name: f.Name, Value: v})
					}
				}
				s.Entries = append(s.Entries, ent)
			}
		}
		for _, s := range streams {
			slices.SortStableFunc(s.Entries, func(a, b push.Entry) int { return a.Timestamp.Compare(b.Timestamp) })
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ld.LogRecordCount()), "ns/record")
}

// BenchmarkEncodeProtobuf is grouping plus the snappy-compressed protobuf
// body: the whole per-request cost of the default configuration.
func BenchmarkEncodeProtobuf(b *testing.B) {
	ld := benchLogs()
	e := benchEncoder(b, LineText)
	now := time.Now()
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res := e.Group(ld, now)
		var err error
		buf, err = EncodeProtobuf(buf, res.Batches[0].Streams)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(buf)), "bytes/request")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ld.LogRecordCount()), "ns/record")
}

// BenchmarkEncodeJSON is grouping plus the JSON body, with json lines.
func BenchmarkEncodeJSON(b *testing.B) {
	ld := benchLogs()
	e := benchEncoder(b, LineJSON)
	now := time.Now()
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res := e.Group(ld, now)
		buf = AppendJSON(buf[:0], res.Batches[0].Streams)
	}
	b.ReportMetric(float64(len(buf)), "bytes/request")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ld.LogRecordCount()), "ns/record")
}
