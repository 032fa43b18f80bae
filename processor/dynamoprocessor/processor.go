package dynamoprocessor // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

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

	sigOpt    metric.MeasurementOption
	reasonOpt [propagate.ReasonShutdown + 1]metric.MeasurementOption

	scratch sync.Pool // *batchScratch

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
		sigOpt: metric.WithAttributeSet(attribute.NewSet(attribute.String("signal", signal))),
	}
	for r := propagate.ReasonRequestID; r <= propagate.ReasonShutdown; r++ {
		b.reasonOpt[r] = metric.WithAttributeSet(attribute.NewSet(
			attribute.String("signal", signal), attribute.String("reason", r.String())))
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

// learned is one thing a batch taught about a trace.
type learned struct {
	tid  pcommon.TraceID
	xrid string // "" with none: the root arrived without an id
	none bool
}

// Per-item flags kept between the two passes over a batch.
const (
	flagLookup  uint8 = 1 << iota // has a trace id, lacks x_request_id
	flagChanged                   // a rule changed it in the first pass
)

// batchScratch is reused across batches so the passes do not allocate.
type batchScratch struct {
	learn []learned
	flags []uint8
}

func (s *batchScratch) reset() {
	s.learn = s.learn[:0]
	s.flags = s.flags[:0]
}

func (s *batchScratch) addLearned(l learned) {
	if n := len(s.learn); n > 0 && s.learn[n-1] == l {
		return
	}
	s.learn = append(s.learn, l)
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

// lookupCache remembers the last trace looked up: items of one trace are
// usually next to each other.
type lookupCache struct {
	valid bool
	tid   pcommon.TraceID
	xrid  string
	state propagate.State
}

func (c *lookupCache) lookup(txn *propagate.Txn, tid pcommon.TraceID) (string, propagate.State) {
	if c.valid && c.tid == tid {
		return c.xrid, c.state
	}
	c.xrid, c.state = txn.Lookup(tid)
	c.tid, c.valid = tid, true
	return c.xrid, c.state
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
			b.sh.tel.ProcessorDynamoHeldReleased.Add(ctx, n, b.reasonOpt[r])
		}
	}
	if propagated > 0 {
		b.sh.tel.ProcessorDynamoRequestIdsPropagated.Add(ctx, propagated, b.sigOpt)
		b.sh.tel.ProcessorDynamoItemsChanged.Add(ctx, propagated, b.sigOpt)
	}
	b.sh.tel.ProcessorDynamoHeldItems.Add(ctx, -int64(total), b.sigOpt)
	if err != nil {
		b.sh.tel.ProcessorDynamoReleaseRefused.Add(ctx, int64(total), b.sigOpt)
		b.logger.Error("Next consumer refused held items released by the dynamo processor; they are lost",
			zap.String("signal", b.signal), zap.Int("items", total), zap.Error(err))
	}
}

// heldOnArrival records items that were held (held > 0) and items that would
// have been held but did not fit (passed on unchanged at once, counted as an
// overflow release).
func (b *base) heldOnArrival(ctx context.Context, held, overflow int64) {
	if held+overflow > 0 {
		b.sh.tel.ProcessorDynamoItemsHeld.Add(ctx, held+overflow, b.sigOpt)
	}
	if held > 0 {
		b.sh.tel.ProcessorDynamoHeldItems.Add(ctx, held, b.sigOpt)
	}
	if overflow > 0 {
		b.sh.tel.ProcessorDynamoHeldReleased.Add(ctx, overflow, b.reasonOpt[propagate.ReasonOverflow])
	}
}
