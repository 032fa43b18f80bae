package bench

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// SynthOptions shape a synthetic workload for the scaling benchmarks: every
// trace is one request of Dynamo's old version (only the root http-request
// span carries x_request_id; every other span must get it by propagation).
type SynthOptions struct {
	Traces        int
	SpansPerTrace int // root included
	// ExtraAttributes adds this many string attributes to every span.
	ExtraAttributes int
	// SpansPerBatch is the batch size (about; whole traces per batch).
	SpansPerBatch int
	// RootsLate puts each batch's roots in the next batch; NoRoots leaves
	// them out altogether (every trace stays unknown: held).
	RootsLate bool
	NoRoots   bool
}

// NewSynthWorkload builds the batches.
func NewSynthWorkload(o SynthOptions) *Workload {
	w := &Workload{}
	perBatch := max(1, o.SpansPerBatch/o.SpansPerTrace)
	var lateRoots []int
	var td ptrace.Traces
	var children, roots ptrace.SpanSlice
	newBatch := func() {
		td = ptrace.NewTraces()
		children = resourceSpans(td, "prefill")
		roots = resourceSpans(td, "frontend")
	}
	flush := func() {
		w.Traces = append(w.Traces, td)
		w.Spans += td.SpanCount()
	}
	newBatch()
	var pending []int
	for t := range o.Traces {
		tid := synthTraceID(t)
		root := synthSpanID(t, 0)
		for s := 1; s < o.SpansPerTrace; s++ {
			sp := children.AppendEmpty()
			sp.SetTraceID(tid)
			sp.SetSpanID(synthSpanID(t, s))
			sp.SetParentSpanID(root)
			sp.SetName("handle_payload")
			a := sp.Attributes()
			a.PutStr("component", "prefill")
			a.PutStr("endpoint", "generate")
			a.PutStr("namespace", "dynamo")
			a.PutStr("instance_id", "2221573453717914121")
			extraAttrs(a, o.ExtraAttributes)
		}
		switch {
		case o.NoRoots:
		case o.RootsLate:
			pending = append(pending, t)
		default:
			addRoot(roots, t, o.ExtraAttributes)
		}
		if (t+1)%perBatch == 0 || t == o.Traces-1 {
			for _, r := range lateRoots {
				addRoot(roots, r, o.ExtraAttributes)
			}
			lateRoots, pending = pending, nil
			flush()
			newBatch()
		}
	}
	if len(lateRoots) > 0 {
		for _, r := range lateRoots {
			addRoot(roots, r, o.ExtraAttributes)
		}
		flush()
	}
	return w
}

func resourceSpans(td ptrace.Traces, service string) ptrace.SpanSlice {
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("dynamo")
	return ss.Spans()
}

func addRoot(roots ptrace.SpanSlice, t, extra int) {
	sp := roots.AppendEmpty()
	sp.SetTraceID(synthTraceID(t))
	sp.SetSpanID(synthSpanID(t, 0))
	sp.SetName("http-request")
	a := sp.Attributes()
	a.PutStr("method", "POST")
	a.PutStr("uri", "/v1/chat/completions")
	a.PutStr("version", "HTTP/1.1")
	a.PutStr("x_request_id", "req-"+strconv.Itoa(t))
	a.PutStr("input_tokens", "9")
	a.PutStr("output_tokens", "50")
	a.PutStr("ttft_ms", "5.85")
	extraAttrs(a, extra)
}

func extraAttrs(a pcommon.Map, n int) {
	for i := range n {
		a.PutStr(fmt.Sprintf("extra.attribute_%03d", i), "value of a user attribute")
	}
}

func synthTraceID(t int) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], uint64(t)+1)
	binary.BigEndian.PutUint64(id[8:], 0x9e3779b97f4a7c15)
	return id
}

func synthSpanID(t, s int) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint32(id[:4], uint32(t)+1)
	binary.BigEndian.PutUint32(id[4:], uint32(s)+1)
	return id
}
