package propagate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

type recorder struct {
	mu     sync.Mutex
	chunks []*Chunk
}

func (r *recorder) deliver(_ context.Context, chunks []*Chunk) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.chunks = append(r.chunks, chunks...)
}

func (r *recorder) got() []*Chunk {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Chunk(nil), r.chunks...)
}

// waitFor polls until n chunks were delivered.
func (r *recorder) waitFor(t *testing.T, n int) []*Chunk {
	t.Helper()
	testutil.Eventually(t, 5*time.Second, time.Millisecond, func() error {
		if got := len(r.got()); got < n {
			return fmt.Errorf("%d chunks delivered, want %d", got, n)
		}
		return nil
	})
	return r.got()
}

func tid(b byte) pcommon.TraceID {
	return pcommon.TraceID{b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
}

func newStore(t *testing.T, cfg Config) (*Store, *Owner, *recorder) {
	t.Helper()
	s := New(cfg)
	s.Start()
	r := &recorder{}
	o := s.Register(r.deliver)
	t.Cleanup(func() {
		s.Unregister(context.Background(), o)
		s.Stop()
	})
	return s, o, r
}

func hold(s *Store, o *Owner, id pcommon.TraceID, data string, items int) bool {
	txn := s.Begin()
	defer txn.End()
	return txn.Hold(o, id, data, items)
}

func TestLearnAndLookup(t *testing.T) {
	s, _, _ := newStore(t, Config{Wait: time.Hour, MaxHeldItems: 10, MaxTraces: 10})
	txn := s.Begin()
	_, st := txn.Lookup(tid(1))
	assert.Equal(t, Unknown, st)
	txn.Learn(tid(1), "r1")
	txn.Learn(tid(1), "r2") // the first id learned stays
	txn.LearnNone(tid(1))   // a known id is not forgotten
	txn.LearnNone(tid(2))
	x, st := txn.Lookup(tid(1))
	assert.Equal(t, Known, st)
	assert.Equal(t, "r1", x)
	_, st = txn.Lookup(tid(2))
	assert.Equal(t, None, st)
	txn.Learn(tid(2), "late") // a log line may still carry it
	x, st = txn.Lookup(tid(2))
	txn.End()
	assert.Equal(t, Known, st)
	assert.Equal(t, "late", x)
}

func TestReleaseWhenLearned(t *testing.T) {
	s, o, r := newStore(t, Config{Wait: time.Hour, MaxHeldItems: 10, MaxTraces: 10})
	require.True(t, hold(s, o, tid(1), "a", 2))
	require.True(t, hold(s, o, tid(1), "b", 1))
	require.True(t, hold(s, o, tid(2), "c", 1))
	assert.Equal(t, 4, s.Held())

	txn := s.Begin()
	txn.Learn(tid(1), "test-trace-001")
	txn.End()

	got := r.waitFor(t, 2)
	require.Len(t, got, 2)
	for i, want := range []string{"a", "b"} {
		assert.Equal(t, want, got[i].Data)
		assert.Equal(t, ReasonRequestID, got[i].Reason)
		assert.Equal(t, "test-trace-001", got[i].XRequestID)
	}
	assert.Equal(t, 1, s.Held(), "trace 2 is still held")
}

func TestReleaseWhenRootHasNoID(t *testing.T) {
	s, o, r := newStore(t, Config{Wait: time.Hour, MaxHeldItems: 10, MaxTraces: 10})
	require.True(t, hold(s, o, tid(1), "a", 1))
	txn := s.Begin()
	txn.LearnNone(tid(1))
	txn.End()
	got := r.waitFor(t, 1)
	assert.Equal(t, ReasonNoRequestID, got[0].Reason)
	assert.Empty(t, got[0].XRequestID)
}

func TestReleaseOnTimeout(t *testing.T) {
	s, o, r := newStore(t, Config{Wait: 20 * time.Millisecond, MaxHeldItems: 10, MaxTraces: 10})
	start := time.Now()
	require.True(t, hold(s, o, tid(1), "a", 3))
	got := r.waitFor(t, 1)
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond, "not released before the wait")
	assert.Equal(t, ReasonTimeout, got[0].Reason)
	assert.Equal(t, 3, got[0].Items)
	testutil.Eventually(t, 5*time.Second, time.Millisecond, func() error {
		if h := s.Held(); h != 0 {
			return fmt.Errorf("held %d", h)
		}
		return nil
	})
}

