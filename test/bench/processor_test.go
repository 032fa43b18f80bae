package bench

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// candidate is one processor configuration of a side-by-side comparison.
type candidate struct {
	name    string
	factory processor.Factory
	config  func(tb testing.TB) component.Config
}

// transformCandidate is the stock baseline: testdata/transform.yaml.
var transformCandidate = candidate{
	name:    "transform",
	factory: transformprocessor.NewFactory(),
	config:  transformConfig,
}

func transformConfig(tb testing.TB) component.Config {
	tb.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "transform.yaml"))
	require.NoError(tb, err)
	sub, err := cm.Sub("transform/dynamo")
	require.NoError(tb, err)
	f := transformprocessor.NewFactory()
	cfg := f.CreateDefaultConfig()
	require.NoError(tb, sub.Unmarshal(cfg))
	require.NoError(tb, confmap.Validate(cfg))
	return cfg
}

// processorCandidates are compared in every processor benchmark, ours first
// (processor_dynamo_test.go puts the dynamo processor in front).
var processorCandidates = []candidate{transformCandidate}

// counter is the next consumer of the benchmarks: it counts and keeps
// nothing, so memory does not grow with b.N.
type counter struct{ spans, records atomic.Int64 }

func (c *counter) traces() consumer.Traces {
	next, _ := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error {
		c.spans.Add(int64(td.SpanCount()))
		return nil
	})
	return next
}

func (c *counter) logs() consumer.Logs {
	next, _ := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		c.records.Add(int64(ld.LogRecordCount()))
		return nil
	})
	return next
}

func newTracesProcessor(tb testing.TB, c candidate, next consumer.Traces) processor.Traces {
	return newTracesProcessorWith(tb, c, c.config(tb), next)
}

// newTracesProcessorWith creates the processor with cfg: a traces and a
// logs processor of one ID made with the same cfg share their state, as in
// a collector whose pipelines both list the processor.
func newTracesProcessorWith(tb testing.TB, c candidate, cfg component.Config, next consumer.Traces) processor.Traces {
	tb.Helper()
	p, err := c.factory.CreateTraces(context.Background(), processortest.NewNopSettings(c.factory.Type()), cfg, next)
	require.NoError(tb, err)
	require.NoError(tb, p.Start(context.Background(), componenttest.NewNopHost()))
	return p
}

func newLogsProcessor(tb testing.TB, c candidate, next consumer.Logs) processor.Logs {
	return newLogsProcessorWith(tb, c, c.config(tb), next)
}

func newLogsProcessorWith(tb testing.TB, c candidate, cfg component.Config, next consumer.Logs) processor.Logs {
	tb.Helper()
	p, err := c.factory.CreateLogs(context.Background(), processortest.NewNopSettings(c.factory.Type()), cfg, next)
	require.NoError(tb, err)
	require.NoError(tb, p.Start(context.Background(), componenttest.NewNopHost()))
	return p
}

// benchTraces feeds the workload's batches, freshly cloned, to the processor
// b.N times (one op = one batch) and reports spans per CPU-second, CPU
// nanoseconds and allocations per span. Shutdown, which releases whatever
// the processor still holds, is measured too; every span must come out.
func benchTraces(b *testing.B, c candidate, w *Workload) {
	var cnt counter
	p := newTracesProcessor(b, c, cnt.traces())
	m := NewMeter(b)
	b.ReportAllocs()
	ctx := context.Background()
	in := consumePooled(b, m, poolSize(w.TraceBatches(), w.TraceBatchBytes(0)),
		w.TracesOfRound,
		ptrace.Traces.SpanCount, warmTraces,
		func(td ptrace.Traces) error { return p.ConsumeTraces(ctx, td) })
	m.Start()
	require.NoError(b, p.Shutdown(ctx))
	m.Stop()
	if got := cnt.spans.Load(); got != int64(in) {
		b.Fatalf("%s: %d spans in, %d out", c.name, in, got)
	}
	m.Report(in, "span")
}

// consumePooled hands b.N batches to consume, clone(i) making the i-th. Batches
// are cloned poolLen at a time outside the measured sections, then a garbage
// collection runs and warm reads each batch once; m measures only the
// consume calls. It returns the number of items (count) handed over.
//
// The collection after the cloning makes the batches part of the live heap
// the collector paces itself by, so that a measured section pays for the
// collections its own allocations cause. But it walks the whole live heap,
// held items included, and pushes the batches out of the CPU caches, while a
// receiver hands a processor a batch it has just unmarshalled: warm reads
// every field again, so that a section starts on input nearly as recently
// touched as that. Both matter (three alternating runs of each layout, CPU-ns per
// item): without warm, dynamo's logs_held case measured 400–446 against
// 282–336 with the collection moved before the cloning; but that made the
// batches eat the collector's headroom, and the requests case measured
// 530–710 against 320–380. Clone, collect, warm, on later processor code:
// logs_held 234–264, requests 323–429 (the collection first, same code:
// 219–290 and 555–763).
func consumePooled[T any](b *testing.B, m *Meter, poolLen int, clone func(int) T, count func(T) int, warm func(T), consume func(T) error) int {
	pool := make([]T, poolLen)
	in := 0
	for i := 0; i < b.N; i++ {
		k := i % len(pool)
		if k == 0 {
			for j := range pool {
				pool[j] = clone(i + j)
			}
			settle()
			for j := range pool {
				warm(pool[j])
			}
			m.Start()
		}
		in += count(pool[k])
		if err := consume(pool[k]); err != nil {
			b.Fatal(err)
		}
		if k == len(pool)-1 || i == b.N-1 {
			m.Stop()
		}
	}
	return in
}

