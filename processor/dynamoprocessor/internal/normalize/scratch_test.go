package normalize

import (
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
)

// TestItemsDoNotSeeAnEarlierItemsKeys: the items of a resource share one
// found, whose values are not cleared between items (ResourceState.f). An
// item that lacks some keys of interest must be normalized as if it were
// alone, not with the values an earlier item had under those keys. Each
// case is a resource of two items: the first carries every key a rule reads
// or writes, the second none, one or two of them; the rules and the
// reference (which keeps no values between items) must agree on both.
func TestItemsDoNotSeeAnEarlierItemsKeys(t *testing.T) {
	const (
		s1 = "8372eac7-5f43-4d76-beca-0a94cfb311d0"
		s2 = "a1b2c3d4-0000-4000-8000-000000000001"
	)
	type subset struct{ a, b int } // indexes into refKeys; -1: none
	subsets := []subset{{-1, -1}}
	for a := range refKeys {
		subsets = append(subsets, subset{a, -1})
		for b := a + 1; b < len(refKeys); b++ {
			subsets = append(subsets, subset{a, b})
		}
	}
	// The first item's values: ids everywhere, or values that make each
	// rule act (a system endpoint, a failure, a worker's component, a
	// JSONL trace context, …).
	active := map[string]string{
		"uri": "/health", URLPathKey: "/health", "method": "GET", "version": "HTTP/1.1",
		"component": "prefill", "disagg_role": "decode", "otel.status_code": "error",
		"request.outcome": "failed", "error.type": "timeout", "otel.status_description": "boom",
		dynamo.SpanNameField: "handle_payload", dynamo.TraceIDField: "0af7651916cd43dd8448eb211c80319c",
		dynamo.SpanIDField: "b7ad6b7169203331", "input_tokens": "12", "ttft_ms": "5.5",
	}
	firsts := []func(pcommon.Map){
		func(m pcommon.Map) {
			for _, k := range refKeys {
				m.PutStr(k, s1)
			}
		},
		func(m pcommon.Map) {
			for _, k := range refKeys {
				if v, ok := active[k]; ok {
					m.PutStr(k, v)
				} else {
					m.PutStr(k, s1)
				}
			}
		},
	}
	fillSecond := func(m pcommon.Map, s subset) {
		if s.a >= 0 {
			m.PutStr(refKeys[s.a], s2)
		}
		if s.b >= 0 {
			// A value unlike the first key's: request_id next to a
			// different x_dynamo_request_id is a context id.
			m.PutInt(refKeys[s.b], 7)
		}
	}
	// Defaults, aliases kept, user aliases, and the user aliases that
	// collide with keys the rules read.
	for _, cfg := range []uint16{0, 1, 0x1000, 0x4000, 0x4001, 0x6000, 0x7000} {
		s := refSettings(cfg)
		n, r := New(s), newRef(s)
		for fi, fillFirst := range firsts {
			for _, sub := range subsets {
				name := fmt.Sprintf("cfg %#x, first item %d, second item %v", cfg, fi, sub)

				td := ptrace.NewTraces()
				rs := td.ResourceSpans().AppendEmpty()
				rs.Resource().Attributes().PutStr("service.name", "dynamo-frontend")
				spans := rs.ScopeSpans().AppendEmpty().Spans()
				for k := range 2 {
					span := spans.AppendEmpty()
					span.SetName("http-request")
					span.SetTraceID(pcommon.TraceID{1})
					span.SetSpanID(pcommon.SpanID{byte(k + 1)})
					if k == 0 {
						fillFirst(span.Attributes())
					} else {
						fillSecond(span.Attributes(), sub)
					}
				}
				var st, rst Stats
				matchSpans(t, name+": ", n, r, td, &st, &rst)

				ld := plog.NewLogs()
				rl := ld.ResourceLogs().AppendEmpty()
				rl.Resource().Attributes().PutStr("service.name", "dynamo")
				recs := rl.ScopeLogs().AppendEmpty().LogRecords()
				for k := range 2 {
					lr := recs.AppendEmpty()
					if k == 0 {
						fillFirst(lr.Attributes())
					} else {
						fillSecond(lr.Attributes(), sub)
					}
				}
				matchLogs(t, name+": ", n, r, ld, 1, &st, &rst)
			}
		}
	}
}