func TestOverflowReleasesOldest(t *testing.T) {
	s, o, r := newStore(t, Config{Wait: time.Hour, MaxHeldItems: 3, MaxTraces: 10})
	require.True(t, hold(s, o, tid(1), "oldest", 2))
	require.True(t, hold(s, o, tid(2), "newer", 1))
	require.True(t, hold(s, o, tid(3), "newest", 2)) // evicts "oldest"
	got := r.waitFor(t, 1)
	assert.Equal(t, "oldest", got[0].Data)
	assert.Equal(t, ReasonOverflow, got[0].Reason)
	assert.False(t, hold(s, o, tid(4), "too big", 4), "more than the bound is never held")
	testutil.Eventually(t, 5*time.Second, time.Millisecond, func() error {
		if h := s.Held(); h != 3 {
			return fmt.Errorf("held %d", h)
		}
		return nil
	})
}

func TestHoldingOff(t *testing.T) {
	s, o, _ := newStore(t, Config{Wait: 0, MaxHeldItems: 10, MaxTraces: 10})
	assert.False(t, hold(s, o, tid(1), "a", 1))
}

func TestUnregisterReleasesEverything(t *testing.T) {
	s := New(Config{Wait: time.Hour, MaxHeldItems: 10, MaxTraces: 10})
	// The goroutine is not started: ready chunks stay ready until Unregister.
	r1, r2 := &recorder{}, &recorder{}
	o1, o2 := s.Register(r1.deliver), s.Register(r2.deliver)
	require.True(t, hold(s, o1, tid(1), "pending", 1))
	require.True(t, hold(s, o1, tid(2), "learned", 1))
	require.True(t, hold(s, o2, tid(3), "other owner", 1))
	txn := s.Begin()
	txn.Learn(tid(2), "r2")
	txn.End()

	s.Unregister(context.Background(), o1)
	got := r1.got()
	require.Len(t, got, 2)
	assert.Equal(t, "learned", got[0].Data)
	assert.Equal(t, ReasonRequestID, got[0].Reason)
	assert.Equal(t, "pending", got[1].Data)
	assert.Equal(t, ReasonShutdown, got[1].Reason)
	assert.Empty(t, r2.got())
	assert.Equal(t, 1, s.Held())
	assert.False(t, hold(s, o1, tid(4), "after shutdown", 1))

	s.Unregister(context.Background(), o2)
	assert.Len(t, r2.got(), 1)
	assert.Equal(t, 0, s.Held())
}

func TestTraceBounds(t *testing.T) {
	s, _, _ := newStore(t, Config{Wait: time.Hour, MaxHeldItems: 10, MaxTraces: 2, TraceTTL: time.Hour})
	txn := s.Begin()
	txn.Learn(tid(1), "a")
	txn.Learn(tid(2), "b")
	txn.Learn(tid(3), "c") // forgets trace 1
	_, st1 := txn.Lookup(tid(1))
	_, st3 := txn.Lookup(tid(3))
	txn.End()
	assert.Equal(t, Unknown, st1)
	assert.Equal(t, Known, st3)
	assert.Equal(t, 2, s.Traces())

	s2, _, _ := newStore(t, Config{Wait: time.Hour, MaxHeldItems: 10, MaxTraces: 10, TraceTTL: 10 * time.Millisecond})
	txn = s2.Begin()
	txn.Learn(tid(1), "a")
	txn.End()
	testutil.Eventually(t, 5*time.Second, time.Millisecond, func() error {
		if n := s2.Traces(); n != 0 {
			return errors.New("trace id not forgotten after its TTL")
		}
		return nil
	})
}

