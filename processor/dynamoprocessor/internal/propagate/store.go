// Package propagate carries a trace's caller request id (x_request_id) to the
// spans and log records of the same trace that lack it.
//
// A Store remembers, per trace id, the request id learned from any span or
// log record of the trace (bounded in number and in age), or that the trace
// has none (its root span arrived without one). Items of a trace whose id is
// not yet known are held, in memory, for up to Config.Wait; they are released
// as soon as the id is learned (from either signal), at once when the trace's
// root arrives without an id, unchanged when the wait is over, unchanged when
// the held buffer is full (oldest first), and unchanged when their owner shuts
// down. Released chunks are handed to the owner that held them: by the
// goroutine whose Txn released them, when it ends with EndTake
// (Release.Deliver), or by the Store's own goroutine, driven by a ticker
// (timeouts) and by a wake-up when a Txn ended with End made something
// ready. Chunks released to make room go only once they add up to 1/32 of
// MaxHeldItems: under overload they go out in fewer, larger batches, within
// a tick at the latest.
//
// Held items live in the Store's memory. The processor may also persist them
// (Chunk.Ext is its bookkeeping) and, after a crash, give them back with
// Restore.
//
// The Store does not know what it holds: the processor gives it opaque chunks
// (one trace's items from one batch) and gets them back, with the reason and,
// when learned, the request id to annotate them with.
package propagate // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/propagate"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Config bounds a Store.
type Config struct {
	// Wait is how long items of a trace whose request id is unknown are held.
	// Zero disables holding: such items pass at once, unchanged.
	Wait time.Duration
	// MaxHeldItems bounds the items held at once.
	MaxHeldItems int
	// MaxTraces bounds the trace ids remembered; the oldest is forgotten first.
	MaxTraces int
	// TraceTTL is how long a trace id is remembered.
	TraceTTL time.Duration
}

// State is what a Store knows about a trace's request id.
type State int

const (
	// Unknown: nothing learned yet.
	Unknown State = iota
	// Known: the trace's request id is known.
	Known
	// None: the trace's root arrived without a request id.
	None
)

// Reason tells why a chunk was released.
type Reason int

const (
	// ReasonRequestID: the trace's request id was learned; the chunk is to be
	// annotated with Chunk.XRequestID.
	ReasonRequestID Reason = iota
	// ReasonNoRequestID: the trace's root arrived without a request id.
	ReasonNoRequestID
	// ReasonTimeout: the wait was over.
	ReasonTimeout
	// ReasonOverflow: the held buffer was full.
	ReasonOverflow
	// ReasonShutdown: the owner shut down.
	ReasonShutdown
)

// String returns the reason as the self-telemetry attribute spells it.
func (r Reason) String() string {
	switch r {
	case ReasonRequestID:
		return "request_id"
	case ReasonNoRequestID:
		return "no_request_id"
	case ReasonTimeout:
		return "timeout"
	case ReasonOverflow:
		return "overflow"
	case ReasonShutdown:
		return "shutdown"
	}
	return "unknown"
}

// Chunk is one trace's held items from one batch of one owner.
type Chunk struct {
	TraceID pcommon.TraceID
	// Data is what the owner holds (ptrace.Traces, plog.Logs…).
	Data any
	// Items is the number of spans or log records in Data.
	Items int
	// Reason is why the chunk was released.
	Reason Reason
	// XRequestID is the request id to annotate the items with (ReasonRequestID
	// only).
	XRequestID string
	// Ext is the owner's own bookkeeping (where the chunk is persisted); the
	// Store never looks at it. Set it before the Txn that held the chunk ends.
	Ext any

	owner    *Owner
	deadline time.Time
	txn      uint64 // the Txn that held it (Txn.seq)
	// prev and next link the pending chunks, oldest first (Store.fifo);
	// tnext links the pending chunks of the same trace, oldest first, from
	// its head in Store.pending, whose ttail is the trace's newest (nil on
	// the others).
	prev, next   *Chunk
	tnext, ttail *Chunk
	// hash is the trace id's hash in the Store's indexes; pos is the
	// head's position in Store.pending.
	hash uint32
	pos  int32
}

// DeliverFunc receives released chunks of one owner, oldest first. It runs on
// the Store's goroutine, in Release.Deliver or in Unregister, never in two
// at a time for one owner, and without the Store's lock.
type DeliverFunc func(ctx context.Context, chunks []*Chunk)

// Owner is one processor instance (one pipeline) that holds items.
type Owner struct {
	deliver  DeliverFunc
	closed   bool
	inflight sync.WaitGroup
	// delivering is held while deliver runs: deliveries of one owner do
	// not overlap.
	delivering sync.Mutex
}

