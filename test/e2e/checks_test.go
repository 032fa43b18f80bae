//go:build e2e

package e2e

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testbackend"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// expectations say which assertions apply to a run.
type expectations struct {
	// processor is true when the gateways run the dynamo processor: then every
	// span and log record of a request carries its x_request_id, and system
	// endpoints no longer answer a search for http-request.
	processor bool
	// jsonl is true when the run's JSONL lines are expected in the log store
	// (an agent with the jsonl receiver tails them).
	jsonl bool
}

// problems collects what is wrong, to report it all at once, naming requests.
type problems struct {
	lines []string
}

func (p *problems) add(format string, args ...any) {
	p.lines = append(p.lines, fmt.Sprintf(format, args...))
}

func (p *problems) report(t *testing.T, what string) {
	t.Helper()
	if len(p.lines) == 0 {
		return
	}
	shown := p.lines
	if len(shown) > 40 {
		shown = append(slices.Clone(shown[:40]), fmt.Sprintf("... and %d more", len(p.lines)-40))
	}
	t.Errorf("%s: %d problems:\n  %s", what, len(p.lines), strings.Join(shown, "\n  "))
}

func describe(rec *telemetrygen.RequestRecord) string {
	if rec.System {
		return fmt.Sprintf("system request #%d (%s, trace %s)", rec.Seq, rec.Version, rec.TraceID)
	}
	return fmt.Sprintf("request %s (%s/%s, trace %s)", rec.XRequestID, rec.Version, rec.Topology, rec.TraceID)
}

func sent(m *telemetrygen.Manifest) []*telemetrygen.RequestRecord {
	var out []*telemetrygen.RequestRecord
	for i := range m.Requests {
		if !m.Requests[i].Unsent {
			out = append(out, &m.Requests[i])
		}
	}
	return out
}

