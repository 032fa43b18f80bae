package telemetrygen // import "github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Config is one run of the generator.
type Config struct {
	// Generator shapes the requests.
	Generator Options
	// OTLP is where spans and log records go; an empty endpoint sends nothing
	// over OTLP (JSONL files only).
	OTLP SenderOptions
	// Sender, when set, is used instead of an OTLP client built from OTLP
	// (for example to hand the data to a consumer in the same process). Run
	// does not close it.
	Sender Sender
	// JSONL is where JSONL lines go; an empty Dir writes none.
	JSONL JSONLWriterOptions

	// Rate is requests per second; 0 sends as fast as the receiver accepts.
	Rate float64
	// Requests stops the run after this many requests; Duration after this
	// long. With neither, the run lasts until ctx ends.
	Requests int
	Duration time.Duration
	// BatchRequests is how many requests share one export; 0 picks a tenth of
	// a second's worth at the given rate (200 when flat out).
	BatchRequests int
	// RootDelay holds each batch's root spans back this long after their
	// children, as Dynamo's batch exporter does with a root that closes last
	// (they are always sent after their children and logs).
	RootDelay time.Duration
	// SendTimeout bounds the retries of one export; 0 means 30s.
	SendTimeout time.Duration
	// NoiseEvery adds, after every NoiseEvery-th request, the lines that share
	// a worker's stderr with Dynamo's JSONL without belonging to a request: a
	// Python JSONL line without trace context, a line of vLLM's ANSI-coloured
	// plain text, and a Rust line with the decimal fallback span ids. They are
	// counted in Totals.JSONLNoiseLines.
	NoiseEvery int

	// Progress, when set, is called every ProgressInterval (default 5s) and
	// once at the end.
	Progress         func(Progress)
	ProgressInterval time.Duration
}

// Progress is a snapshot of a run.
type Progress struct {
	Elapsed    time.Duration
	Requests   int
	Spans      int
	OTLPLogs   int
	JSONLLines int
	SendErrors int
	Done       bool
}

// String is the progress line the command prints.
func (p Progress) String() string {
	rate := 0.0
	if p.Elapsed > 0 {
		rate = float64(p.Requests) / p.Elapsed.Seconds()
	}
	return fmt.Sprintf("%s: %d requests (%.0f/s), %d spans, %d OTLP log records, %d JSONL lines, %d send errors",
		p.Elapsed.Round(time.Millisecond), p.Requests, rate, p.Spans, p.OTLPLogs, p.JSONLLines, p.SendErrors)
}

// maxErrors is how many export failures a manifest spells out.
const maxErrors = 10

type runner struct {
	cfg      Config
	gen      *Generator
	sender   Sender
	jsonl    *JSONLWriter
	manifest *Manifest
	start    time.Time
	pending  []pendingBatch
}

type pendingBatch struct {
	due  time.Time
	reqs []*Request
}

// Run generates requests, sends and writes them as cfg says, and returns the
// manifest of what it did. It returns an error only for a run that could not
// start or whose JSONL files could not be written; failed exports are counted
// in the manifest (SendErrors, Unsent).
func Run(ctx context.Context, cfg Config) (*Manifest, error) {
	if cfg.OTLP.Endpoint == "" && cfg.Sender == nil && cfg.JSONL.Dir == "" {
		return nil, errors.New("nothing to do: neither an OTLP endpoint nor a JSONL directory is set")
	}
	if cfg.Rate < 0 {
		return nil, errors.New("rate must not be negative")
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 30 * time.Second
	}
	if cfg.ProgressInterval <= 0 {
		cfg.ProgressInterval = 5 * time.Second
	}
	if cfg.BatchRequests <= 0 {
		cfg.BatchRequests = 200
		if cfg.Rate > 0 {
			cfg.BatchRequests = max(1, min(500, int(cfg.Rate/10)))
		}
	}
	rn := &runner{cfg: cfg, gen: NewGenerator(cfg.Generator)}
	// Lines that go nowhere are not built (they were 40 % of building a
	// request); the manifest then counts none.
	rn.gen.noJSONL = cfg.JSONL.Dir == ""
	opts := rn.gen.Options()
	rn.manifest = &Manifest{Seed: opts.Seed, RequestIDPrefix: opts.RequestIDPrefix, Totals: newTotals()}
	if cfg.Sender != nil {
		rn.sender = cfg.Sender
		rn.manifest.Protocol = "in-process"
	} else if cfg.OTLP.Endpoint != "" {
		s, err := NewSender(cfg.OTLP)
		if err != nil {
			return nil, err
		}
		defer s.Close()
		rn.sender = s
		rn.manifest.Endpoint = cfg.OTLP.Endpoint
		rn.manifest.Protocol = "grpc"
		if cfg.OTLP.HTTP {
			rn.manifest.Protocol = "http"
		}
	}
	if cfg.JSONL.Dir != "" {
		w, err := NewJSONLWriter(cfg.JSONL)
		if err != nil {
			return nil, err
		}
		rn.jsonl = w
		rn.manifest.JSONLFormat = w.format
	}
	err := rn.loop(ctx)
	if rn.jsonl != nil {
		err = errors.Join(err, rn.jsonl.Close())
		rn.manifest.JSONLFiles = rn.jsonl.Paths()
	}
	rn.manifest.Finished = time.Now().UTC()
	rn.progress(true)
	return rn.manifest, err
}

