package dynamoprocessor // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

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
		if part, ok := data.(*heldPart); ok {
			return marshalLogsPart(part)
		}
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
	// Without propagation nothing reads what the first pass notes for it.
	prop := p.sh.store != nil
	lookups := 0
	// One state for every resource, reset by BeginResource.
	var state normalize.ResourceState
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		norm.BeginResource(&state, rl.Resource())
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			// Records with the sampled bit set, and records that would
			// wait with it clear.
			sampled, unsampled := false, false
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				r := norm.LogRecord(&state, lr, &st)
				if !prop {
					continue
				}
				tid := lr.TraceID()
				var f uint8
				if r.Changed {
					f |= flagChanged
				}
				if !tid.IsEmpty() {
					isSampled := lr.Flags().IsSampled()
					sampled = sampled || isSampled
					if r.XRequestID != "" {
						sc.addLearned(learned{tid: tid, xrid: r.XRequestID})
					} else {
						f |= flagLookup
						lookups++
						if !isSampled {
							f |= flagUnsampled
							unsampled = true
						}
					}
				}
				sc.flags = append(sc.flags, f)
			}
			if fs := p.sh.flagSources; fs != nil {
				sc.flagsSet = append(sc.flagsSet, fs.note(state.Service, sls.At(j).Scope(), lrs, sampled, unsampled))
			}
		}
		norm.EndResource(&state, rl.Resource())
	}

	removed := false
	if prop && (len(sc.learn) > 0 || lookups > 0) {
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

func (p *logsProcessor) propagate(ctx context.Context, ld plog.Logs, sc *batchScratch, lookups int, st *normalize.Stats) (moved bool) {
	var propagated, unsampled int64
	txn := p.sh.store.Begin()
	// Only the traces the batch learns are warmed: noting every trace a
	// record looks up cost the log benchmarks 7 % more CPU than the cache
	// misses it saved (the look-up cache answers a trace's later runs).
	txn.Warm(sc.warm, len(sc.learn))
	learnAll(&txn, sc.learn)
	if lookups > 0 {
		cache := &sc.lookups
		cache.begin()
		idx, scope := 0, -1
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				scope++
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					f := sc.flags[idx]
					idx++
					if f&flagLookup == 0 {
						continue
					}
					lr := lrs.At(k)
					tid := lr.TraceID()
					switch xrid, state := cache.lookup(&txn, tid); state {
					case propagate.Known:
						putAbsent(lr.Attributes(), xrid)
						propagated++
						if f&flagChanged == 0 {
							st.Changed++
						}
					case propagate.Unknown:
						if f&flagUnsampled != 0 && p.sh.flagSources != nil && notSampled(lr, sc.flagsSet[scope]) {
							// No root span will come: it goes on now.
							unsampled++
							continue
						}
						sc.addHold(tid, i, j, k)
					}
				}
			}
		}
	}
	if unsampled > 0 {
		p.sh.tel.ProcessorDynamoUnsampledItems.Add(ctx, unsampled, p.sigOpt...)
	}
	return p.hold(ctx, &txn, sc, propagated, func(hb *heldBatch) { holdLogs(ld, sc, hb) })
}

// holdLogs moves the records of ld whose trace's chunk holds them into hb's
// container. A resource whose records are all held goes into it as it is;
// others are copied there, with each scope that has records to hold: a
// scope whose records are all held gives its records as they are, others
// split as moveHeld does. When all of the batch's records are held, its
// resources go as they are.
func holdLogs(ld plog.Logs, sc *batchScratch, hb *heldBatch) {
	hb.logs = plog.NewLogs()
	hrls := hb.logs.ResourceLogs()
	rls := ld.ResourceLogs()
	var hrl plog.ResourceLogs
	if len(hb.refs) == len(sc.flags) {
		// Every one of the batch's records is held: its container is held as
		// it is, resources and scopes not copied.
		rls.MoveAndAppendTo(hrls)
		holdWhole(sc, hb, &hb.lscopes, func(rs, ss int32) plog.ScopeLogs { return hrls.At(int(rs)).ScopeLogs().At(int(ss)) })
		return
	}
	lastRes := int32(-1)
	wholeRes := false
	for si := range sc.scopes {
		hs := sc.scopes[si]
		if hs.n == 0 {
			continue
		}
		rl := rls.At(int(hs.rs))
		if hs.rs != lastRes {
			lastRes = hs.rs
			hrl = hrls.AppendEmpty()
			wholeRes = sc.resourceHeld(si, func(ss int) int { return rl.ScopeLogs().At(ss).LogRecords().Len() }, rl.ScopeLogs().Len())
			if wholeRes {
				// The batch keeps an empty resource, removed before it
				// goes on.
				rl.MoveTo(hrl)
			} else {
				rl.Resource().CopyTo(hrl.Resource())
				hrl.SetSchemaUrl(rl.SchemaUrl())
			}
		}
		cs := len(hb.lscopes)
		hb.scopeRes = append(hb.scopeRes, int32(hrls.Len()-1))
		if wholeRes {
			hb.lscopes = append(hb.lscopes, hrl.ScopeLogs().At(int(hs.ss)))
			sc.placeAsIs(si, cs)
			continue
		}
		sl := rl.ScopeLogs().At(int(hs.ss))
		hsl := hrl.ScopeLogs().AppendEmpty()
		sl.Scope().CopyTo(hsl.Scope())
		hsl.SetSchemaUrl(sl.SchemaUrl())
		hb.lscopes = append(hb.lscopes, hsl)
		lrs := sl.LogRecords()
		if int(hs.n) == lrs.Len() {
			lrs.MoveAndAppendTo(hsl.LogRecords())
			sc.placeAsIs(si, cs)
			continue
		}
		w := sc.walk(si)
		if moveHeld(sc, si, cs, lrs, hsl.LogRecords()) {
			hsl.LogRecords().RemoveIf(func(plog.LogRecord) bool { return w.step() < 0 })
		} else {
			lrs.RemoveIf(func(plog.LogRecord) bool { return w.step() >= 0 })
		}
	}
}

