package dynamoprocessor // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/propagate"
)

// Retries of a release refused by the next consumer with a retryable error.
const (
	releaseAttempts       = 4
	releaseInitialBackoff = 100 * time.Millisecond
)

// base is what a traces and a logs instance have in common.
type base struct {
	sh     *shared
	logger *zap.Logger
	signal string
	owner  *propagate.Owner

	lifecycle sync.Mutex
	started   bool

	// Attribute options of the self-telemetry (see shared).
	sigOpt    []metric.AddOption
	reasonOpt [propagate.ReasonShutdown + 1][]metric.AddOption

	scratch sync.Pool // *batchScratch
	gen     uint64    // deliveries so far (they do not overlap)

	// marshal and unmarshal turn held data into bytes for
	// propagation.storage and back (ptrace/plog protobuf).
	marshal   func(data any) ([]byte, error)
	unmarshal func(buf []byte) (data any, items int, err error)
}

func newBase(set processor.Settings, cfg *Config, signal string) (*base, error) {
	sh, err := processors.getOrCreate(set, cfg)
	if err != nil {
		return nil, err
	}
	b := &base{
		sh:     sh,
		logger: set.Logger,
		signal: signal,
		sigOpt: []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("signal", signal)))},
	}
	for r := propagate.ReasonRequestID; r <= propagate.ReasonShutdown; r++ {
		b.reasonOpt[r] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
			attribute.String("signal", signal), attribute.String("reason", r.String())))}
	}
	b.scratch.New = func() any { return &batchScratch{} }
	return b, nil
}

func (b *base) start(deliver propagate.DeliverFunc) component.StartFunc {
	return func(ctx context.Context, host component.Host) error {
		b.lifecycle.Lock()
		defer b.lifecycle.Unlock()
		if b.started {
			return nil
		}
		if err := processors.start(ctx, b.sh, host); err != nil {
			return err
		}
		if b.sh.store != nil {
			b.owner = b.sh.store.Register(deliver)
		}
		b.started = true
		if b.sh.persist != nil {
			return b.restore(ctx)
		}
		return nil
	}
}

func (b *base) shutdown(ctx context.Context) error {
	b.lifecycle.Lock()
	defer b.lifecycle.Unlock()
	if !b.started {
		return nil
	}
	b.started = false
	if b.owner != nil {
		// Everything this instance holds goes downstream now, while the
		// next consumer still runs.
		b.sh.store.Unregister(ctx, b.owner)
	}
	return processors.shutdown(ctx, b.sh)
}

// hold ends a batch's propagation, begun with txn: it holds the items
// noted in sc (build moves them into the heldBatch's container), writes them
// to storage when configured, ends txn and records the self-telemetry. It
// reports whether items were moved out of the batch.
func (b *base) hold(ctx context.Context, txn *propagate.Txn, sc *batchScratch, propagated int64, build func(*heldBatch)) bool {
	var hb *heldBatch
	var held, overflow int64
	var write *batchWrite
	var writes []pendingWrite
	if len(sc.items) > 0 {
		hb, held, overflow = sc.holdAll(txn, b.owner)
	}
	if hb != nil {
		build(hb)
		if b.sh.persist != nil {
			for i := range sc.traces {
				if c := sc.traces[i].chunk; c != nil {
					b.prepareWrite(&write, &writes, c, txn.Now())
				}
			}
		}
	}
	// What the batch released goes on from here, once the batch's held
	// chunks are written (their delivery waits for the write).
	release := txn.EndTake()
	if write != nil {
		// Before the batch is acknowledged; the chunks' delivery waits for it.
		b.writeHeld(ctx, write, writes)
	}
	release.Deliver()
	if propagated > 0 {
		b.sh.tel.ProcessorDynamoRequestIdsPropagated.Add(ctx, propagated, b.sigOpt...)
	}
	b.heldOnArrival(ctx, held, overflow)
	return hb != nil
}

// learned is one thing a batch taught about a trace.
type learned struct {
	tid  pcommon.TraceID
	xrid string // "" with none: the root arrived without an id
	none bool
}

// Per-item flags kept between the two passes over a batch.
const (
	flagLookup    uint8 = 1 << iota // has a trace id, lacks x_request_id
	flagChanged                     // a rule changed it in the first pass
	flagUnsampled                   // a log record whose sampled bit is clear
)

