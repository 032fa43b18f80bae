package dynamoprocessor // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/normalize"
	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/propagate"
)

type tracesProcessor struct {
	*base
	next consumer.Traces
}

func newTracesProcessor(set processor.Settings, cfg *Config, next consumer.Traces) (processor.Traces, error) {
	b, err := newBase(set, cfg, "traces")
	if err != nil {
		return nil, err
	}
	p := &tracesProcessor{base: b, next: next}
	b.marshal = func(data any) ([]byte, error) {
		if part, ok := data.(*heldPart); ok {
			return marshalTracesPart(part)
		}
		return (&ptrace.ProtoMarshaler{}).MarshalTraces(data.(ptrace.Traces))
	}
	b.unmarshal = func(buf []byte) (any, int, error) {
		td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(buf)
		if err != nil {
			return nil, 0, err
		}
		return td, td.SpanCount(), nil
	}
	return processorhelper.NewTraces(context.Background(), set, cfg, next, p.process,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}),
		processorhelper.WithStart(b.start(p.deliver)),
		processorhelper.WithShutdown(b.shutdown),
	)
}

// process normalizes every span, then learns the batch's request ids, then
// annotates the spans of traces whose id is known and holds those whose id is
// not yet known.
func (p *tracesProcessor) process(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	sc := p.scratch.Get().(*batchScratch)
	defer p.scratch.Put(sc)
	sc.reset()

	var st normalize.Stats
	norm := p.sh.norm
	// Without propagation nothing reads what the first pass notes for it.
	prop := p.sh.store != nil
	lookups := 0
	removed := false
	// One state for every resource, reset by BeginResource.
	var state normalize.ResourceState
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		norm.BeginResource(&state, rs.Resource())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			sss.At(j).Spans().RemoveIf(func(span ptrace.Span) bool {
				r := norm.Span(&state, span, &st)
				if !prop {
					removed = removed || r.Drop
					return r.Drop
				}
				tid := span.TraceID()
				if !tid.IsEmpty() {
					switch {
					case r.XRequestID != "":
						sc.addLearned(learned{tid: tid, xrid: r.XRequestID})
					case span.ParentSpanID().IsEmpty():
						sc.addLearned(learned{tid: tid, none: true})
					}
				}
				if r.Drop {
					removed = true
					return true
				}
				var f uint8
				if r.Changed {
					f |= flagChanged
				}
				if r.XRequestID == "" && !tid.IsEmpty() {
					f |= flagLookup
					lookups++
					sc.addLookup(tid)
				}
				sc.flags = append(sc.flags, f)
				return false
			})
		}
		norm.EndResource(&state, rs.Resource())
	}

	if prop && (len(sc.learn) > 0 || lookups > 0) {
		if p.propagate(ctx, td, sc, lookups, &st) {
			removed = true
		}
	}
	p.sh.record(ctx, &st, p.sigOpt)
	if removed {
		removeEmptyTraces(td)
		if td.ResourceSpans().Len() == 0 {
			return td, processorhelper.ErrSkipProcessingData
		}
	}
	return td, nil
}

func (p *tracesProcessor) propagate(ctx context.Context, td ptrace.Traces, sc *batchScratch, lookups int, st *normalize.Stats) (moved bool) {
	var propagated int64
	txn := p.sh.store.Begin()
	txn.Warm(sc.warm, len(sc.learn))
	learnAll(&txn, sc.learn)
	if lookups > 0 {
		cache := &sc.lookups
		cache.begin()
		idx := 0
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					f := sc.flags[idx]
					idx++
					if f&flagLookup == 0 {
						continue
					}
					span := spans.At(k)
					tid := span.TraceID()
					switch xrid, state := cache.lookup(&txn, tid); state {
					case propagate.Known:
						putAbsent(span.Attributes(), xrid)
						propagated++
						if f&flagChanged == 0 {
							st.Changed++
						}
					case propagate.Unknown:
						sc.addHold(tid, i, j, k)
					}
				}
			}
		}
	}
	return p.hold(ctx, &txn, sc, propagated, func(hb *heldBatch) { holdTraces(td, sc, hb) })
}