func (rn *runner) loop(ctx context.Context) error {
	cfg := rn.cfg
	rn.start = time.Now()
	rn.manifest.Started = rn.start.UTC()
	nextProgress := rn.start.Add(cfg.ProgressInterval)
	generated := 0
	for {
		if cfg.Requests > 0 && generated >= cfg.Requests {
			break
		}
		if cfg.Duration > 0 && time.Since(rn.start) >= cfg.Duration {
			break
		}
		if ctx.Err() != nil {
			break
		}
		n := cfg.BatchRequests
		if cfg.Requests > 0 {
			n = min(n, cfg.Requests-generated)
		}
		if cfg.Rate > 0 {
			// A batch goes out when its last request is due, as an SDK's
			// batch exporter sends a full batch: requests are never sent
			// ahead of the rate, and one export carries BatchRequests of
			// them. Near the end of a timed run, what is due goes out.
			elapsed := time.Since(rn.start)
			due := int(elapsed.Seconds()*cfg.Rate) + 1 - generated
			next := rn.start.Add(time.Duration(float64(generated+n-1) / cfg.Rate * float64(time.Second)))
			end := cfg.Duration > 0 && next.Sub(rn.start) >= cfg.Duration
			if due < n && (!end || due <= 0) {
				if end {
					next = rn.start.Add(time.Duration(float64(generated) / cfg.Rate * float64(time.Second)))
				}
				rn.sleep(ctx, next)
				if err := rn.sendPending(ctx, false); err != nil {
					return err
				}
				continue
			}
			n = min(n, due)
		}
		batch := make([]*Request, n)
		now := time.Now()
		for i := range batch {
			batch[i] = rn.gen.Next(now)
		}
		generated += n
		if err := rn.emit(ctx, batch); err != nil {
			return err
		}
		if err := rn.sendPending(ctx, false); err != nil {
			return err
		}
		if cfg.Progress != nil && time.Now().After(nextProgress) {
			rn.progress(false)
			nextProgress = time.Now().Add(cfg.ProgressInterval)
		}
	}
	// Roots still held back go out even when ctx has ended.
	return rn.sendPending(context.WithoutCancel(ctx), true)
}