// batchScratch is reused across batches so the passes do not allocate.
type batchScratch struct {
	learn []learned
	// learnt says, per trace, what learn already has for it (learntID,
	// learntNone), so that each lesson reaches the store once per batch.
	learnt tidMap
	// warm is the trace ids the batch will learn (and, in a traces
	// pipeline, look up), for propagate.Txn.Warm; an id may come more than
	// once.
	warm []pcommon.TraceID
	// warmSeen is the traces last noted in warm, direct-mapped like
	// lookupCache: a trace whose slot another took is noted again.
	warmSeen [lookupSlots]pcommon.TraceID
	flags    []uint8
	// flagsSet says, per scope of a log batch (in batch order), whether
	// the records of its source set the trace flags (see flagSources).
	flagsSet []bool

	// What the batch would hold: its items, the traces they belong to and
	// the scopes they are in, in batch order.
	items    []holdItem
	traces   []holdTrace
	scopes   []holdScope
	traceIdx tidMap // a trace's index in traces

	// lookups is the batch's look-up cache (see lookupCache.begin).
	lookups lookupCache
}

func (s *batchScratch) reset() {
	s.learn = s.learn[:0]
	s.learnt.reset()
	s.warm = s.warm[:0]
	clear(s.warmSeen[:])
	s.flags = s.flags[:0]
	s.flagsSet = s.flagsSet[:0]
	s.items = s.items[:0]
	clear(s.traces)
	s.traces = s.traces[:0]
	s.scopes = s.scopes[:0]
	s.traceIdx.reset()
}

// holdItem is an item of the batch whose trace's request id is not known.
type holdItem struct {
	trace int32 // in batchScratch.traces
	scope int32 // in batchScratch.scopes
	idx   int32 // in its scope's items, in the incoming batch
}

// holdTrace is a trace with items to hold in the batch.
type holdTrace struct {
	tid   pcommon.TraceID
	n     int32
	off   int32            // where its refs start in heldBatch.refs
	chunk *propagate.Chunk // nil: not held (no room): its items pass on now
	part  *heldPart
}

// holdScope is a scope of the batch with items to hold.
type holdScope struct {
	rs, ss int32 // resource and scope index in the incoming batch
	n      int32 // items held (their trace's chunk was)
	first  int32 // its first item in batchScratch.items
}

// addHold notes an item (index k of scope ss of resource rs) of trace tid to
// hold.
func (s *batchScratch) addHold(tid pcommon.TraceID, rs, ss, k int) {
	var t int32
	if n := len(s.traces); n > 0 && s.traces[n-1].tid == tid {
		t = int32(n - 1)
	} else {
		idx, added := s.traceIdx.at(tid)
		if added {
			*idx = int32(n)
			s.traces = append(s.traces, holdTrace{tid: tid})
		}
		t = *idx
	}
	s.traces[t].n++
	if n := len(s.scopes); n == 0 || s.scopes[n-1].rs != int32(rs) || s.scopes[n-1].ss != int32(ss) {
		s.scopes = append(s.scopes, holdScope{rs: int32(rs), ss: int32(ss), first: int32(len(s.items))})
	}
	s.items = append(s.items, holdItem{trace: t, scope: int32(len(s.scopes) - 1), idx: int32(k)})
}

// holdAll gives every trace of the batch with items to hold a chunk, sized
// for the items, and counts per scope the items held. It returns the
// heldBatch the signal fills (nil when nothing is held), the items held and
// the items that did not fit; the caller holds txn.
func (s *batchScratch) holdAll(txn *propagate.Txn, o *propagate.Owner) (hb *heldBatch, held, overflow int64) {
	hb = &heldBatch{chunks: make([]propagate.Chunk, len(s.traces))}
	parts := 0
	for i := range s.traces {
		t := &s.traces[i]
		c := &hb.chunks[i]
		if !txn.HoldIn(c, o, t.tid, nil, int(t.n)) {
			overflow += int64(t.n)
			continue
		}
		t.chunk = c
		t.off = int32(held)
		held += int64(t.n)
		parts++
	}
	if parts == 0 {
		return nil, 0, overflow
	}
	hb.refs = make([]heldRef, held)
	hb.parts = make([]heldPart, parts)
	hb.live = parts
	parts = 0
	for i := range s.traces {
		t := &s.traces[i]
		if t.chunk == nil {
			continue
		}
		p := &hb.parts[parts]
		parts++
		p.b = hb
		p.refs = hb.refs[t.off : t.off : t.off+t.n]
		t.chunk.Data = p
		t.part = p
	}
	for _, it := range s.items {
		if s.traces[it.trace].chunk != nil {
			s.scopes[it.scope].n++
		}
	}
	return hb, held, overflow
}