func TestConcurrentUse(t *testing.T) {
	s, o, r := newStore(t, Config{Wait: 5 * time.Millisecond, MaxHeldItems: 50, MaxTraces: 100})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				id := tid(byte(i % 64))
				txn := s.Begin()
				if _, st := txn.Lookup(id); st == Unknown {
					txn.Hold(o, id, i, 1)
				}
				if i%7 == g {
					txn.Learn(id, "x")
				}
				txn.End()
			}
		}(g)
	}
	wg.Wait()
	testutil.Eventually(t, 5*time.Second, time.Millisecond, func() error {
		if h := s.Held(); h != 0 {
			return fmt.Errorf("held %d", h)
		}
		return nil
	})
	assert.NotEmpty(t, r.got())
}

func TestReasonNames(t *testing.T) {
	names := map[string]bool{}
	for _, r := range []Reason{ReasonRequestID, ReasonNoRequestID, ReasonTimeout, ReasonOverflow, ReasonShutdown} {
		names[r.String()] = true
	}
	assert.Len(t, names, 5)
	assert.False(t, names["unknown"])
}

func TestRestartAfterStop(t *testing.T) {
	s := New(Config{Wait: time.Hour, MaxHeldItems: 10, MaxTraces: 10})
	s.Start()
	s.Stop()
	s.Start()
	defer s.Stop()
	var ctxErr error
	var mu sync.Mutex
	delivered := 0
	o := s.Register(func(ctx context.Context, chunks []*Chunk) {
		mu.Lock()
		defer mu.Unlock()
		ctxErr = ctx.Err()
		delivered += len(chunks)
	})
	defer s.Unregister(context.Background(), o)
	require.True(t, hold(s, o, tid(1), "a", 1))
	txn := s.Begin()
	txn.Learn(tid(1), "x")
	txn.End()
	testutil.Eventually(t, 5*time.Second, time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if delivered != 1 {
			return errors.New("not delivered")
		}
		return nil
	})
	mu.Lock()
	assert.NoError(t, ctxErr, "deliveries after a restart get a live context")
	mu.Unlock()
}

// A restored chunk is held again with a fresh wait, or released at once when
// its trace's id (or its absence) is known, or when holding is off.
func TestRestore(t *testing.T) {
	s, o, r := newStore(t, Config{Wait: time.Hour, MaxHeldItems: 10, MaxTraces: 10})
	txn := s.Begin()
	txn.Learn(tid(1), "r1")
	txn.LearnNone(tid(2))
	assert.False(t, txn.Restore(o, tid(1), "known", 1, "k1"))
	assert.False(t, txn.Restore(o, tid(2), "none", 1, "k2"))
	assert.True(t, txn.Restore(o, tid(3), "unknown", 2, "k3"))
	txn.End()
	got := r.waitFor(t, 2)
	require.Len(t, got, 2)
	assert.Equal(t, ReasonRequestID, got[0].Reason)
	assert.Equal(t, "r1", got[0].XRequestID)
	assert.Equal(t, "k1", got[0].Ext)
	assert.Equal(t, ReasonNoRequestID, got[1].Reason)
	assert.Equal(t, 2, s.Held())

	txn = s.Begin()
	txn.Learn(tid(3), "r3")
	txn.End()
	got = r.waitFor(t, 3)
	assert.Equal(t, "unknown", got[2].Data)
	assert.Equal(t, "k3", got[2].Ext, "the owner's bookkeeping comes back")

	off, oo, ro := newStore(t, Config{MaxHeldItems: 10, MaxTraces: 10})
	txn = off.Begin()
	assert.False(t, txn.Restore(oo, tid(4), "x", 1, nil))
	txn.End()
	assert.Equal(t, ReasonTimeout, ro.waitFor(t, 1)[0].Reason)
}