// overflowShare: chunks released to make room go out together once they
// amount to 1/overflowShare of MaxHeldItems (or with the next release or
// tick), rather than one delivery per batch that made room.
const overflowShare = 32

// Store is the shared knowledge of one dynamo processor: every pipeline the
// processor is in uses the same Store.
type Store struct {
	cfg  Config
	tick time.Duration

	mu  sync.Mutex
	ids idTable
	// pending finds a trace's oldest pending chunk, so that adding a chunk
	// to a trace that has some takes one look-up, and releasing the oldest
	// (overflow, timeout) only the change or removal of its entry.
	pending pendingIndex
	fifo    chunkList // still pending
	ready   []*Chunk
	held    int    // items pending (not those ready and on their way out)
	txns    uint64 // Txns begun
	// overflowed is the items made ready to make room since the last
	// flush; they wake the goroutine once there are overflowWake of them
	// (or anything else is ready, or at the next tick).
	overflowed, overflowWake int
	// warmHashes and warmSink are Warm's: the hashes of its trace ids, and
	// what it read, kept so that the reads are not optimized away.
	warmHashes []uint32
	warmSink   uint64

	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
}

// New returns a Store; Start starts its goroutine.
func New(cfg Config) *Store {
	tick := cfg.Wait / 10
	tick = max(tick, time.Millisecond)
	tick = min(tick, 100*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	return &Store{
		cfg:  cfg,
		tick: tick,
		ids:  newIDTable(cfg.MaxTraces),
		wake: make(chan struct{}, 1),

		overflowWake: max(1, cfg.MaxHeldItems/overflowShare),
		ctx:          ctx,
		cancel:       cancel,
	}
}

// Start starts the releasing goroutine.
func (s *Store) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		return
	}
	s.stop = make(chan struct{})
	s.done = make(chan struct{})
	if s.ctx.Err() != nil { // started again after a Stop
		s.ctx, s.cancel = context.WithCancel(context.Background())
	}
	go s.run(s.stop, s.done)
}

// Stop stops the releasing goroutine. Owners unregister first, so nothing
// is held any more.
func (s *Store) Stop() {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.stop = nil
	s.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-done
	s.mu.Lock()
	s.cancel()
	s.mu.Unlock()
}

// Register adds an owner whose released chunks go to deliver.
func (s *Store) Register(deliver DeliverFunc) *Owner {
	return &Owner{deliver: deliver}
}

// Unregister releases every chunk the owner holds (pending chunks with
// ReasonShutdown, chunks already released with their reason) through its
// DeliverFunc, waits for deliveries in flight, and accepts no more chunks
// from it.
func (s *Store) Unregister(ctx context.Context, o *Owner) {
	s.mu.Lock()
	o.closed = true
	var mine []*Chunk
	for c := s.fifo.head; c != nil; {
		next := c.next
		if c.owner == o {
			s.removePending(c)
			c.Reason = ReasonShutdown
			mine = append(mine, c)
		}
		c = next
	}
	kept := s.ready[:0]
	var readyMine []*Chunk
	for _, c := range s.ready {
		if c.owner == o {
			readyMine = append(readyMine, c)
		} else {
			kept = append(kept, c)
		}
	}
	clear(s.ready[len(kept):])
	s.ready = kept
	s.mu.Unlock()

	o.inflight.Wait()
	o.delivering.Lock()
	defer o.delivering.Unlock()
	if len(readyMine) > 0 {
		o.deliver(ctx, readyMine)
	}
	if len(mine) > 0 {
		o.deliver(ctx, mine)
	}
}

// Held returns the number of items held (not counting those released and on
// their way to the next consumer).
func (s *Store) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// Traces returns the number of trace ids remembered.
func (s *Store) Traces() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids.len()
}

// Txn is one batch's access to the Store, under its lock: learn first, then
// look up and hold. End releases the lock.
type Txn struct {
	s     *Store
	now   time.Time
	seq   uint64 // tells the chunks held in this Txn from others
	woken bool
}

// Begin locks the Store for one batch.
func (s *Store) Begin() Txn {
	s.mu.Lock()
	s.txns++
	return Txn{s: s, now: time.Now(), seq: s.txns}
}

// Now is the time the Txn began: the hold start of the chunks it holds.
func (t *Txn) Now() time.Time { return t.now }

