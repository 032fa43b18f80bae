package dynamoprocessor // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
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
	lookups := 0
	removed := false
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		state := norm.BeginResource(rs.Resource())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			sss.At(j).Spans().RemoveIf(func(span ptrace.Span) bool {
				r := norm.Span(&state, span, &st)
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
				}
				sc.flags = append(sc.flags, f)
				return false
			})
		}
		norm.EndResource(&state, rs.Resource())
	}

	if p.sh.store != nil && (len(sc.learn) > 0 || lookups > 0) {
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

// heldTraces collects the spans of one trace being held from this batch.
type heldTraces struct {
	td     ptrace.Traces
	rsIdx  int
	ssIdx  int
	curRS  ptrace.ResourceSpans
	spans  ptrace.SpanSlice
	nItems int
}

func (p *tracesProcessor) propagate(ctx context.Context, td ptrace.Traces, sc *batchScratch, lookups int, st *normalize.Stats) (moved bool) {
	var holds map[pcommon.TraceID]*heldTraces
	var order []pcommon.TraceID
	var propagated int64
	txn := p.sh.store.Begin()
	learnAll(&txn, sc.learn)
	if lookups > 0 {
		var cache lookupCache
		idx := 0
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			rs := rss.At(i)
			sss := rs.ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				ss := sss.At(j)
				ss.Spans().RemoveIf(func(span ptrace.Span) bool {
					f := sc.flags[idx]
					idx++
					if f&flagLookup == 0 {
						return false
					}
					tid := span.TraceID()
					xrid, state := cache.lookup(&txn, tid)
					switch state {
					case propagate.Known:
						span.Attributes().PutStr(dynamo.XRequestID, xrid)
						propagated++
						if f&flagChanged == 0 {
							st.Changed++
						}
						return false
					case propagate.None:
						return false
					}
					if holds == nil {
						holds = map[pcommon.TraceID]*heldTraces{}
					}
					h := holds[tid]
					if h == nil {
						h = &heldTraces{td: ptrace.NewTraces(), rsIdx: -1}
						holds[tid] = h
						order = append(order, tid)
					}
					if h.rsIdx != i {
						h.curRS = h.td.ResourceSpans().AppendEmpty()
						rs.Resource().CopyTo(h.curRS.Resource())
						h.curRS.SetSchemaUrl(rs.SchemaUrl())
						h.rsIdx, h.ssIdx = i, -1
					}
					if h.ssIdx != j {
						ns := h.curRS.ScopeSpans().AppendEmpty()
						ss.Scope().CopyTo(ns.Scope())
						ns.SetSchemaUrl(ss.SchemaUrl())
						h.spans = ns.Spans()
						h.ssIdx = j
					}
					span.MoveTo(h.spans.AppendEmpty())
					h.nItems++
					return true
				})
			}
		}
	}
	var held, overflow int64
	var write *batchWrite
	var writes []pendingWrite
	for _, tid := range order {
		h := holds[tid]
		if c := txn.HoldChunk(p.owner, tid, h.td, h.nItems); c != nil {
			held += int64(h.nItems)
			if p.sh.persist != nil {
				p.prepareWrite(&write, &writes, c, txn.Now())
			}
			continue
		}
		// No room (or shutting down): on they go, unchanged.
		h.td.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
		overflow += int64(h.nItems)
	}
	txn.End()
	if write != nil {
		// Before the batch is acknowledged; the chunks' delivery waits for it.
		p.writeHeld(ctx, write, writes)
	}
	if propagated > 0 {
		p.sh.tel.ProcessorDynamoRequestIdsPropagated.Add(ctx, propagated, p.sigOpt)
	}
	p.heldOnArrival(ctx, held, overflow)
	return len(order) > 0
}

// deliver sends released chunks downstream as one batch, annotating those
// whose trace's request id was learned.
func (p *tracesProcessor) deliver(ctx context.Context, chunks []*propagate.Chunk) {
	out := ptrace.NewTraces()
	var stored []*storage.Operation
	if p.sh.persist != nil {
		stored = storedKeys(chunks)
	}
	var propagated int64
	total := 0
	for _, c := range chunks {
		td := c.Data.(ptrace.Traces)
		if c.Reason == propagate.ReasonRequestID && c.XRequestID != "" {
			propagated += annotateTraces(td, c.XRequestID)
		}
		td.ResourceSpans().MoveAndAppendTo(out.ResourceSpans())
		total += c.Items
	}
	err := send(ctx, func(ctx context.Context) error { return p.next.ConsumeTraces(ctx, out) })
	p.released(ctx, chunks, propagated, total, err)
	p.deleteStored(ctx, stored)
}

func annotateTraces(td ptrace.Traces, xrid string) int64 {
	var n int64
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				spans.At(k).Attributes().PutStr(dynamo.XRequestID, xrid)
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