// holdWhole notes, for a batch whose items are all held and whose resources
// went into the heldBatch's container as they were, each scope of the
// container (at finds scope ss of resource rs) and where its items are.
func holdWhole[S any](sc *batchScratch, hb *heldBatch, scopes *[]S, at func(rs, ss int32) S) {
	for si, hs := range sc.scopes {
		*scopes = append(*scopes, at(hs.rs, hs.ss))
		hb.scopeRes = append(hb.scopeRes, hs.rs)
		sc.placeAsIs(si, si)
	}
}

// place records where a held item (batchScratch.items[i]) now is: index idx
// of scope cs of the heldBatch's container.
func (s *batchScratch) place(i int, cs, idx int) {
	p := s.traces[s.items[i].trace].part
	p.refs = append(p.refs, heldRef{scope: int32(cs), idx: int32(idx)})
}

// placeAsIs records that the items of scope si went, at the positions they
// had, into scope cs of the heldBatch's container (the scope or its whole
// resource was moved there as it was).
func (s *batchScratch) placeAsIs(si, cs int) {
	first, end := s.scopeItems(si)
	for i := first; i < end; i++ {
		s.place(i, cs, int(s.items[i].idx))
	}
}

// scopeItems returns the range of items of scope si.
func (s *batchScratch) scopeItems(si int) (first, end int) {
	end = len(s.items)
	if si+1 < len(s.scopes) {
		end = int(s.scopes[si+1].first)
	}
	return int(s.scopes[si].first), end
}

// resourceHeld reports whether every item of the resource of scope si (the
// first of its resource in s.scopes) is held: the resource has nscopes
// scopes, and scope ss has items(ss) items.
func (s *batchScratch) resourceHeld(si int, items func(ss int) int, nscopes int) bool {
	rs := s.scopes[si].rs
	held, total := 0, 0
	for _, hs := range s.scopes[si:] {
		if hs.rs != rs {
			break
		}
		held += int(hs.n)
	}
	for ss := range nscopes {
		total += items(ss)
	}
	return held == total
}

// heldItem reports whether item i is held (its trace's chunk is).
func (s *batchScratch) heldItem(i int) bool { return s.traces[s.items[i].trace].chunk != nil }

// heldWalk goes through the items of a scope in order, step once per item,
// and tells which are held; the scope's items flagged for holding are
// items[next:end], in order.
type heldWalk struct {
	s         *batchScratch
	next, end int
	k         int32
}

// walk returns a heldWalk over the items of scope si.
func (s *batchScratch) walk(si int) heldWalk {
	first, end := s.scopeItems(si)
	return heldWalk{s: s, next: first, end: end}
}

// step returns the index in items of the scope's next item if it is held,
// else -1.
func (w *heldWalk) step() int {
	for w.next < w.end && !w.s.heldItem(w.next) {
		w.next++
	}
	i := -1
	if w.next < w.end && w.s.items[w.next].idx == w.k {
		i = w.next
		w.next++
	}
	w.k++
	return i
}

// movable is a pdata item: ptrace.Span, plog.LogRecord.
type movable[E any] interface{ MoveTo(dest E) }

// itemSlice is a pdata slice of such items.
type itemSlice[S, E any] interface {
	Len() int
	At(i int) E
	AppendEmpty() E
	EnsureCapacity(n int)
	MoveAndAppendTo(dest S)
}

// moveHeld moves the held items of scope si, src, into dst (empty, of scope
// cs of the heldBatch's container), in order, and notes where each went;
// the items that are not held end in src, in order. An item moved one by
// one costs an allocation, so the fewer side moves that way: the held items
// when they are at most half, else the others, after src went into dst as
// it was (a slice of pointers, moved without a copy). The items moved one
// by one leave empty ones behind, which the caller removes: from src (the
// held ones, as a fresh walk of the scope steps to them) when moveHeld
// returns false, from dst (the others) when it returns true. The removals
// are the caller's so that their predicates are not closures passed to a
// method of a type parameter, which would be allocated.
func moveHeld[S itemSlice[S, E], E movable[E]](sc *batchScratch, si, cs int, src, dst S) (others bool) {
	held := int(sc.scopes[si].n)
	if held <= src.Len()-held {
		dst.EnsureCapacity(held)
		first, end := sc.scopeItems(si)
		for i := first; i < end; i++ {
			if sc.heldItem(i) {
				sc.place(i, cs, dst.Len())
				src.At(int(sc.items[i].idx)).MoveTo(dst.AppendEmpty())
			}
		}
		return false
	}
	src.MoveAndAppendTo(dst)
	src.EnsureCapacity(dst.Len() - held)
	w := sc.walk(si)
	pos := 0
	for k := range dst.Len() {
		if i := w.step(); i >= 0 {
			sc.place(i, cs, pos)
			pos++
			continue
		}
		dst.At(k).MoveTo(src.AppendEmpty())
	}
	return true
}

