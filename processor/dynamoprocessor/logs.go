package dynamoprocessor // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/normalize"
	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/propagate"
)

type logsProcessor struct {
	*base
	next consumer.Logs
}

func newLogsProcessor(set processor.Settings, cfg *Config, next consumer.Logs) (processor.Logs, error) {
	b, err := newBase(set, cfg, "logs")
	if err != nil {
		return nil, err
	}
	p := &logsProcessor{base: b, next: next}
	b.marshal = func(data any) ([]byte, error) {
		return (&plog.ProtoMarshaler{}).MarshalLogs(data.(plog.Logs))
	}
	b.unmarshal = func(buf []byte) (any, int, error) {
		ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(buf)
		if err != nil {
			return nil, 0, err
		}
		return ld, ld.LogRecordCount(), nil
	}
	return processorhelper.NewLogs(context.Background(), set, cfg, next, p.process,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}),
		processorhelper.WithStart(b.start(p.deliver)),
		processorhelper.WithShutdown(b.shutdown),
	)
}

// process normalizes every log record, then learns the batch's request ids,
// then annotates the records of traces whose id is known and holds those
// whose id is not yet known.
func (p *logsProcessor) process(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	sc := p.scratch.Get().(*batchScratch)
	defer p.scratch.Put(sc)
	sc.reset()

	var st normalize.Stats
	norm := p.sh.norm
	lookups := 0
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		state := norm.BeginResource(rl.Resource())
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				r := norm.LogRecord(&state, lr, &st)
				tid := lr.TraceID()
				var f uint8
				if r.Changed {
					f |= flagChanged
				}
				if !tid.IsEmpty() {
					if r.XRequestID != "" {
						sc.addLearned(learned{tid: tid, xrid: r.XRequestID})
					} else {
						f |= flagLookup
						lookups++
					}
				}
				sc.flags = append(sc.flags, f)
			}
		}
		norm.EndResource(&state, rl.Resource())
	}

	removed := false
	if p.sh.store != nil && (len(sc.learn) > 0 || lookups > 0) {
		removed = p.propagate(ctx, ld, sc, lookups, &st)
	}
	p.sh.record(ctx, &st, p.sigOpt)
	if removed {
		removeEmptyLogs(ld)
		if ld.ResourceLogs().Len() == 0 {
			return ld, processorhelper.ErrSkipProcessingData
		}
	}
	return ld, nil
}

// heldLogs collects the log records of one trace being held from this batch.
type heldLogs struct {
	ld     plog.Logs
	rlIdx  int
	slIdx  int
	curRL  plog.ResourceLogs
	recs   plog.LogRecordSlice
	nItems int
}

func (p *logsProcessor) propagate(ctx context.Context, ld plog.Logs, sc *batchScratch, lookups int, st *normalize.Stats) (moved bool) {
	var holds map[pcommon.TraceID]*heldLogs
	var order []pcommon.TraceID
	var propagated int64
	txn := p.sh.store.Begin()
	learnAll(&txn, sc.learn)
	if lookups > 0 {
		var cache lookupCache
		idx := 0
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			rl := rls.At(i)
			sls := rl.ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				sl := sls.At(j)
				sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
					f := sc.flags[idx]
					idx++
					if f&flagLookup == 0 {
						return false
					}
					tid := lr.TraceID()
					xrid, state := cache.lookup(&txn, tid)
					switch state {
					case propagate.Known:
						lr.Attributes().PutStr(dynamo.XRequestID, xrid)
						propagated++
						if f&flagChanged == 0 {
							st.Changed++
						}
						return false
					case propagate.None:
						return false
					}
					if holds == nil {
						holds = map[pcommon.TraceID]*heldLogs{}
					}
					h := holds[tid]
					if h == nil {
						h = &heldLogs{ld: plog.NewLogs(), rlIdx: -1}
						holds[tid] = h
						order = append(order, tid)
					}
					if h.rlIdx != i {
						h.curRL = h.ld.ResourceLogs().AppendEmpty()
						rl.Resource().CopyTo(h.curRL.Resource())
						h.curRL.SetSchemaUrl(rl.SchemaUrl())
						h.rlIdx, h.slIdx = i, -1
					}
					if h.slIdx != j {
						ns := h.curRL.ScopeLogs().AppendEmpty()
						sl.Scope().CopyTo(ns.Scope())
						ns.SetSchemaUrl(sl.SchemaUrl())
						h.recs = ns.LogRecords()
						h.slIdx = j
					}
					lr.MoveTo(h.recs.AppendEmpty())
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
		if c := txn.HoldChunk(p.owner, tid, h.ld, h.nItems); c != nil {
			held += int64(h.nItems)
			if p.sh.persist != nil {
				p.prepareWrite(&write, &writes, c, txn.Now())
			}
			continue
		}
		h.ld.ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
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
func (p *logsProcessor) deliver(ctx context.Context, chunks []*propagate.Chunk) {
	out := plog.NewLogs()
	var stored []*storage.Operation
	if p.sh.persist != nil {
		stored = storedKeys(chunks)
	}
	var propagated int64
	total := 0
	for _, c := range chunks {
		ld := c.Data.(plog.Logs)
		if c.Reason == propagate.ReasonRequestID && c.XRequestID != "" {
			propagated += annotateLogs(ld, c.XRequestID)
		}
		ld.ResourceLogs().MoveAndAppendTo(out.ResourceLogs())
		total += c.Items
	}
	err := send(ctx, func(ctx context.Context) error { return p.next.ConsumeLogs(ctx, out) })
	p.released(ctx, chunks, propagated, total, err)
	p.deleteStored(ctx, stored)
}

func annotateLogs(ld plog.Logs, xrid string) int64 {
	var n int64
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lrs.At(k).Attributes().PutStr(dynamo.XRequestID, xrid)
				n++
			}
		}
	}
	return n
}

func removeEmptyLogs(ld plog.Logs) {
	ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool { return sl.LogRecords().Len() == 0 })
		return rl.ScopeLogs().Len() == 0
	})
}