// sleep waits until t, the next held-back roots' due time, or ctx's end,
// whichever comes first.
func (rn *runner) sleep(ctx context.Context, t time.Time) {
	if len(rn.pending) > 0 && rn.pending[0].due.Before(t) {
		t = rn.pending[0].due
	}
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// emit writes the batch's JSONL lines and sends its log records and child
// spans; the root spans follow after RootDelay.
func (rn *runner) emit(ctx context.Context, batch []*Request) error {
	if rn.jsonl != nil {
		for _, r := range batch {
			for i := range r.JSONL {
				if err := rn.jsonl.Write(&r.JSONL[i]); err != nil {
					return fmt.Errorf("write JSONL: %w", err)
				}
			}
			if n := rn.cfg.NoiseEvery; n > 0 && r.Seq%n == 0 {
				if err := rn.noise(r); err != nil {
					return fmt.Errorf("write JSONL: %w", err)
				}
			}
		}
		if err := rn.jsonl.Flush(); err != nil {
			return fmt.Errorf("write JSONL: %w", err)
		}
	}
	if rn.sender == nil {
		rn.record(batch, false)
		return nil
	}
	lb := NewLogsBuilder()
	tb := NewTracesBuilder()
	for _, r := range batch {
		lb.Add(r)
		tb.Add(r, ChildSpans)
	}
	var err error
	if lb.Len() > 0 {
		err = rn.send(ctx, func(ctx context.Context) error { return rn.sender.SendLogs(ctx, lb.Logs()) })
	}
	if err == nil && tb.Len() > 0 {
		err = rn.send(ctx, func(ctx context.Context) error { return rn.sender.SendTraces(ctx, tb.Traces()) })
	}
	if err != nil {
		rn.record(batch, true)
		return nil
	}
	rn.pending = append(rn.pending, pendingBatch{due: time.Now().Add(rn.cfg.RootDelay), reqs: batch})
	return nil
}

// noise writes a Python JSONL line and a line of vLLM's coloured text to the
// file of the last service r wrote to.
func (rn *runner) noise(r *Request) error {
	svc := r.Root().Service
	t := r.Start
	if len(r.JSONL) > 0 {
		last := &r.JSONL[len(r.JSONL)-1]
		svc, t = r.JSONL[0].Service, last.Time
		for i := range r.JSONL {
			if r.JSONL[i].Service != r.Root().Service {
				svc = r.JSONL[i].Service
			}
		}
	}
	py := JSONLLine{
		Service: svc, Time: t.UTC(), Level: "INFO", Target: "log",
		Message: "VllmWorker for " + rn.gen.opts.Model + " has been initialized",
		Fields: []KV{
			{"log.file", "/opt/dynamo/venv/lib/python3.12/site-packages/dynamo/vllm/main.py"},
			{"log.line", int64(191)},
			{"log.target", "main.init"},
		},
	}
	if err := rn.jsonl.Write(&py); err != nil {
		return err
	}
	text := fmt.Sprintf("\x1b[2m%s\x1b[0m \x1b[33mWARNING\x1b[0m vllm.v1.metrics.loggers: Engine 000: Avg prompt throughput: %.1f tokens/s, Avg generation throughput: %.1f tokens/s, Running: %d reqs",
		t.UTC().Format(jsonlTimeLayout), 100+float64(r.Seq%900), 10+float64(r.Seq%90), 1+r.Seq%8)
	if err := rn.jsonl.WriteText(svc, []byte(text), t); err != nil {
		return err
	}
	// A Rust line inside a span without trace context: Dynamo falls back to
	// tracing's own span ids, decimal integers that are no trace context.
	fallback := JSONLLine{
		Service: svc, Time: t.UTC(), Level: "DEBUG",
		File: "lib/runtime/src/component/client.rs", Line: 95, Target: "dynamo_runtime::component::client",
		Message: "instance list updated",
		Fields: []KV{
			{"parent_id", int64(2251799813685249 + r.Seq)},
			{"span_id", int64(4503599627370497 + r.Seq)},
		},
	}
	if err := rn.jsonl.Write(&fallback); err != nil {
		return err
	}
	rn.manifest.Totals.JSONLNoiseLines += 3
	return nil
}

// sendPending sends the held-back roots that are due (all of them, waiting
// for each, when all is set).
func (rn *runner) sendPending(ctx context.Context, all bool) error {
	for len(rn.pending) > 0 {
		pb := rn.pending[0]
		if wait := time.Until(pb.due); wait > 0 {
			if !all {
				return nil
			}
			rn.sleep(ctx, pb.due)
		}
		rn.pending = rn.pending[1:]
		tb := NewTracesBuilder()
		for _, r := range pb.reqs {
			tb.Add(r, RootSpans)
		}
		var err error
		if tb.Len() > 0 {
			err = rn.send(ctx, func(ctx context.Context) error { return rn.sender.SendTraces(ctx, tb.Traces()) })
		}
		rn.record(pb.reqs, err != nil)
	}
	return nil
}

func (rn *runner) send(ctx context.Context, f func(context.Context) error) error {
	err := withRetry(ctx, rn.cfg.SendTimeout, f)
	if err != nil {
		rn.manifest.SendErrors++
		if len(rn.manifest.Errors) < maxErrors {
			rn.manifest.Errors = append(rn.manifest.Errors, err.Error())
		}
	}
	return err
}

// record adds the batch to the manifest.
func (rn *runner) record(batch []*Request, unsent bool) {
	for _, r := range batch {
		rec := recordOf(r)
		rec.Unsent = unsent
		if rn.sender == nil {
			rec.Spans, rec.OTLPLogs = 0, 0
			rec.SpansByService, rec.SpansByName = nil, nil
		}
		if rn.jsonl == nil {
			rec.JSONLLines = 0
		}
		rn.manifest.Requests = append(rn.manifest.Requests, rec)
		rn.manifest.Totals.add(rec, r)
	}
}

func (rn *runner) progress(done bool) {
	if rn.cfg.Progress == nil {
		return
	}
	t := rn.manifest.Totals
	rn.cfg.Progress(Progress{
		Elapsed:    time.Since(rn.start),
		Requests:   t.Requests,
		Spans:      t.Spans,
		OTLPLogs:   t.OTLPLogs,
		JSONLLines: t.JSONLLines,
		SendErrors: rn.manifest.SendErrors,
		Done:       done,
	})
}