// heldBatch is what one incoming batch holds: one container (plog.Logs or
// ptrace.Traces) with the held items of all its traces, each resource and
// scope copied once, and one part (a chunk's Data) per trace saying which
// of the container's items are the trace's.
type heldBatch struct {
	chunks []propagate.Chunk // one per trace of the batch, held or not
	refs   []heldRef
	parts  []heldPart
	// scopeRes is the container's resource index of each container scope.
	scopeRes []int32
	live     int  // parts not yet delivered
	taken    bool // items of a part were moved out one by one
	gone     bool // the container went downstream as it is

	// Scratch of one delivery (deliveries of one owner do not overlap).
	gen    uint64  // the delivery inCall and outIdx are of
	inCall int     // parts in the delivery not yet through
	outIdx []int32 // per container resource, then scope: 1 + its index in the delivery's output

	logs    plog.Logs
	lscopes []plog.ScopeLogs
	traces  ptrace.Traces
	tscopes []ptrace.ScopeSpans
}

// heldRef is one held item: index idx of container scope scope.
type heldRef struct{ scope, idx int32 }

// heldPart is one trace's items of a heldBatch, the Data of its chunk.
type heldPart struct {
	b    *heldBatch
	refs []heldRef
}

// countParts stamps the heldBatches of the chunks about to be delivered
// (delivery gen) with the number of their parts among them.
func countParts(chunks []*propagate.Chunk, gen uint64) {
	for _, c := range chunks {
		if p, ok := c.Data.(*heldPart); ok {
			p.b.stamp(gen)
			p.b.inCall++
		}
	}
}

func (hb *heldBatch) stamp(gen uint64) {
	if hb.gen != gen {
		hb.gen, hb.inCall = gen, 0
		clear(hb.outIdx)
	}
}

// whole reports whether every part of hb not yet delivered is in this
// delivery: the container then goes as it is, once the items taken out
// before (left empty, without a trace id) are removed when taken says so.
// It is true once per delivery.
func (hb *heldBatch) whole() (ok, taken bool) {
	if hb.gone || hb.inCall != hb.live {
		return false, false
	}
	hb.live, hb.inCall, hb.gone = 0, 0, true
	return true, hb.taken
}

// taking marks that one part's items are taken out one by one and returns
// the output slots of the container's resources (nres of them) and scopes.
func (hb *heldBatch) taking(nres int) (res, scopes []int32) {
	hb.taken = true
	hb.live--
	hb.inCall--
	if hb.outIdx == nil {
		hb.outIdx = make([]int32, nres+len(hb.scopeRes))
	}
	return hb.outIdx[:nres], hb.outIdx[nres:]
}

const (
	learntID   int32 = 1 << iota // a request id of the trace is in learn
	learntNone                   // the trace's root without one is in learn
)

// addLearned notes one lesson, unless the store would learn nothing from
// it after the batch's earlier lessons: a trace's first request id stays,
// and a root without one changes nothing once anything is known. Each
// lesson that reaches the store costs a look-up in its memory of
// max_traces traces, mostly cache misses; the spans of one trace carry the
// same id in several resources of a batch.
func (s *batchScratch) addLearned(l learned) {
	// The lesson just noted again (the next span of the same trace): the
	// set would say the same, without a look-up per span.
	if n := len(s.learn); n > 0 && s.learn[n-1] == l {
		return
	}
	had, _ := s.learnt.at(l.tid)
	if l.none {
		if *had != 0 {
			return
		}
		*had = learntNone
	} else {
		if *had&learntID != 0 {
			return
		}
		*had |= learntID
	}
	s.learn = append(s.learn, l)
	s.warm = append(s.warm, l.tid)
}

// addLookup notes a trace the batch will look up, unless warmSeen says it
// is noted already (the items of a trace come in several runs, one per
// resource).
func (s *batchScratch) addLookup(tid pcommon.TraceID) {
	seen := &s.warmSeen[lookupSlotOf(tid)]
	if *seen != tid {
		*seen = tid
		s.warm = append(s.warm, tid)
	}
}

// learn applies a batch's lessons; the caller holds txn.
func learnAll(txn *propagate.Txn, ls []learned) {
	for _, l := range ls {
		if l.none {
			txn.LearnNone(l.tid)
		} else {
			txn.Learn(l.tid, l.xrid)
		}
	}
}

