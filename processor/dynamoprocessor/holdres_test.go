package dynamoprocessor

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// heldLayout is a batch of three resources, each item a (trace, id) pair:
// the first resource's items all wait for their traces' roots (it is held
// as it is), the second's too, over two scopes, and the third has one item
// that passes (trace 3, whose id is known) among two that wait. Traces 1 and
// 2 are released by their roots in two later batches.
var heldLayout = []struct {
	service string
	scopes  [][][2]byte // per scope, per item: trace, id
}{
	{"dynamo-worker-vllm-prefill", [][][2]byte{{{1, 2}, {2, 3}, {1, 4}}}},
	{"dynamo-worker-vllm-decode", [][][2]byte{{{2, 5}}, {{1, 6}, {2, 7}}}},
	{"dynamo-frontend", [][][2]byte{{{3, 8}, {1, 9}, {2, 10}}}},
}

func rootOf(trace byte) spanSpec {
	r := frontendRoot(trace)
	r.attrs = maps.Clone(r.attrs)
	r.attrs["x_request_id"] = fmt.Sprintf("req-%d", trace)
	return r
}

// TestResourcesHeldWholeOrInPart holds spans and log records from resources
// held as they are (the batch keeps nothing of them) and from resources
// whose other items go on, then releases them trace by trace: every item
// comes out once, under its own resource and scope, with its trace's id,
// and the batch that goes on keeps no emptied resource.
func TestResourcesHeldWholeOrInPart(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = time.Minute }, nil, nil)
	ctx := context.Background()
	// Trace 3's id is known before the batch.
	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, rootOf(3))))

	td := ptrace.NewTraces()
	ld := plog.NewLogs()
	for _, r := range heldLayout {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", r.service)
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", r.service)
		for si, scope := range r.scopes {
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(fmt.Sprintf("%s/%d", r.service, si))
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(fmt.Sprintf("%s/%d", r.service, si))
			for _, it := range scope {
				span := ss.Spans().AppendEmpty()
				span.SetName("handle_payload")
				span.SetTraceID(traceID(it[0]))
				span.SetSpanID(spanID(it[1]))
				span.SetParentSpanID(spanID(1))
				lr := sl.LogRecords().AppendEmpty()
				lr.Body().SetStr(fmt.Sprintf("record %d", it[1]))
				lr.SetTraceID(traceID(it[0]))
				lr.SetSpanID(spanID(it[1]))
			}
		}
	}
	require.NoError(t, h.lp.ConsumeLogs(ctx, ld))
	require.NoError(t, h.tp.ConsumeTraces(ctx, td))

	// What went on at once: trace 3's item, alone under its resource.
	// check looks at what each sink got since the last check; the roots
	// (span id 1) are left out.
	seenT, seenL := 1, 0
	check := func(what string, want map[byte]bool) {
		t.Helper()
		got := map[byte]bool{}
		newT, newL := h.ts.AllTraces()[seenT:], h.ls.AllLogs()[seenL:]
		seenT, seenL = len(h.ts.AllTraces()), len(h.ls.AllLogs())
		for _, out := range newT {
			checkTraces(t, what, out, got)
		}
		assert.Equal(t, want, got, "%s: spans", what)
		gotRecs := map[byte]bool{}
		for _, out := range newL {
			checkLogs(t, what, out, gotRecs)
		}
		assert.Equal(t, want, gotRecs, "%s: records", what)
	}
	check("the batch", map[byte]bool{8: true})

	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, rootOf(2))))
	check("trace 2's release", map[byte]bool{3: true, 5: true, 7: true, 10: true})
	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, rootOf(1))))
	check("trace 1's release", map[byte]bool{2: true, 4: true, 6: true, 9: true})
	assert.Equal(t, 1+9+1+1, h.ts.SpanCount())
	assert.Equal(t, 9, h.ls.LogRecordCount())
}

// checkTraces checks the spans of out (roots aside) against heldLayout and
// notes them in got.
func checkTraces(t *testing.T, what string, out ptrace.Traces, got map[byte]bool) {
	t.Helper()
	for i := 0; i < out.ResourceSpans().Len(); i++ {
		rs := out.ResourceSpans().At(i)
		service := attr(rs.Resource().Attributes(), "service.name")
		require.NotZero(t, rs.ScopeSpans().Len(), "%s: an empty resource went on", what)
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			require.NotZero(t, ss.Spans().Len(), "%s: an empty scope went on", what)
			for k := 0; k < ss.Spans().Len(); k++ {
				span := ss.Spans().At(k)
				id := span.SpanID()[7]
				if id == 1 {
					continue
				}
				checkHeldItem(t, what+": span", got, id, service, ss.Scope().Name(), span.TraceID()[15], span.Attributes())
			}
		}
	}
}

// checkLogs checks the records of out against heldLayout and notes them in
// got.
func checkLogs(t *testing.T, what string, out plog.Logs, got map[byte]bool) {
	t.Helper()
	for i := 0; i < out.ResourceLogs().Len(); i++ {
		rl := out.ResourceLogs().At(i)
		service := attr(rl.Resource().Attributes(), "service.name")
		require.NotZero(t, rl.ScopeLogs().Len(), "%s: an empty resource went on", what)
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			require.NotZero(t, sl.LogRecords().Len(), "%s: an empty scope went on", what)
			for k := 0; k < sl.LogRecords().Len(); k++ {
				lr := sl.LogRecords().At(k)
				id := lr.SpanID()[7]
				checkHeldItem(t, what+": record", got, id, service, sl.Scope().Name(), lr.TraceID()[15], lr.Attributes())
				assert.Equal(t, fmt.Sprintf("record %d", id), lr.Body().Str(), "%s: record %d", what, id)
			}
		}
	}
}

// checkHeldItem checks item id (of trace trace), found under the resource of
// service and the scope named scope, against heldLayout, and notes it in
// got: once only, where it was held from, with its trace's id.
func checkHeldItem(t *testing.T, what string, got map[byte]bool, id byte, service any, scope string, trace byte, attrs pcommon.Map) {
	t.Helper()
	assert.False(t, got[id], "%s %d twice", what, id)
	got[id] = true
	wantService, wantScope := where(id)
	assert.Equal(t, wantService, service, "%s %d's resource", what, id)
	assert.Equal(t, wantScope, scope, "%s %d's scope", what, id)
	assert.Equal(t, fmt.Sprintf("req-%d", trace), attr(attrs, "x_request_id"), "%s %d", what, id)
}

// where returns the service and scope name of item id of heldLayout.
func where(id byte) (service, scope string) {
	for _, r := range heldLayout {
		for si, sc := range r.scopes {
			for _, it := range sc {
				if it[1] == id {
					return r.service, fmt.Sprintf("%s/%d", r.service, si)
				}
			}
		}
	}
	return "", ""
}