// deliver sends released chunks downstream as one batch, annotating those
// whose trace's request id was learned.
func (p *logsProcessor) deliver(ctx context.Context, chunks []*propagate.Chunk) {
	out := plog.NewLogs()
	var stored []*storage.Operation
	if p.sh.persist != nil {
		stored = storedKeys(chunks)
	}
	p.gen++
	countParts(chunks, p.gen)
	var outRecs []plog.LogRecordSlice
	var propagated int64
	total := 0
	for _, c := range chunks {
		total += c.Items
		if c.Reason != propagate.ReasonRequestID || c.XRequestID == "" {
			continue
		}
		switch d := c.Data.(type) {
		case plog.Logs: // restored from storage
			propagated += annotateLogs(d, c.XRequestID)
		case *heldPart:
			for _, r := range d.refs {
				putAbsent(d.b.lscopes[r.scope].LogRecords().At(int(r.idx)).Attributes(), c.XRequestID)
			}
			propagated += int64(len(d.refs))
		}
	}
	for _, c := range chunks {
		switch d := c.Data.(type) {
		case plog.Logs:
			d.ResourceLogs().MoveAndAppendTo(out.ResourceLogs())
		case *heldPart:
			hb := d.b
			if hb.gone {
				continue
			}
			if whole, taken := hb.whole(); whole {
				if taken {
					for _, sc := range hb.lscopes {
						sc.LogRecords().RemoveIf(func(lr plog.LogRecord) bool { return lr.TraceID().IsEmpty() })
					}
				}
				// A batch held whole kept the resources and scopes it left
				// empty; those of a batch held in part stayed in the batch,
				// which went on without them.
				removeEmptyLogs(hb.logs)
				hb.logs.ResourceLogs().MoveAndAppendTo(out.ResourceLogs())
				continue
			}
			hrls := hb.logs.ResourceLogs()
			resSlot, scopeSlot := hb.taking(hrls.Len())
			for _, r := range d.refs {
				slot := scopeSlot[r.scope]
				if slot == 0 {
					ri := hb.scopeRes[r.scope]
					if resSlot[ri] == 0 {
						src := hrls.At(int(ri))
						orl := out.ResourceLogs().AppendEmpty()
						src.Resource().CopyTo(orl.Resource())
						orl.SetSchemaUrl(src.SchemaUrl())
						resSlot[ri] = int32(out.ResourceLogs().Len())
					}
					src := hb.lscopes[r.scope]
					osl := out.ResourceLogs().At(int(resSlot[ri] - 1)).ScopeLogs().AppendEmpty()
					src.Scope().CopyTo(osl.Scope())
					osl.SetSchemaUrl(src.SchemaUrl())
					outRecs = append(outRecs, osl.LogRecords())
					slot = int32(len(outRecs))
					scopeSlot[r.scope] = slot
				}
				hb.lscopes[r.scope].LogRecords().At(int(r.idx)).MoveTo(outRecs[slot-1].AppendEmpty())
			}
		}
	}
	err := send(ctx, func(ctx context.Context) error { return p.next.ConsumeLogs(ctx, out) })
	p.released(ctx, chunks, propagated, total, err)
	p.deleteStored(ctx, stored)
}

// marshalLogsPart marshals a held part's records, under their resource and
// scope, as a plog.Logs of their own (to persist them). The records are
// moved there for the time of the marshalling and back; deliveries of the
// part's batch wait for the write.
func marshalLogsPart(part *heldPart) ([]byte, error) {
	hb := part.b
	ld := plog.NewLogs()
	var rl plog.ResourceLogs
	var recs plog.LogRecordSlice
	lastRes, lastScope := int32(-1), int32(-1)
	for _, r := range part.refs {
		if r.scope != lastScope {
			if ri := hb.scopeRes[r.scope]; ri != lastRes {
				src := hb.logs.ResourceLogs().At(int(ri))
				rl = ld.ResourceLogs().AppendEmpty()
				src.Resource().CopyTo(rl.Resource())
				rl.SetSchemaUrl(src.SchemaUrl())
				lastRes = ri
			}
			src := hb.lscopes[r.scope]
			sl := rl.ScopeLogs().AppendEmpty()
			src.Scope().CopyTo(sl.Scope())
			sl.SetSchemaUrl(src.SchemaUrl())
			recs = sl.LogRecords()
			lastScope = r.scope
		}
		hb.lscopes[r.scope].LogRecords().At(int(r.idx)).MoveTo(recs.AppendEmpty())
	}
	buf, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
	i := 0
	rls := ld.ResourceLogs()
	for j := 0; j < rls.Len(); j++ {
		sls := rls.At(j).ScopeLogs()
		for k := 0; k < sls.Len(); k++ {
			lrs := sls.At(k).LogRecords()
			for m := 0; m < lrs.Len(); m++ {
				r := part.refs[i]
				i++
				lrs.At(m).MoveTo(hb.lscopes[r.scope].LogRecords().At(int(r.idx)))
			}
		}
	}
	return buf, err
}

func annotateLogs(ld plog.Logs, xrid string) int64 {
	var n int64
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				putAbsent(lrs.At(k).Attributes(), xrid)
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