// poolSize is how many cloned batches are made at a time: at most about 4
// MB of protobuf, so that the benchmark's own input does not make every
// garbage collection of the measured sections mark a large heap.
func poolSize(batches, batchBytes int) int {
	return max(1, min(batches, (4<<20)/max(1, batchBytes)))
}

// warmTraces and warmLogs read every field of a batch, as sizing its
// protobuf encoding does (string contents aside: their lengths only).
func warmTraces(td ptrace.Traces) { _ = (&ptrace.ProtoMarshaler{}).TracesSize(td) }

func warmLogs(ld plog.Logs) { _ = (&plog.ProtoMarshaler{}).LogsSize(ld) }

// settle collects the garbage of the unmeasured work (the input of the
// previous pass, the clones just made) before measuring resumes, so that a
// measured section pays only for the collections its own allocations cause.
func settle() { runtime.GC() }

// benchLogs is benchTraces for log records. With primed, the spans of the
// same requests go first (unmeasured) through a traces instance of the same
// processor, as in a collector whose traces and logs pipelines share it:
// the records' traces are then known. Without, every record with a trace
// context waits for its trace's x_request_id (the dynamo processor holds
// it until Shutdown releases it).
func benchLogs(b *testing.B, c candidate, w *Workload, primed bool) {
	var cnt counter
	m := NewMeter(b)
	var p processor.Logs
	if primed {
		var tp processor.Traces
		p, tp = newPrimedLogsProcessor(b, c, w, cnt.logs())
		defer func() { require.NoError(b, tp.Shutdown(context.Background())) }()
	} else {
		p = newLogsProcessor(b, c, cnt.logs())
	}
	b.ReportAllocs()
	ctx := context.Background()
	in := consumePooled(b, m, poolSize(w.LogBatches(), w.LogBatchBytes(0)),
		func(i int) plog.Logs {
			if primed {
				// The primed traces are those of the workload's own ids.
				return w.CloneLogs(i % w.LogBatches())
			}
			return w.LogsOfRound(i)
		},
		plog.Logs.LogRecordCount, warmLogs,
		func(ld plog.Logs) error { return p.ConsumeLogs(ctx, ld) })
	m.Start()
	require.NoError(b, p.Shutdown(ctx))
	m.Stop()
	if got := cnt.records.Load(); got != int64(in) {
		b.Fatalf("%s: %d records in, %d out", c.name, in, got)
	}
	m.Report(in, "record")
}

// newPrimedLogsProcessor creates a logs and a traces instance of c with one
// configuration, as a collector whose logs and traces pipelines share the
// processor, and sends every trace batch of w through the traces instance
// first: the traces of w's records are then known. The caller shuts both
// down.
func newPrimedLogsProcessor(tb testing.TB, c candidate, w *Workload, next consumer.Logs) (processor.Logs, processor.Traces) {
	tb.Helper()
	cfg := c.config(tb)
	lp := newLogsProcessorWith(tb, c, cfg, next)
	tp := newTracesProcessorWith(tb, c, cfg, consumertest.NewNop())
	for i := range w.TraceBatches() {
		require.NoError(tb, tp.ConsumeTraces(context.Background(), w.CloneTraces(i)))
	}
	return lp, tp
}

// requestBatch is one batch of requests as Dynamo exports them: the worker's
// log records, then the spans (the frontend's root among them).
type requestBatch struct {
	logs   plog.Logs
	traces ptrace.Traces
}

// requestsOfRound returns the i-th request batch a benchmark hands over when
// it cycles through w (see TracesOfRound): a workload of requests has a log
// batch for every trace batch, so the records and spans of a request are of
// the same round and keep their common trace id.
func requestsOfRound(w *Workload, i int) requestBatch {
	return requestBatch{w.LogsOfRound(i), w.TracesOfRound(i)}
}