// lookupSlots is the number of traces a lookupCache remembers (a power of
// two). The items of one trace come in several runs, one per resource that
// took part (the frontend's, each worker's): in the log batches of the
// benchmark workload, 1 231 runs of 317 traces. Remembering only the last
// trace looked up sent every run back to the store's memory, whose index
// is mostly cache misses in a collector that remembers 100 000 traces.
const lookupSlots = 64

// lookupSlotOf is a trace's slot in a lookupCache, and in
// batchScratch.warmSeen: the last byte of its id (random in W3C trace ids).
func lookupSlotOf(tid pcommon.TraceID) int { return int(tid[len(tid)-1] & (lookupSlots - 1)) }

// lookupCache remembers what the store said about the traces a batch looked
// up. No trace's state changes during the batch's transaction, so it stays
// true until the batch ends; begin forgets it. Direct-mapped
// (lookupSlotOf): a trace whose slot another took is looked up again. A
// slot with the empty trace id is unused; items without a trace id are
// never looked up. It lives in the batch's scratch: on the stack, its
// 2.5 KB made the receiving goroutines' stacks grow.
type lookupCache struct {
	slots [lookupSlots]lookupSlot
}

// begin forgets the answers of an earlier batch (and lets go of their
// request ids).
func (c *lookupCache) begin() { clear(c.slots[:]) }

type lookupSlot struct {
	tid   pcommon.TraceID
	xrid  string
	state propagate.State
}

func (c *lookupCache) lookup(txn *propagate.Txn, tid pcommon.TraceID) (string, propagate.State) {
	s := &c.slots[lookupSlotOf(tid)]
	if s.tid != tid || tid.IsEmpty() {
		s.tid = tid
		s.xrid, s.state = txn.Lookup(tid)
	}
	return s.xrid, s.state
}

// send hands released data to the next consumer, retrying a retryable
// refusal a few times with back-off. It returns the last error.
func send(ctx context.Context, consume func(context.Context) error) error {
	backoff := releaseInitialBackoff
	for attempt := 1; ; attempt++ {
		err := consume(ctx)
		if err == nil || consumererror.IsPermanent(err) || attempt == releaseAttempts {
			return err
		}
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			return errors.Join(err, ctx.Err())
		case <-timer.C:
		}
		backoff *= 2
	}
}

// released records the self-telemetry of delivered chunks.
func (b *base) released(ctx context.Context, chunks []*propagate.Chunk, propagated int64, total int, err error) {
	var byReason [propagate.ReasonShutdown + 1]int64
	for _, c := range chunks {
		byReason[c.Reason] += int64(c.Items)
	}
	for r, n := range byReason {
		if n > 0 {
			b.sh.tel.ProcessorDynamoHeldReleased.Add(ctx, n, b.reasonOpt[r]...)
		}
	}
	if propagated > 0 {
		b.sh.tel.ProcessorDynamoRequestIdsPropagated.Add(ctx, propagated, b.sigOpt...)
		b.sh.tel.ProcessorDynamoItemsChanged.Add(ctx, propagated, b.sigOpt...)
	}
	b.sh.tel.ProcessorDynamoHeldItems.Add(ctx, -int64(total), b.sigOpt...)
	if err != nil {
		b.sh.tel.ProcessorDynamoReleaseRefused.Add(ctx, int64(total), b.sigOpt...)
		b.logger.Error("Next consumer refused held items released by the dynamo processor; they are lost",
			zap.String("signal", b.signal), zap.Int("items", total), zap.Error(err))
	}
}

// heldOnArrival records items that were held (held > 0) and items that would
// have been held but did not fit (passed on unchanged at once, counted as an
// overflow release).
func (b *base) heldOnArrival(ctx context.Context, held, overflow int64) {
	if held+overflow > 0 {
		b.sh.tel.ProcessorDynamoItemsHeld.Add(ctx, held+overflow, b.sigOpt...)
	}
	if held > 0 {
		b.sh.tel.ProcessorDynamoHeldItems.Add(ctx, held, b.sigOpt...)
	}
	if overflow > 0 {
		b.sh.tel.ProcessorDynamoHeldReleased.Add(ctx, overflow, b.reasonOpt[propagate.ReasonOverflow]...)
	}
}

// putAbsent gives an item that lacks it its trace's x_request_id, growing
// the attribute array by exactly one: appending to a full array would
// double it, and the spare half would live, and be marked by the garbage
// collector, as long as the item.
func putAbsent(attrs pcommon.Map, xrid string) {
	attrs.EnsureCapacity(attrs.Len() + 1)
	attrs.PutStr(dynamo.XRequestID, xrid)
}