// A trace's chunks from several batches and owners: taking one out of the
// middle (its owner unregisters) or the oldest (overflow) keeps the others,
// which a later id releases in the order they were held.
func TestChunksOfOneTrace(t *testing.T) {
	s, o1, o2, r1, r2 := twoOwners(6)
	require.True(t, hold(s, o1, tid(1), "a", 1))
	require.True(t, hold(s, o2, tid(1), "b", 1))
	require.True(t, hold(s, o1, tid(1), "c", 1))
	require.True(t, hold(s, o2, tid(1), "d", 1))
	require.True(t, hold(s, o1, tid(2), "x", 1))
	require.True(t, hold(s, o1, tid(1), "e", 1))
	s.Unregister(context.Background(), o2)
	data, _ := dataAndReasons(r2.got())
	assert.Equal(t, []any{"b", "d"}, data)
	assert.Equal(t, 4, s.Held())

	require.True(t, hold(s, o1, tid(3), "big", 4)) // evicts "a" and "c"
	assert.Equal(t, 6, s.Held())
	txn := s.Begin()
	txn.Learn(tid(1), "r1")
	txn.End()
	assert.Equal(t, 5, s.Held())
	s.Unregister(context.Background(), o1)
	data, reasons := dataAndReasons(r1.got())
	assert.Equal(t, []any{"a", "c", "e", "x", "big"}, data)
	assert.Equal(t, []Reason{ReasonOverflow, ReasonOverflow, ReasonRequestID, ReasonShutdown, ReasonShutdown}, reasons)
	assert.Zero(t, s.Held())
	assert.Zero(t, s.pending.len())
	assert.Empty(t, s.pending.heads)
}

// Making room pushes out the rest of the batch (Txn) the oldest chunks came
// in, so that the batch goes downstream in one piece; a batch larger than
// the room left pushes out its own chunks only as far as it must.
func TestOverflowReleasesWholeBatches(t *testing.T) {
	s, o, _, r, _ := twoOwners(6)
	holdBatch := func(data ...string) {
		txn := s.Begin()
		defer txn.End()
		for _, d := range data {
			require.True(t, txn.Hold(o, tid(d[0]), d, 1))
		}
	}
	holdBatch("a1", "b1", "c1")
	holdBatch("d2", "e2")
	holdBatch("f3") // full
	holdBatch("g4") // needs one item of room: all of the first batch goes
	assert.Equal(t, 4, s.Held())
	holdBatch("h5", "i5", "j5", "k5", "l5", "m5", "n5")
	// The second and third batches (3 items) go, then the fourth (g4), then
	// the new batch's own first chunk once it fills the store itself.
	assert.Equal(t, 6, s.Held())
	s.Unregister(context.Background(), o)
	data, reasons := dataAndReasons(r.got())
	assert.Equal(t, []any{"a1", "b1", "c1", "d2", "e2", "f3", "g4", "h5", "i5", "j5", "k5", "l5", "m5", "n5"}, data)
	assert.Equal(t, []Reason{
		ReasonOverflow, ReasonOverflow, ReasonOverflow, ReasonOverflow, ReasonOverflow, ReasonOverflow, ReasonOverflow, ReasonOverflow,
		ReasonShutdown, ReasonShutdown, ReasonShutdown, ReasonShutdown, ReasonShutdown, ReasonShutdown,
	}, reasons)
}

// twoOwners returns a Store holding up to maxHeld items for an hour, its
// goroutine not started (ready chunks stay ready until Unregister), and two
// owners with their recorders.
func twoOwners(maxHeld int) (s *Store, o1, o2 *Owner, r1, r2 *recorder) {
	s = New(Config{Wait: time.Hour, MaxHeldItems: maxHeld, MaxTraces: 10})
	r1, r2 = &recorder{}, &recorder{}
	return s, s.Register(r1.deliver), s.Register(r2.deliver), r1, r2
}

// dataAndReasons lists the chunks' data and release reasons, in order.
func dataAndReasons(chunks []*Chunk) (data []any, reasons []Reason) {
	for _, c := range chunks {
		data = append(data, c.Data)
		reasons = append(reasons, c.Reason)
	}
	return data, reasons
}