// End unlocks the Store and wakes the releasing goroutine if something became
// ready.
func (t *Txn) End() {
	ready := len(t.s.ready) > 0
	t.s.mu.Unlock()
	if ready && t.woken {
		select {
		case t.s.wake <- struct{}{}:
		default:
		}
	}
}

// EndTake unlocks the Store like End, but takes what End would wake the
// releasing goroutine for (the chunks ready, of every owner) and returns it
// for the caller to deliver with Release.Deliver, in its own goroutine. A
// batch that releases held items then hands them on itself: no hand-over
// to another goroutine, and a sender that outpaces the next consumer is
// slowed by the releases its batches cause.
func (t *Txn) EndTake() Release {
	s := t.s
	var r Release
	if t.woken && len(s.ready) > 0 {
		r = Release{ctx: s.ctx, groups: s.takeReady()}
	}
	s.mu.Unlock()
	return r
}

// Release is what EndTake took: ready chunks, grouped by owner.
type Release struct {
	ctx    context.Context // the Store's, taken with the chunks
	groups []ownerChunks
}

// ownerChunks are released chunks of one owner, oldest first.
type ownerChunks struct {
	o      *Owner
	chunks []*Chunk
}

// Deliver hands the chunks to their owners, in the caller's goroutine. An
// owner busy delivering (to another batch, or further up this goroutine's
// stack, through a connector back into the same processor) gets its chunks
// from a goroutine of their own once it is done. When one owner's delivery
// panics (a next consumer's panic, which an HTTP server recovers from), the
// owners after it still get theirs, each from a goroutine of its own, and
// the panic goes on up: their chunks are not lost, and Unregister does not
// wait forever for deliveries that never ran.
func (r Release) Deliver() {
	next := 0
	defer func() {
		for _, g := range r.groups[next:] {
			go deliverWhenFree(r.ctx, g)
		}
	}()
	for next < len(r.groups) {
		g := r.groups[next]
		next++
		if g.o.delivering.TryLock() {
			deliverLocked(r.ctx, g)
			continue
		}
		go deliverWhenFree(r.ctx, g)
	}
}

// deliverWhenFree delivers g once its owner's earlier delivery is done.
func deliverWhenFree(ctx context.Context, g ownerChunks) {
	g.o.delivering.Lock()
	deliverLocked(ctx, g)
}

// deliverLocked delivers g, whose owner's delivering lock the caller holds,
// and lets the lock and the owner's count of deliveries in flight go.
func deliverLocked(ctx context.Context, g ownerChunks) {
	defer g.o.inflight.Done()
	defer g.o.delivering.Unlock()
	g.o.deliver(ctx, g.chunks)
}

// Learn records the trace's request id. The first id learned for a trace
// stays. Chunks held for the trace become ready, to be annotated with it.
// The Store keeps its own copy of the id: the caller's string may be a view
// of a larger buffer (a receiver's arena, a request), which remembering the
// id for trace_ttl would otherwise keep alive.
func (t *Txn) Learn(tid pcommon.TraceID, xrid string) {
	s := t.s
	e := s.ids.get(tid)
	switch {
	case e == nil:
		s.insertID(tid, xrid, false, t.now)
	case e.none:
		s.ids.setID(e, xrid)
	default:
		if !t.expired(e) {
			return
		}
		s.ids.relearn(e, xrid, t.now)
	}
	t.releaseTrace(tid, ReasonRequestID, xrid)
}

// LearnNone records that the trace's root arrived without a request id, unless
// an id is already known. Chunks held for the trace become ready, unchanged.
func (t *Txn) LearnNone(tid pcommon.TraceID) {
	s := t.s
	if e := s.ids.get(tid); e != nil && !t.expired(e) {
		return
	} else if e != nil {
		s.ids.remove(e)
	}
	s.insertID(tid, "", true, t.now)
	t.releaseTrace(tid, ReasonNoRequestID, "")
}

// Warm brings the Store's memory of the given traces into the CPU's caches
// ahead of the Learn and Lookup calls for them: a look-up in the memory of
// max_traces traces is mostly cache misses, one after another when the
// look-ups come one at a time, but the reads of one pass over the batch's
// trace ids do not wait for each other. learns is how many of them the
// batch will learn: when they could take the Store past max_traces, the
// slots of as many of the oldest traces, which it would then forget, are
// read too. It changes nothing; an id may come more than once.
func (t *Txn) Warm(tids []pcommon.TraceID, learns int) {
	s := t.s
	forget := 0
	if s.cfg.MaxTraces > 0 {
		forget = min(learns, max(0, s.ids.len()+learns-s.cfg.MaxTraces))
	}
	s.warmHashes = s.warmHashes[:0]
	s.warmSink += s.ids.warm(tids, &s.warmHashes, forget)
}