// holdTraces moves the spans of td whose trace's chunk holds them into hb's
// container. A resource whose spans are all held goes into it as it is;
// others are copied there, with each scope that has spans to hold: a scope
// whose spans are all held gives its spans as they are, others split as
// moveHeld does. When all of the batch's spans are held, its resources go as
// they are.
func holdTraces(td ptrace.Traces, sc *batchScratch, hb *heldBatch) {
	hb.traces = ptrace.NewTraces()
	hrss := hb.traces.ResourceSpans()
	rss := td.ResourceSpans()
	var hrs ptrace.ResourceSpans
	if len(hb.refs) == len(sc.flags) {
		// Every one of the batch's spans is held: its container is held as
		// it is, resources and scopes not copied.
		rss.MoveAndAppendTo(hrss)
		holdWhole(sc, hb, &hb.tscopes, func(rs, ss int32) ptrace.ScopeSpans { return hrss.At(int(rs)).ScopeSpans().At(int(ss)) })
		return
	}
	lastRes := int32(-1)
	wholeRes := false
	for si := range sc.scopes {
		hs := sc.scopes[si]
		if hs.n == 0 {
			continue
		}
		rs := rss.At(int(hs.rs))
		if hs.rs != lastRes {
			lastRes = hs.rs
			hrs = hrss.AppendEmpty()
			wholeRes = sc.resourceHeld(si, func(ss int) int { return rs.ScopeSpans().At(ss).Spans().Len() }, rs.ScopeSpans().Len())
			if wholeRes {
				// The batch keeps an empty resource, removed before it
				// goes on.
				rs.MoveTo(hrs)
			} else {
				rs.Resource().CopyTo(hrs.Resource())
				hrs.SetSchemaUrl(rs.SchemaUrl())
			}
		}
		cs := len(hb.tscopes)
		hb.scopeRes = append(hb.scopeRes, int32(hrss.Len()-1))
		if wholeRes {
			hb.tscopes = append(hb.tscopes, hrs.ScopeSpans().At(int(hs.ss)))
			sc.placeAsIs(si, cs)
			continue
		}
		ss := rs.ScopeSpans().At(int(hs.ss))
		hss := hrs.ScopeSpans().AppendEmpty()
		ss.Scope().CopyTo(hss.Scope())
		hss.SetSchemaUrl(ss.SchemaUrl())
		hb.tscopes = append(hb.tscopes, hss)
		spans := ss.Spans()
		if int(hs.n) == spans.Len() {
			spans.MoveAndAppendTo(hss.Spans())
			sc.placeAsIs(si, cs)
			continue
		}
		w := sc.walk(si)
		if moveHeld(sc, si, cs, spans, hss.Spans()) {
			hss.Spans().RemoveIf(func(ptrace.Span) bool { return w.step() < 0 })
		} else {
			spans.RemoveIf(func(ptrace.Span) bool { return w.step() >= 0 })
		}
	}
}