// Taking out a trace's newest chunk (its owner unregisters) and then its
// oldest (overflow) leaves the trace's list able to take new chunks, which
// its id then releases with the one left, in order.
func TestTraceListAfterNewestAndOldestGo(t *testing.T) {
	s, o1, o2, r1, _ := twoOwners(4)
	require.True(t, hold(s, o1, tid(1), "a", 1))
	require.True(t, hold(s, o1, tid(1), "b", 1))
	require.True(t, hold(s, o2, tid(1), "c", 1))
	s.Unregister(context.Background(), o2) // "c", the newest, goes
	require.True(t, hold(s, o1, tid(1), "d", 1))
	require.True(t, hold(s, o1, tid(2), "x", 1))
	require.True(t, hold(s, o1, tid(1), "e", 1)) // evicts "a", the oldest
	txn := s.Begin()
	txn.Learn(tid(1), "r1")
	txn.End()
	assert.Equal(t, 1, s.Held())
	s.Unregister(context.Background(), o1)
	data, reasons := dataAndReasons(r1.got())
	assert.Equal(t, []any{"a", "b", "d", "e", "x"}, data)
	assert.Equal(t, []Reason{ReasonOverflow, ReasonRequestID, ReasonRequestID, ReasonRequestID, ReasonShutdown}, reasons)
	assert.Zero(t, s.pending.len())
	assert.Empty(t, s.pending.heads)
}

// Chunks released to make room wake the releasing goroutine only once they
// add up to a share of the bound (or with another release); until then the
// tick takes them.
func TestOverflowWakesInGroups(t *testing.T) {
	s := New(Config{Wait: time.Hour, MaxHeldItems: 4 * overflowShare, MaxTraces: 10})
	o := s.Register((&recorder{}).deliver)
	require.Equal(t, 4, s.overflowWake)
	require.True(t, hold(s, o, tid(1), "a", 2))
	require.True(t, hold(s, o, tid(2), "b", 2))
	require.True(t, hold(s, o, tid(3), "fills", 4*overflowShare-4))
	assert.Empty(t, s.wake)
	require.True(t, hold(s, o, tid(4), "c", 2)) // a goes, 2 items
	assert.Empty(t, s.wake, "2 items made ready: no wake-up yet")
	assert.Len(t, s.ready, 1)
	require.True(t, hold(s, o, tid(5), "d", 2)) // b goes, 4 items
	assert.Len(t, s.wake, 1, "4 items made ready: wake-up")
	<-s.wake

	s.expire(time.Now()) // what a tick does before it flushes
	s.flush()
	assert.Zero(t, s.overflowed)
	require.True(t, hold(s, o, tid(6), "e", 2)) // "fills" goes
	assert.Len(t, s.wake, 1)
	<-s.wake
	s.flush()
	require.True(t, hold(s, o, tid(7), "f", 4*overflowShare-5)) // c goes
	assert.Empty(t, s.wake)
	assert.Len(t, s.ready, 1)
	txn := s.Begin()
	txn.Learn(tid(5), "r5") // another release wakes, taking c along
	txn.End()
	assert.Len(t, s.wake, 1)
	s.Unregister(context.Background(), o)
}

func TestLearnedIDDoesNotPinTheCallersBuffer(t *testing.T) {
	s := New(Config{Wait: time.Second, MaxHeldItems: 10, MaxTraces: 10, TraceTTL: time.Minute})
	buf := []byte("prefix-0123456789abcdef-suffix")
	xrid := unsafe.String(&buf[7], 16) // a view into buf, as a receiver's arena hands out
	tid := pcommon.TraceID{1}
	txn := s.Begin()
	txn.Learn(tid, xrid)
	got, state := txn.Lookup(tid)
	txn.End()
	require.Equal(t, Known, state)
	assert.Equal(t, "0123456789abcdef", got)
	assert.NotSame(t, unsafe.StringData(xrid), unsafe.StringData(got), "the store keeps a view of the caller's buffer")
}