// benchRequests feeds each batch's log records and then its spans to a logs
// and a traces instance of one processor configuration, as a collector whose
// logs and traces pipelines share it, and reports items (records and spans)
// per CPU-second. The dynamo processor holds the records until the spans of
// their trace arrive and releases them, annotated, in the spans' own call;
// Shutdown, which releases whatever is still held, is measured too.
//
// With sampleOneIn > 1, one trace in sampleOneIn is sampled, as with
// OTEL_TRACES_SAMPLE_RATIO: the records of the others have the sampled bit
// clear and their spans are not exported (left out of the batch).
func benchRequests(b *testing.B, c candidate, w *Workload, sampleOneIn int) {
	var cnt counter
	cfg := c.config(b)
	lp := newLogsProcessorWith(b, c, cfg, cnt.logs())
	tp := newTracesProcessorWith(b, c, cfg, cnt.traces())
	m := NewMeter(b)
	b.ReportAllocs()
	ctx := context.Background()
	var records int64
	in := consumePooled(b, m, poolSize(w.TraceBatches(), w.TraceBatchBytes(0)+w.LogBatchBytes(0)),
		func(i int) requestBatch {
			r := requestsOfRound(w, i)
			if sampleOneIn > 1 {
				sampleTraces(r, sampleOneIn)
			}
			return r
		},
		func(r requestBatch) int {
			n := r.logs.LogRecordCount()
			records += int64(n)
			return n + r.traces.SpanCount()
		},
		func(r requestBatch) { warmLogs(r.logs); warmTraces(r.traces) },
		func(r requestBatch) error {
			if err := lp.ConsumeLogs(ctx, r.logs); err != nil {
				return err
			}
			return tp.ConsumeTraces(ctx, r.traces)
		})
	m.Start()
	require.NoError(b, lp.Shutdown(ctx))
	require.NoError(b, tp.Shutdown(ctx))
	m.Stop()
	if got := cnt.records.Load() + cnt.spans.Load(); got != int64(in) || cnt.records.Load() != records {
		b.Fatalf("%s: %d items in (%d records), %d out (%d records)", c.name, in, records, got, cnt.records.Load())
	}
	m.Report(in, "item")
}

// sampleTraces keeps one trace in n sampled (by trace id): the log records
// of the others get the sampled bit cleared, their spans are removed, and
// so are the scopes and resources left without spans: an SDK exports only
// the spans it sampled, and a process none of whose spans were sampled
// sends no resource at all.
func sampleTraces(r requestBatch, n int) {
	sampled := func(tid pcommon.TraceID) bool { return binary.BigEndian.Uint64(tid[8:])%uint64(n) == 0 }
	for lr := range testutil.LogRecords(r.logs) {
		if !lr.TraceID().IsEmpty() && !sampled(lr.TraceID()) {
			lr.SetFlags(plog.DefaultLogRecordFlags)
		}
	}
	r.traces.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(func(s ptrace.Span) bool { return !sampled(s.TraceID()) })
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
}

// processorWorkload is the input of BenchmarkProcessor: 16 batches of 64
// requests of the default mix (about 8 spans and, for the new version, 6
// OTLP log records per request).
func processorWorkload(splitRoots bool) *Workload {
	return NewWorkload(WorkloadOptions{
		Batches:          16,
		RequestsPerBatch: 64,
		Generator:        DefaultGenerator(),
		SplitRoots:       splitRoots,
	})
}

// BenchmarkProcessor compares the dynamo processor with the transform
// baseline on the same Dynamo-shaped spans and log records:
//
//	traces            whole requests in one batch
//	traces_roots_late each batch's root spans in the next batch, as Dynamo
//	                  sends them (the dynamo processor holds children until
//	                  their root arrives; transform cannot)
//	logs              the OTLP log records of the new version, their spans
//	                  already seen by the same processor in a traces pipeline
//	logs_held         the same records with no span seen: every record
//	                  waits for its trace's x_request_id (the dynamo
//	                  processor holds them until max_held_items pushes them
//	                  out or Shutdown releases them: the worst case)
//	requests          each batch's log records, then its spans, through a
//	                  logs and a traces instance of one configuration: the
//	                  dynamo processor holds the records until their root
//	                  arrives, as Dynamo sends them (items = records + spans)
//	requests_sampled  the same with one trace in ten sampled: the records
//	                  of the others have the sampled bit clear, and their
//	                  spans are not exported (the dynamo processor passes
//	                  those records on at once)
func BenchmarkProcessor(b *testing.B) {
	whole := processorWorkload(false).Freeze()
	late := processorWorkload(true).Freeze()
	for _, c := range processorCandidates {
		b.Run("traces/"+c.name, func(b *testing.B) { benchTraces(b, c, whole) })
	}
	for _, c := range processorCandidates {
		b.Run("traces_roots_late/"+c.name, func(b *testing.B) { benchTraces(b, c, late) })
	}
	for _, c := range processorCandidates {
		b.Run("logs/"+c.name, func(b *testing.B) { benchLogs(b, c, whole, true) })
	}
	for _, c := range processorCandidates {
		b.Run("logs_held/"+c.name, func(b *testing.B) { benchLogs(b, c, whole, false) })
	}
	for _, c := range processorCandidates {
		b.Run("requests/"+c.name, func(b *testing.B) { benchRequests(b, c, whole, 1) })
	}
	for _, c := range processorCandidates {
		b.Run("requests_sampled/"+c.name, func(b *testing.B) { benchRequests(b, c, whole, 10) })
	}
}
