package bench

import (
	"encoding/binary"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// Seed makes every workload reproducible: the same spans and lines in every
// run and for every component compared.
const Seed = 20260730

// Workload is a set of Dynamo-shaped batches, the input that every
// component of a comparison gets.
type Workload struct {
	Traces  []ptrace.Traces
	Logs    []plog.Logs
	Spans   int
	Records int

	// The same batches as OTLP protobuf: a frozen workload keeps only these,
	// so that the input a benchmark holds on to is a few large byte slices
	// that the garbage collector does not scan, rather than millions of
	// pdata objects it marks in every cycle of the measured sections.
	traceBytes [][]byte
	logBytes   [][]byte
}

// WorkloadOptions shape a workload.
type WorkloadOptions struct {
	// Batches is the number of batches; RequestsPerBatch the requests in each.
	Batches          int
	RequestsPerBatch int
	// Generator shapes the requests (the seed defaults to Seed; versions
	// and topologies to the mix of all).
	Generator telemetrygen.Options
	// SplitRoots puts the root spans of batch i into batch i+1, as Dynamo's
	// batch exporter sends a root (which closes last) after its children;
	// the last batch's roots get a batch of their own.
	SplitRoots bool
}

// DefaultGenerator is the request mix of the component benchmarks: every
// version and topology, a few system-endpoint requests and failures, and
// OTLP log records during each request of the version that exports them.
func DefaultGenerator() telemetrygen.Options {
	return telemetrygen.Options{
		SystemShare:    0.05,
		FailureShare:   0.02,
		LogsPerRequest: 6,
		Seed:           Seed,
	}
}

// NewWorkload builds the batches.
func NewWorkload(o WorkloadOptions) *Workload {
	g := o.Generator
	if g.Seed == 0 {
		g.Seed = Seed
	}
	gen := telemetrygen.NewGenerator(g)
	w := &Workload{}
	start := time.Date(2026, 7, 30, 18, 4, 11, 0, time.UTC)
	var prev []*telemetrygen.Request
	for range o.Batches {
		tb := telemetrygen.NewTracesBuilder()
		lb := telemetrygen.NewLogsBuilder()
		reqs := make([]*telemetrygen.Request, o.RequestsPerBatch)
		for i := range reqs {
			reqs[i] = gen.Next(start)
			start = start.Add(time.Millisecond)
			lb.Add(reqs[i])
			if o.SplitRoots {
				tb.Add(reqs[i], telemetrygen.ChildSpans)
			} else {
				tb.Add(reqs[i], telemetrygen.AllSpans)
			}
		}
		if o.SplitRoots {
			for _, r := range prev {
				tb.Add(r, telemetrygen.RootSpans)
			}
			prev = reqs
		}
		w.add(tb, lb)
	}
	if len(prev) > 0 {
		tb := telemetrygen.NewTracesBuilder()
		for _, r := range prev {
			tb.Add(r, telemetrygen.RootSpans)
		}
		w.add(tb, telemetrygen.NewLogsBuilder())
	}
	return w
}

func (w *Workload) add(tb *telemetrygen.TracesBuilder, lb *telemetrygen.LogsBuilder) {
	w.Traces = append(w.Traces, tb.Traces())
	w.Logs = append(w.Logs, lb.Logs())
	w.Spans += tb.Len()
	w.Records += lb.Len()
}

// Freeze keeps the batches as protobuf only (see traceBytes); the clones
// stay the same.
func (w *Workload) Freeze() *Workload {
	var tm ptrace.ProtoMarshaler
	var lm plog.ProtoMarshaler
	for _, td := range w.Traces {
		b, err := tm.MarshalTraces(td)
		if err != nil {
			panic(err)
		}
		w.traceBytes = append(w.traceBytes, b)
	}
	for _, ld := range w.Logs {
		b, err := lm.MarshalLogs(ld)
		if err != nil {
			panic(err)
		}
		w.logBytes = append(w.logBytes, b)
	}
	w.Traces, w.Logs = nil, nil
	return w
}

// TraceBatches is the number of trace batches.
func (w *Workload) TraceBatches() int { return max(len(w.Traces), len(w.traceBytes)) }

// LogBatches is the number of log batches.
func (w *Workload) LogBatches() int { return max(len(w.Logs), len(w.logBytes)) }

// TraceBatchBytes is the protobuf size of trace batch i.
func (w *Workload) TraceBatchBytes(i int) int {
	if w.traceBytes != nil {
		return len(w.traceBytes[i])
	}
	var tm ptrace.ProtoMarshaler
	return tm.TracesSize(w.Traces[i])
}

// LogBatchBytes is the protobuf size of log batch i.
func (w *Workload) LogBatchBytes(i int) int {
	if w.logBytes != nil {
		return len(w.logBytes[i])
	}
	var lm plog.ProtoMarshaler
	return lm.LogsSize(w.Logs[i])
}

// CloneTraces returns a deep copy of batch i (components change their input
// in place, so every pass gets fresh batches).
func (w *Workload) CloneTraces(i int) ptrace.Traces {
	if w.traceBytes != nil {
		var u ptrace.ProtoUnmarshaler
		td, err := u.UnmarshalTraces(w.traceBytes[i])
		if err != nil {
			panic(err)
		}
		return td
	}
	td := ptrace.NewTraces()
	w.Traces[i].CopyTo(td)
	return td
}

// CloneLogs returns a deep copy of log batch i.
func (w *Workload) CloneLogs(i int) plog.Logs {
	if w.logBytes != nil {
		var u plog.ProtoUnmarshaler
		ld, err := u.UnmarshalLogs(w.logBytes[i])
		if err != nil {
			panic(err)
		}
		return ld
	}
	ld := plog.NewLogs()
	w.Logs[i].CopyTo(ld)
	return ld
}

// TracesOfRound returns a deep copy of the i-th batch a benchmark hands over
// when it cycles through the workload: batch i % TraceBatches() of round
// i / TraceBatches(), its trace ids those of that round (RenewTraceIDs).
func (w *Workload) TracesOfRound(i int) ptrace.Traces {
	n := w.TraceBatches()
	td := w.CloneTraces(i % n)
	RenewTraceIDs(td, i/n)
	return td
}

// LogsOfRound is TracesOfRound for log batches.
func (w *Workload) LogsOfRound(i int) plog.Logs {
	n := w.LogBatches()
	ld := w.CloneLogs(i % n)
	RenewLogTraceIDs(ld, i/n)
	return ld
}

// RenewTraceIDs gives every span of td the trace id its trace has in the
// given round of a benchmark that cycles through its workload: round 0
// keeps the workload's ids; every later round has ids of its own (the last
// eight bytes XORed with a multiple of an odd constant, different for every
// round), the same for a trace's spans and log records (RenewLogTraceIDs).
//
// A processor that remembers traces so meets new traces in every round, as
// in a collector. Without it, from the second round on every trace was one
// it had learned a round before: a child whose root comes a batch later
// found its trace's x_request_id known and was never held, and the
// benchmarks that say they measure holding measured it in the first round
// only.
func RenewTraceIDs(td ptrace.Traces, round int) {
	if round == 0 {
		return
	}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				if tid := s.TraceID(); !tid.IsEmpty() {
					s.SetTraceID(renewTraceID(tid, round))
				}
			}
		}
	}
}

// RenewLogTraceIDs is RenewTraceIDs for log records.
func RenewLogTraceIDs(ld plog.Logs, round int) {
	if round == 0 {
		return
	}
	for lr := range testutil.LogRecords(ld) {
		if tid := lr.TraceID(); !tid.IsEmpty() {
			lr.SetTraceID(renewTraceID(tid, round))
		}
	}
}

func renewTraceID(tid pcommon.TraceID, round int) pcommon.TraceID {
	lo := binary.BigEndian.Uint64(tid[8:]) ^ uint64(round)*0x9e3779b97f4a7c15
	binary.BigEndian.PutUint64(tid[8:], lo)
	return tid
}