// A Txn ended with EndTake hands what it released to the caller: delivered
// by Release.Deliver before it returns, with no releasing goroutine running
// (the Store is not started), to every owner whose chunks it released.
func TestEndTakeDeliversInTheCallersGoroutine(t *testing.T) {
	s, o1, o2, r1, r2 := twoOwners(10)
	require.True(t, hold(s, o1, tid(1), "spans", 2))
	require.True(t, hold(s, o2, tid(1), "records", 3))
	require.True(t, hold(s, o1, tid(2), "other", 1))

	txn := s.Begin()
	txn.Learn(tid(1), "req-1")
	rel := txn.EndTake()
	assert.Empty(t, r1.got(), "nothing is delivered before Deliver")
	rel.Deliver()

	for _, c := range []struct {
		r    *recorder
		data string
	}{{r1, "spans"}, {r2, "records"}} {
		got := c.r.got()
		require.Len(t, got, 1)
		assert.Equal(t, c.data, got[0].Data)
		assert.Equal(t, ReasonRequestID, got[0].Reason)
		assert.Equal(t, "req-1", got[0].XRequestID)
	}
	assert.Equal(t, 1, s.Held(), "trace 2 is still held")

	// A Txn that released nothing takes nothing.
	txn = s.Begin()
	txn.Learn(tid(3), "req-3")
	rel = txn.EndTake()
	assert.Empty(t, rel.groups)
	rel.Deliver()

	s.Unregister(context.Background(), o1)
	s.Unregister(context.Background(), o2)
	assert.Len(t, r1.got(), 2, "trace 2 released at Unregister")
}

// A delivery that panics (the next consumer's panic, recovered further up
// by an HTTP server) goes on up, and the owners after it in the same
// Release still get their chunks: nothing released is lost, and Unregister
// returns instead of waiting for a delivery that never ran.
func TestPanickingDeliveryLosesNoOtherOwnersChunks(t *testing.T) {
	s := New(Config{Wait: time.Hour, MaxHeldItems: 10, MaxTraces: 10})
	calls := 0
	bad := s.Register(func(context.Context, []*Chunk) {
		calls++
		panic("next consumer")
	})
	good := &recorder{}
	o := s.Register(good.deliver)
	require.True(t, hold(s, bad, tid(1), "spans", 1)) // first in the Release
	require.True(t, hold(s, o, tid(1), "records", 1))

	txn := s.Begin()
	txn.Learn(tid(1), "req-1")
	rel := txn.EndTake()
	require.Len(t, rel.groups, 2)
	require.Same(t, bad, rel.groups[0].o, "the panicking owner's delivery comes first")
	assert.PanicsWithValue(t, "next consumer", rel.Deliver)
	assert.Equal(t, 1, calls)

	got := good.waitFor(t, 1)
	assert.Equal(t, "records", got[0].Data)
	assert.Equal(t, "req-1", got[0].XRequestID)

	done := make(chan struct{})
	go func() {
		s.Unregister(context.Background(), o)
		s.Unregister(context.Background(), bad)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Unregister still waits for a delivery after the panic")
	}
}

// An owner's deliveries never overlap. A delivery that causes another
// release for the same owner (a connector leading back into the processor)
// does not wait for itself: the second goes on once the first is done.
func TestDeliverToABusyOwner(t *testing.T) {
	s := New(Config{Wait: time.Hour, MaxHeldItems: 10, MaxTraces: 10})
	var (
		mu       sync.Mutex
		inside   int
		overlaps int
		got      []string
	)
	var o *Owner
	o = s.Register(func(_ context.Context, chunks []*Chunk) {
		mu.Lock()
		inside++
		if inside > 1 {
			overlaps++
		}
		for _, c := range chunks {
			got = append(got, c.Data.(string))
		}
		first := len(got) == 1
		mu.Unlock()
		if first {
			// Learning trace 2 here releases the owner's other chunk.
			txn := s.Begin()
			txn.Learn(tid(2), "req-2")
			txn.EndTake().Deliver()
			mu.Lock()
			n := len(got)
			mu.Unlock()
			assert.Equal(t, 1, n, "the second delivery waits for the first")
		}
		mu.Lock()
		inside--
		mu.Unlock()
	})
	require.True(t, hold(s, o, tid(1), "first", 1))
	require.True(t, hold(s, o, tid(2), "second", 1))

	txn := s.Begin()
	txn.Learn(tid(1), "req-1")
	txn.EndTake().Deliver()

	testutil.Eventually(t, 5*time.Second, time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) < 2 {
			return fmt.Errorf("%d chunks delivered, want 2", len(got))
		}
		return nil
	})
	s.Unregister(context.Background(), o) // waits for deliveries in flight
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"first", "second"}, got)
	assert.Zero(t, overlaps)
}