func rootServices(m *telemetrygen.Manifest) []string {
	set := map[string]bool{}
	for _, rec := range sent(m) {
		set[rec.RootService] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// allTraces returns every trace in Jaeger that has a span of one of the
// manifest's root services, by trace id.
func allTraces(j *testbackend.Jaeger, m *telemetrygen.Manifest) (map[string]*testbackend.JaegerTrace, int, error) {
	out := map[string]*testbackend.JaegerTrace{}
	spans := 0
	for _, svc := range rootServices(m) {
		ts, err := j.FindTraces(testbackend.TraceQuery{Service: svc, Start: m.Started.Add(-time.Hour), End: time.Now().Add(time.Hour)})
		if err != nil {
			return nil, 0, err
		}
		for i := range ts {
			if _, seen := out[ts[i].TraceID]; !seen {
				out[ts[i].TraceID] = &ts[i]
				spans += len(ts[i].Spans)
			}
		}
	}
	return out, spans, nil
}

// checkTraces checks Jaeger against the manifest: every request's trace is
// there whole (span count per service, no duplicate span), no other trace is;
// the searches the Dynamo tracing guide tells users to run find what they
// should; and, with the processor, every span carries its request's
// x_request_id.
func checkTraces(t *testing.T, j *testbackend.Jaeger, m *telemetrygen.Manifest, exp expectations) {
	t.Helper()
	recs := sent(m)
	done := phase(t, "traces: wait until all spans arrived")
	var traces map[string]*testbackend.JaegerTrace
	testutil.Eventually(t, arrivalTimeout, 500*time.Millisecond, func() error {
		var spans int
		var err error
		traces, spans, err = allTraces(j, m)
		if err != nil {
			return err
		}
		if spans < m.Totals.Spans {
			return fmt.Errorf("%d of %d spans (%d of %d traces) in Jaeger", spans, m.Totals.Spans, len(traces), len(recs))
		}
		return nil
	})
	done()

	done = phase(t, "traces: check every request")
	var p problems
	byTrace := map[string]*telemetrygen.RequestRecord{}
	for _, rec := range recs {
		byTrace[rec.TraceID] = rec
	}
	for id, tr := range traces {
		if byTrace[id] == nil {
			p.add("trace %s (%d spans, root service %s) is not in the manifest", id, len(tr.Spans), tr.Service(&tr.Spans[0]))
		}
	}
	withX := 0
	for _, rec := range recs {
		tr := traces[rec.TraceID]
		if rec.Unsampled {
			// Its spans were never exported.
			if tr != nil {
				p.add("%s (not sampled): %d spans in Jaeger", describe(rec), len(tr.Spans))
			}
			continue
		}
		if tr == nil {
			p.add("%s: trace missing from Jaeger", describe(rec))
			continue
		}
		ids := map[string]int{}
		byService := map[string]int{}
		for i := range tr.Spans {
			ids[tr.Spans[i].SpanID]++
			byService[tr.Service(&tr.Spans[i])]++
		}
		for id, n := range ids {
			if n > 1 {
				p.add("%s: span %s stored %d times", describe(rec), id, n)
			}
		}
		for i := range tr.Spans {
			if v, ok := tr.Spans[i].Tag("routing.trace_id"); ok {
				p.add("%s: span %s kept the agent's routing attribute routing.trace_id=%v", describe(rec), tr.Spans[i].OperationName, v)
			}
		}
		if len(tr.Spans) != rec.Spans || !maps.Equal(byService, rec.SpansByService) {
			p.add("%s: %d spans in Jaeger %v, sent %d %v", describe(rec), len(tr.Spans), byService, rec.Spans, rec.SpansByService)
		}
		if !exp.processor || rec.System {
			continue
		}
		var lacking []string
		for i := range tr.Spans {
			s := &tr.Spans[i]
			if v, ok := s.Tag("x_request_id"); !ok || v != rec.XRequestID {
				lacking = append(lacking, fmt.Sprintf("%s@%s (x_request_id=%v)", s.OperationName, tr.Service(s), v))
			} else {
				withX++
			}
		}
		if len(lacking) > 0 {
			p.add("%s: %d of %d spans lack x_request_id=%s: %s", describe(rec), len(lacking), len(tr.Spans), rec.XRequestID, strings.Join(lacking, ", "))
		}
		// Dynamo's own id, x_dynamo_request_id in the mid version, is
		// request_id on the root in every version that has one.
		if rec.RequestID != "" {
			for i := range tr.Spans {
				s := &tr.Spans[i]
				if len(s.References) > 0 {
					continue
				}
				if v, _ := s.Tag("request_id"); v != rec.RequestID {
					p.add("%s: root span has request_id=%v, want Dynamo's id %s", describe(rec), v, rec.RequestID)
				}
			}
		}
	}
	p.report(t, "traces in Jaeger")
	done()
	t.Logf("checked %d traces, %d spans in Jaeger against the manifest: none missing, none extra, none duplicated (%d requests not sampled, none of their traces there)",
		len(recs)-m.Totals.UnsampledRequests, m.Totals.Spans, m.Totals.UnsampledRequests)
	if exp.processor {
		t.Logf("checked x_request_id on all %d spans of the %d inference requests", withX, len(recs)-m.Totals.SystemRequests)
	}

	checkTraceSearches(t, j, m, exp)
}

// checkTraceSearches runs the searches of Dynamo's tracing guide: by service
// name, by span name, and by tag x_request_id.
func checkTraceSearches(t *testing.T, j *testbackend.Jaeger, m *telemetrygen.Manifest, exp expectations) {
	t.Helper()
	defer phase(t, "traces: searches by name and tag")()
	recs := sent(m)
	var p problems
	window := func(q testbackend.TraceQuery) testbackend.TraceQuery {
		q.Start, q.End = m.Started.Add(-time.Hour), time.Now().Add(time.Hour)
		return q
	}

	// By span name: http-request on the frontend finds every inference request
	// (with the processor, system endpoints go by another name).
	wantRoots := map[string]int{}
	workerPayloads := map[string]int{}
	for _, rec := range recs {
		if rec.Unsampled {
			continue
		}
		if !rec.System || !exp.processor {
			wantRoots[rec.RootService]++
		}
		for svc := range rec.SpansByService {
			if svc != rec.RootService {
				workerPayloads[svc]++
			}
		}
	}
	for svc, want := range wantRoots {
		ts, err := j.FindTraces(window(testbackend.TraceQuery{Service: svc, Operation: "http-request"}))
		require.NoError(t, err)
		if len(ts) != want {
			p.add("service=%s operation=http-request: %d traces, want %d", svc, len(ts), want)
		}
	}
	for svc, want := range workerPayloads {
		ts, err := j.FindTraces(window(testbackend.TraceQuery{Service: svc, Operation: "handle_payload"}))
		require.NoError(t, err)
		if len(ts) != want {
			p.add("service=%s operation=handle_payload: %d traces, want %d", svc, len(ts), want)
		}
	}

	// By tag: x_request_id=<id> finds the request's trace, from the frontend
	// and from every worker's handle_payload. The old version's workers carry
	// no x_request_id of their own: only the processor makes them findable.
	searches := 0
	for _, rec := range recs {
		if rec.System || rec.Unsampled {
			continue
		}
		tags := map[string]string{"x_request_id": rec.XRequestID}
		var queries []testbackend.TraceQuery
		// A root that spelled the id otherwise (x-request-id, ...) answers
		// to x_request_id only once the processor has unified it.
		if exp.processor || rec.XRequestIDKey == "" {
			queries = append(queries, testbackend.TraceQuery{Service: rec.RootService, Operation: "http-request", Tags: tags})
		}
		if exp.processor || rec.Version != telemetrygen.VersionOld {
			for svc := range rec.SpansByService {
				if svc != rec.RootService {
					queries = append(queries, testbackend.TraceQuery{Service: svc, Operation: "handle_payload", Tags: tags})
				}
			}
		}
		for _, q := range queries {
			ts, err := j.FindTraces(window(q))
			require.NoError(t, err)
			searches++
			if len(ts) != 1 || ts[0].TraceID != rec.TraceID {
				var got []string
				for i := range ts {
					got = append(got, ts[i].TraceID)
				}
				p.add("%s: search service=%s operation=%s x_request_id=%s found traces %v", describe(rec), q.Service, q.Operation, rec.XRequestID, got)
			}
		}
	}
	p.report(t, "trace searches")
	t.Logf("ran %d searches by span name and %d by tag x_request_id (frontend http-request and worker handle_payload)",
		len(wantRoots)+len(workerPayloads), searches)
}

// checkLogs checks VictoriaLogs against the manifest: every OTLP log record
// (and JSONL line, when expected) of every request is stored once, with its
// trace id and, with the processor, its request's x_request_id, and a LogsQL
// filter on x_request_id finds exactly the request's records.
func checkLogs(t *testing.T, vl *testbackend.VictoriaLogs, m *telemetrygen.Manifest, exp expectations) {
	t.Helper()
	recs := sent(m)
	want := m.Totals.OTLPLogs
	if exp.jsonl {
		want += m.Totals.JSONLLines + m.Totals.JSONLNoiseLines
	}
	if want == 0 {
		t.Log("no log records to check")
		return
	}
	done := phase(t, "logs: wait until all records arrived")
	entries := vl.WaitForCount(t, "*", want, arrivalTimeout)
	done()

	done = phase(t, "logs: check every record")
	var p problems
	byTrace := map[string]*telemetrygen.RequestRecord{}
	for _, rec := range recs {
		byTrace[rec.TraceID] = rec
	}
	got := map[string]int{}
	withX, noise, unsampled := 0, 0, 0
	// Every record happened during the run: a time read in the wrong zone
	// (JSONL with an offset) would be hours off.
	from, to := m.Started.Add(-time.Minute), m.Finished.Add(time.Minute)
	for _, e := range entries {
		ts, err := time.Parse(time.RFC3339Nano, fmt.Sprint(e["_time"]))
		if err != nil || ts.Before(from) || ts.After(to) {
			p.add("log record %q (service %v, trace %v) has time %v, outside the run (%s to %s)",
				e["_msg"], e["service.name"], e["trace_id"], e["_time"], from.Format(time.RFC3339), to.Format(time.RFC3339))
		}
		if v, ok := e["routing.trace_id"]; ok {
			p.add("log record %q (service %v) kept the agent's routing attribute routing.trace_id=%v", e["_msg"], e["service.name"], v)
		}
		tid, _ := e["trace_id"].(string)
		rec := byTrace[tid]
		if tid == "" && exp.jsonl {
			// Python lines and vLLM's text: no trace context, no request.
			noise++
			continue
		}
		if rec == nil {
			p.add("log record %q (service %v) has trace_id %q, which is no request of the manifest", e["_msg"], e["service.name"], tid)
			continue
		}
		got[tid]++
		if !exp.processor {
			continue
		}
		x, _ := e["x_request_id"].(string)
		if rec.Unsampled {
			// No root span comes to learn the id from: only what the
			// collector learnt from the request's own records can be
			// added. Some records may go without an id, none with a
			// wrong one.
			unsampled++
			if x != "" && x != rec.XRequestID {
				p.add("%s (not sampled): log record %q (service %v) has x_request_id %q", describe(rec), e["_msg"], e["service.name"], x)
			}
			continue
		}
		if x != rec.XRequestID {
			p.add("%s: log record %q (service %v, span %v) has x_request_id %q", describe(rec), e["_msg"], e["service.name"], e["span_id"], x)
		} else {
			withX++
		}
	}
	for _, rec := range recs {
		w := rec.OTLPLogs
		if exp.jsonl {
			w += rec.JSONLLines
		}
		if got[rec.TraceID] != w {
			p.add("%s: %d log records in VictoriaLogs, sent %d (%d OTLP, %d JSONL)", describe(rec), got[rec.TraceID], w, rec.OTLPLogs, rec.JSONLLines)
		}
	}
	if exp.jsonl && noise != m.Totals.JSONLNoiseLines {
		p.add("%d records without a trace id, sent %d lines without trace context (Python lines, vLLM text)", noise, m.Totals.JSONLNoiseLines)
	}
	p.report(t, "log records in VictoriaLogs")
	done()
	t.Logf("checked %d log records in VictoriaLogs against the manifest (%d OTLP, %d JSONL of requests, %d JSONL without trace context): none missing, none extra, none duplicated",
		len(entries), m.Totals.OTLPLogs, want-m.Totals.OTLPLogs-noise, noise)
	if !exp.processor {
		return
	}
	t.Logf("checked x_request_id and trace_id on all %d log records of sampled requests, and that none of the %d of requests not sampled has another request's id", withX, unsampled)

	done = phase(t, "logs: LogsQL by x_request_id")
	queried := 0
	for _, rec := range recs {
		w := rec.OTLPLogs
		if exp.jsonl {
			w += rec.JSONLLines
		}
		if rec.System || rec.Unsampled || w == 0 {
			continue
		}
		q := "x_request_id:=" + strconv.Quote(rec.XRequestID)
		res, err := vl.Query(q)
		require.NoError(t, err)
		queried++
		if len(res) != w {
			p.add("%s: LogsQL %s found %d records, want %d", describe(rec), q, len(res), w)
		}
	}
	p.report(t, "LogsQL searches")
	done()
	t.Logf("ran %d LogsQL searches by x_request_id", queried)
}

// checkNothingLate re-counts both stores at the end, so duplicates that
// arrived after the checks are still caught.
func checkNothingLate(t *testing.T, s stores, m *telemetrygen.Manifest, exp expectations) {
	t.Helper()
	_, spans, err := allTraces(s.jaeger, m)
	require.NoError(t, err)
	assert.Equal(t, m.Totals.Spans, spans, "spans in Jaeger at the end")
	want := m.Totals.OTLPLogs
	if exp.jsonl {
		want += m.Totals.JSONLLines + m.Totals.JSONLNoiseLines
	}
	entries, err := s.vlogs.Query("*")
	require.NoError(t, err)
	assert.Len(t, entries, want, "log records in VictoriaLogs at the end")
}

// unsampledItems counts the log records of the inference requests that were
// not sampled (their JSONL lines too, with jsonl).
func unsampledItems(m *telemetrygen.Manifest, jsonl bool) int {
	n := 0
	for _, rec := range sent(m) {
		if rec.Unsampled && !rec.System {
			n += rec.OTLPLogs
			if jsonl {
				n += rec.JSONLLines
			}
		}
	}
	return n
}

// checkUnsampledPassed checks that the collectors' dynamo processors passed
// on records of traces that are not sampled rather than holding them for a
// root that never comes: otelcol_processor_dynamo_unsampled_items, summed
// over the collectors, is positive and at most the items of such requests
// (records that carry their own x_request_id, or come before their source
// is known to set the sampled flag, are not counted).
func checkUnsampledPassed(t *testing.T, items int, cols ...*collector) {
	t.Helper()
	if items == 0 {
		t.Log("no log records of requests that were not sampled")
		return
	}
	n := 0.0
	for _, c := range cols {
		n += c.metric(t, "otelcol_processor_dynamo_unsampled_items")
	}
	assert.Positive(t, n, "otelcol_processor_dynamo_unsampled_items")
	assert.LessOrEqual(t, n, float64(items), "otelcol_processor_dynamo_unsampled_items against the items of requests not sampled")
	t.Logf("%v of the %d log records of requests that were not sampled passed on without waiting", n, items)
}
