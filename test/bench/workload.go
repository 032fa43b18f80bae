package bench

import (
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
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