// Lookup returns what is known about the trace's request id.
func (t *Txn) Lookup(tid pcommon.TraceID) (string, State) {
	e := t.s.ids.get(tid)
	if e == nil || t.expired(e) {
		return "", Unknown
	}
	if e.none {
		return "", None
	}
	return t.s.ids.xrid(e), Known
}

// Hold keeps data (items spans or log records of trace tid) for up to the
// wait. It returns false when holding is off, the owner is shutting down, or
// the items do not fit even after the oldest held chunks are released
// (ReasonOverflow) to make room; the caller then passes them on unchanged.
func (t *Txn) Hold(o *Owner, tid pcommon.TraceID, data any, items int) bool {
	return t.HoldChunk(o, tid, data, items) != nil
}

// HoldChunk is Hold returning the held chunk (nil when not held), so that
// the caller can set its Ext before End.
func (t *Txn) HoldChunk(o *Owner, tid pcommon.TraceID, data any, items int) *Chunk {
	if !t.holdable(o, items) {
		return nil
	}
	c := &Chunk{}
	t.HoldIn(c, o, tid, data, items)
	return c
}

// HoldIn is HoldChunk holding in c, a zero Chunk of the caller's (who may
// allocate the chunks of a batch at once); it returns whether c is held.
func (t *Txn) HoldIn(c *Chunk, o *Owner, tid pcommon.TraceID, data any, items int) bool {
	if !t.holdable(o, items) {
		return false
	}
	s := t.s
	if s.held+items > s.cfg.MaxHeldItems {
		var last *Chunk
		for s.held+items > s.cfg.MaxHeldItems {
			last = s.fifo.head
			t.overflow(last)
		}
		// The rest of the batch (Txn) the last chunk pushed out was held
		// in goes with it: a batch released in one piece goes downstream
		// as it is, where one split between two releases is taken apart
		// item by item. The chunks of one Txn are next to each other in
		// the fifo. A batch pushing out its own chunks (larger than the
		// bound) keeps the rest.
		for h := s.fifo.head; h != nil && h.txn == last.txn && h.txn != t.seq; h = s.fifo.head {
			t.overflow(h)
		}
	}
	hash := s.ids.index.hash(tid)
	*c = Chunk{TraceID: tid, Data: data, Items: items, owner: o, deadline: t.now.Add(s.cfg.Wait), txn: t.seq, hash: hash}
	s.fifo.pushBack(c)
	if h := s.pending.get(tid, hash); h == nil {
		c.ttail = c
		s.pending.add(c)
	} else {
		h.ttail.tnext = c
		h.ttail = c
	}
	s.held += items
	return true
}

// overflow releases c, the oldest pending chunk, to make room.
func (t *Txn) overflow(c *Chunk) {
	s := t.s
	s.removePending(c)
	c.Reason = ReasonOverflow
	s.ready = append(s.ready, c)
	s.overflowed += c.Items
	if s.overflowed >= s.overflowWake {
		t.woken = true
	}
}

// holdable says whether items of o can be held at all (making room if
// need be).
func (t *Txn) holdable(o *Owner, items int) bool {
	return t.s.cfg.Wait > 0 && !o.closed && items <= t.s.cfg.MaxHeldItems
}

// Restore takes back a chunk an earlier run held (read from storage after a
// crash). It is held again with a fresh wait, so that its trace's root still
// annotates it, unless the trace's id (or its absence) is already known, in
// which case it is released at once (ReasonRequestID or ReasonNoRequestID);
// when it cannot be held (holding off, no room) it is released unchanged
// (ReasonTimeout with holding off, ReasonOverflow otherwise). It returns
// whether the chunk is held.
func (t *Txn) Restore(o *Owner, tid pcommon.TraceID, data any, items int, ext any) bool {
	s := t.s
	release := func(reason Reason, xrid string) bool {
		c := &Chunk{TraceID: tid, Data: data, Items: items, Reason: reason, XRequestID: xrid, Ext: ext, owner: o}
		s.ready = append(s.ready, c)
		t.woken = true
		return false
	}
	switch xrid, st := t.Lookup(tid); st {
	case Known:
		return release(ReasonRequestID, xrid)
	case None:
		return release(ReasonNoRequestID, "")
	}
	if c := t.HoldChunk(o, tid, data, items); c != nil {
		c.Ext = ext
		return true
	}
	if s.cfg.Wait <= 0 {
		return release(ReasonTimeout, "")
	}
	return release(ReasonOverflow, "")
}