// deliver sends released chunks downstream as one batch, annotating those
// whose trace's request id was learned.
func (p *tracesProcessor) deliver(ctx context.Context, chunks []*propagate.Chunk) {
	out := ptrace.NewTraces()
	var stored []*storage.Operation
	if p.sh.persist != nil {
		stored = storedKeys(chunks)
	}
	p.gen++
	countParts(chunks, p.gen)
	var outSpans []ptrace.SpanSlice
	var propagated int64
	total := 0
	for _, c := range chunks {
		total += c.Items
		if c.Reason != propagate.ReasonRequestID || c.XRequestID == "" {
			continue
		}
		switch d := c.Data.(type) {
		case ptrace.Traces: // restored from storage
			propagated += annotateTraces(d, c.XRequestID)
		case *heldPart:
			for _, r := range d.refs {
				putAbsent(d.b.tscopes[r.scope].Spans().At(int(r.idx)).Attributes(), c.XRequestID)
			}
			propagated += int64(len(d.refs))
		}
	}
	for _, c := range chunks {
		switch d := c.Data.(type) {
		case ptrace.Traces:
			d.ResourceSpans().MoveAndAppendTo(out.ResourceSpans())
		case *heldPart:
			hb := d.b
			if hb.gone {
				continue
			}
			if whole, taken := hb.whole(); whole {
				if taken {
					for _, sc := range hb.tscopes {
						sc.Spans().RemoveIf(func(s ptrace.Span) bool { return s.TraceID().IsEmpty() })
					}
				}
				// A batch held whole kept the resources and scopes it left
				// empty; those of a batch held in part stayed in the batch,
				// which went on without them.
				removeEmptyTraces(hb.traces)
				hb.traces.ResourceSpans().MoveAndAppendTo(out.ResourceSpans())
				continue
			}
			hrss := hb.traces.ResourceSpans()
			resSlot, scopeSlot := hb.taking(hrss.Len())
			for _, r := range d.refs {
				slot := scopeSlot[r.scope]
				if slot == 0 {
					ri := hb.scopeRes[r.scope]
					if resSlot[ri] == 0 {
						src := hrss.At(int(ri))
						ors := out.ResourceSpans().AppendEmpty()
						src.Resource().CopyTo(ors.Resource())
						ors.SetSchemaUrl(src.SchemaUrl())
						resSlot[ri] = int32(out.ResourceSpans().Len())
					}
					src := hb.tscopes[r.scope]
					oss := out.ResourceSpans().At(int(resSlot[ri] - 1)).ScopeSpans().AppendEmpty()
					src.Scope().CopyTo(oss.Scope())
					oss.SetSchemaUrl(src.SchemaUrl())
					outSpans = append(outSpans, oss.Spans())
					slot = int32(len(outSpans))
					scopeSlot[r.scope] = slot
				}
				hb.tscopes[r.scope].Spans().At(int(r.idx)).MoveTo(outSpans[slot-1].AppendEmpty())
			}
		}
	}
	err := send(ctx, func(ctx context.Context) error { return p.next.ConsumeTraces(ctx, out) })
	p.released(ctx, chunks, propagated, total, err)
	p.deleteStored(ctx, stored)
}

// marshalTracesPart marshals a held part's spans, under their resource and
// scope, as a ptrace.Traces of their own (to persist them). The spans are
// moved there for the time of the marshalling and back; deliveries of the
// part's batch wait for the write.
func marshalTracesPart(part *heldPart) ([]byte, error) {
	hb := part.b
	td := ptrace.NewTraces()
	var rs ptrace.ResourceSpans
	var spans ptrace.SpanSlice
	lastRes, lastScope := int32(-1), int32(-1)
	for _, r := range part.refs {
		if r.scope != lastScope {
			if ri := hb.scopeRes[r.scope]; ri != lastRes {
				src := hb.traces.ResourceSpans().At(int(ri))
				rs = td.ResourceSpans().AppendEmpty()
				src.Resource().CopyTo(rs.Resource())
				rs.SetSchemaUrl(src.SchemaUrl())
				lastRes = ri
			}
			src := hb.tscopes[r.scope]
			ss := rs.ScopeSpans().AppendEmpty()
			src.Scope().CopyTo(ss.Scope())
			ss.SetSchemaUrl(src.SchemaUrl())
			spans = ss.Spans()
			lastScope = r.scope
		}
		hb.tscopes[r.scope].Spans().At(int(r.idx)).MoveTo(spans.AppendEmpty())
	}
	buf, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	i := 0
	rss := td.ResourceSpans()
	for j := 0; j < rss.Len(); j++ {
		sss := rss.At(j).ScopeSpans()
		for k := 0; k < sss.Len(); k++ {
			ss := sss.At(k).Spans()
			for m := 0; m < ss.Len(); m++ {
				r := part.refs[i]
				i++
				ss.At(m).MoveTo(hb.tscopes[r.scope].Spans().At(int(r.idx)))
			}
		}
	}
	return buf, err
}

func annotateTraces(td ptrace.Traces, xrid string) int64 {
	var n int64
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				putAbsent(spans.At(k).Attributes(), xrid)
				n++
			}
		}
	}
	return n
}

func removeEmptyTraces(td ptrace.Traces) {
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool { return ss.Spans().Len() == 0 })
		return rs.ScopeSpans().Len() == 0
	})
}