// EndTake takes chunks released to make room only once they add up to a
// share of the bound, as End wakes the goroutine for them; until then they
// stay ready, for a later release or the tick.
func TestEndTakeTakesOverflowInGroups(t *testing.T) {
	s := New(Config{Wait: time.Hour, MaxHeldItems: 4 * overflowShare, MaxTraces: 10})
	r := &recorder{}
	o := s.Register(r.deliver)
	holdTake := func(id pcommon.TraceID, data string, items int) {
		txn := s.Begin()
		require.True(t, txn.Hold(o, id, data, items))
		txn.EndTake().Deliver()
	}
	holdTake(tid(1), "a", 2)
	holdTake(tid(2), "b", 2)
	holdTake(tid(3), "fills", 4*overflowShare-4)
	holdTake(tid(4), "c", 2) // a goes, 2 items
	assert.Empty(t, r.got(), "2 items made ready: not taken yet")
	holdTake(tid(5), "d", 2) // b goes, 4 items
	data, reasons := dataAndReasons(r.got())
	assert.Equal(t, []any{"a", "b"}, data)
	assert.Equal(t, []Reason{ReasonOverflow, ReasonOverflow}, reasons)
	assert.Empty(t, s.ready)
	s.Unregister(context.Background(), o)
}

// TestWarmChangesNothing warms a full Store with known, unknown and
// repeated trace ids, and more lessons to come than it has room for, and
// checks that every trace still reads as before, in the same order of age,
// with the same items held, each found from its trace.
func TestWarmChangesNothing(t *testing.T) {
	s, o, _ := newStore(t, Config{Wait: time.Hour, MaxHeldItems: 10, MaxTraces: 8, TraceTTL: time.Hour})
	txn := s.Begin()
	for i := range byte(8) {
		if i%3 == 0 {
			txn.LearnNone(tid(i))
		} else {
			txn.Learn(tid(i), fmt.Sprintf("r%d", i))
		}
	}
	require.True(t, txn.Hold(o, tid(20), "held", 2))
	txn.End()
	state := func() []string {
		txn := s.Begin()
		defer txn.End()
		var out []string
		for i := range byte(24) {
			x, st := txn.Lookup(tid(i))
			out = append(out, fmt.Sprintf("%d:%s:%v", i, x, st))
		}
		for i := s.ids.head; i >= 0; i = s.ids.entries[i].next {
			out = append(out, fmt.Sprintf("age:%d", s.ids.entries[i].tid[0]))
		}
		for c := s.fifo.head; c != nil; c = c.next {
			out = append(out, fmt.Sprintf("held:%d:%v:%v", c.TraceID[0], c.Data, s.pending.get(c.TraceID, c.hash) != nil))
		}
		return out
	}
	before := state()
	for _, learns := range []int{0, 3, 8, 20} {
		txn := s.Begin()
		txn.Warm([]pcommon.TraceID{tid(1), tid(20), tid(1), tid(9), tid(3)}, learns)
		txn.End()
		require.Equal(t, before, state(), "learns=%d", learns)
		require.Equal(t, 8, s.Traces())
		require.Equal(t, 2, s.Held())
	}
}