func (t *Txn) expired(e *idEntry) bool {
	return t.s.cfg.TraceTTL > 0 && t.s.ids.age(e, t.now) >= t.s.cfg.TraceTTL
}

func (t *Txn) releaseTrace(tid pcommon.TraceID, reason Reason, xrid string) {
	s := t.s
	if s.pending.len() == 0 {
		return
	}
	slot, pos := s.pending.find(tid, s.ids.index.hash(tid))
	if pos < 0 {
		return
	}
	h := s.pending.heads[pos]
	s.pending.removeAt(slot, pos)
	for c := h; c != nil; {
		next := c.tnext
		c.tnext, c.ttail = nil, nil
		s.fifo.remove(c)
		s.held -= c.Items
		c.Reason, c.XRequestID = reason, xrid
		s.ready = append(s.ready, c)
		c = next
	}
	t.woken = true
}

func (s *Store) insertID(tid pcommon.TraceID, xrid string, none bool, now time.Time) {
	for s.cfg.MaxTraces > 0 && s.ids.len() >= s.cfg.MaxTraces {
		s.ids.remove(s.ids.oldest())
	}
	s.ids.insert(tid, xrid, none, now)
}

// removePending takes c out of the pending structures.
func (s *Store) removePending(c *Chunk) {
	s.fifo.remove(c)
	s.held -= c.Items
	if c.ttail != nil {
		// The trace's oldest chunk, as the fifo's head always is.
		if n := c.tnext; n == nil {
			s.pending.remove(c)
		} else {
			n.ttail = c.ttail
			s.pending.replace(c, n)
		}
		c.tnext, c.ttail = nil, nil
		return
	}
	h := s.pending.get(c.TraceID, c.hash)
	for prev := h; prev.tnext != nil; prev = prev.tnext {
		if prev.tnext != c {
			continue
		}
		prev.tnext = c.tnext
		if h.ttail == c {
			h.ttail = prev
		}
		break
	}
	c.tnext = nil
}

func (s *Store) run(stop, done chan struct{}) {
	defer close(done)
	ticker := time.NewTicker(s.tick)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-ticker.C:
			s.expire(now)
		case <-s.wake:
		}
		s.flush()
	}
}

// expire makes chunks whose wait is over ready and forgets trace ids older
// than the TTL.
func (s *Store) expire(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := s.fifo.head; c != nil; c = s.fifo.head {
		if c.deadline.After(now) {
			break
		}
		s.removePending(c)
		c.Reason = ReasonTimeout
		s.ready = append(s.ready, c)
	}
	if s.cfg.TraceTTL > 0 {
		for e := s.ids.oldest(); e != nil; e = s.ids.oldest() {
			if s.ids.age(e, now) < s.cfg.TraceTTL {
				break
			}
			s.ids.remove(e)
		}
	}
}

// flush hands every ready chunk to its owner, one call per owner.
func (s *Store) flush() {
	s.mu.Lock()
	groups, ctx := s.takeReady(), s.ctx
	s.mu.Unlock()
	for _, g := range groups {
		g.o.delivering.Lock()
		deliverLocked(ctx, g)
	}
}

// takeReady takes the ready chunks, grouped by owner, each group counted in
// its owner's deliveries in flight; the caller holds s.mu.
func (s *Store) takeReady() []ownerChunks {
	if len(s.ready) == 0 {
		return nil
	}
	ready := s.ready
	s.ready = nil
	s.overflowed = 0
	var groups []ownerChunks
	for _, c := range ready {
		i := 0
		for i < len(groups) && groups[i].o != c.owner {
			i++
		}
		if i == len(groups) {
			groups = append(groups, ownerChunks{o: c.owner})
			c.owner.inflight.Add(1)
		}
		groups[i].chunks = append(groups[i].chunks, c)
	}
	return groups
}

// chunkList is a doubly linked list of chunks, linked by Chunk.prev and
// Chunk.next, so that adding and removing allocate nothing.
type chunkList struct{ head, tail *Chunk }

func (l *chunkList) pushBack(c *Chunk) {
	c.prev, c.next = l.tail, nil
	if l.tail == nil {
		l.head = c
	} else {
		l.tail.next = c
	}
	l.tail = c
}

func (l *chunkList) remove(c *Chunk) {
	if c.prev == nil {
		l.head = c.next
	} else {
		c.prev.next = c.next
	}
	if c.next == nil {
		l.tail = c.prev
	} else {
		c.next.prev = c.prev
	}
	c.prev, c.next = nil, nil
}
