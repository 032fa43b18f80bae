package telemetrygen

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// sink is an in-process OTLP receiver (the collector's own) feeding
// consumertest sinks.
type sink struct {
	grpc, http string
	traces     *consumertest.TracesSink
	logs       *consumertest.LogsSink
}

func startReceiver(t *testing.T) *sink {
	t.Helper()
	s := &sink{
		grpc: testutil.FreeAddr(t), http: testutil.FreeAddr(t),
		traces: new(consumertest.TracesSink), logs: new(consumertest.LogsSink),
	}
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	cfg.Protocols.GRPC.GetOrInsertDefault().NetAddr.Endpoint = s.grpc
	cfg.Protocols.HTTP.GetOrInsertDefault().ServerConfig.NetAddr.Endpoint = s.http
	set := receivertest.NewNopSettings(f.Type())
	tr, err := f.CreateTraces(context.Background(), set, cfg, s.traces)
	require.NoError(t, err)
	lr, err := f.CreateLogs(context.Background(), set, cfg, s.logs)
	require.NoError(t, err)
	require.NoError(t, tr.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, lr.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() {
		assert.NoError(t, tr.Shutdown(context.Background()))
		assert.NoError(t, lr.Shutdown(context.Background()))
	})
	return s
}

type received struct {
	spans          int
	spansByService map[string]int
	spansByName    map[string]int
	spansByTrace   map[string]int
	xRequestID     map[string]string // trace id → x_request_id on the root
	logs           int
	logsByService  map[string]int
	logsByTrace    map[string]int
	// order of arrival: export index of each trace's root and last child
	rootAt, lastChildAt map[string]int
}

func collect(s *sink) received {
	r := received{
		spansByService: map[string]int{}, spansByName: map[string]int{}, spansByTrace: map[string]int{},
		xRequestID: map[string]string{}, logsByService: map[string]int{}, logsByTrace: map[string]int{},
		rootAt: map[string]int{}, lastChildAt: map[string]int{},
	}
	for i, td := range s.traces.AllTraces() {
		for j := 0; j < td.ResourceSpans().Len(); j++ {
			rs := td.ResourceSpans().At(j)
			svc, _ := rs.Resource().Attributes().Get("service.name")
			for k := 0; k < rs.ScopeSpans().Len(); k++ {
				spans := rs.ScopeSpans().At(k).Spans()
				for l := 0; l < spans.Len(); l++ {
					sp := spans.At(l)
					tid := sp.TraceID().String()
					r.spans++
					r.spansByService[svc.Str()]++
					r.spansByName[sp.Name()]++
					r.spansByTrace[tid]++
					if sp.ParentSpanID().IsEmpty() {
						r.rootAt[tid] = i
						if x, ok := sp.Attributes().Get("x_request_id"); ok {
							r.xRequestID[tid] = x.Str()
						}
					} else {
						r.lastChildAt[tid] = max(r.lastChildAt[tid], i)
					}
				}
			}
		}
	}
	for _, ld := range s.logs.AllLogs() {
		for j := 0; j < ld.ResourceLogs().Len(); j++ {
			rl := ld.ResourceLogs().At(j)
			svc, _ := rl.Resource().Attributes().Get("service.name")
			for k := 0; k < rl.ScopeLogs().Len(); k++ {
				recs := rl.ScopeLogs().At(k).LogRecords()
				for l := 0; l < recs.Len(); l++ {
					r.logs++
					r.logsByService[svc.Str()]++
					r.logsByTrace[recs.At(l).TraceID().String()]++
				}
			}
		}
	}
	return r
}

// TestRunManifestMatchesWhatArrived sends a mixed run through the collector's
// own OTLP receiver, over gRPC and over HTTP, and checks the manifest against
// what the receiver got: every count, per service, per span name and per trace.
func TestRunManifestMatchesWhatArrived(t *testing.T) {
	for _, http := range []bool{false, true} {
		name := "grpc"
		if http {
			name = "http"
		}
		t.Run(name, func(t *testing.T) {
			s := startReceiver(t)
			endpoint := s.grpc
			if http {
				endpoint = "http://" + s.http
			}
			dir := t.TempDir()
			m, err := Run(context.Background(), Config{
				Generator: Options{Seed: 5, SystemShare: 0.1, FailureShare: 0.1, LogsPerRequest: 3, SpanEvents: true},
				OTLP:      SenderOptions{Endpoint: endpoint, HTTP: http, Insecure: true},
				JSONL:     JSONLWriterOptions{Dir: filepath.Join(dir, "logs"), Format: FormatCRI},
				Requests:  120, BatchRequests: 25, RootDelay: 20 * time.Millisecond,
			})
			require.NoError(t, err)
			require.Len(t, m.Requests, 120)
			assert.Equal(t, name, m.Protocol)
			assert.Zero(t, m.SendErrors)
			assert.Zero(t, m.Totals.UnsentRequests)
			for _, v := range Versions {
				assert.Positive(t, m.Totals.RequestsByVersion[v], "the mix holds %s", v)
			}
			assert.Positive(t, m.Totals.SystemRequests)
			assert.Positive(t, m.Totals.FailedRequests)

			got := collect(s)
			assert.Equal(t, m.Totals.Spans, got.spans)
			assert.Equal(t, m.Totals.SpansByService, got.spansByService)
			assert.Equal(t, m.Totals.SpansByName, got.spansByName)
			assert.Equal(t, m.Totals.OTLPLogs, got.logs)
			assert.Equal(t, m.Totals.OTLPLogsByService, got.logsByService)
			assert.Positive(t, got.logs)
			for _, rec := range m.Requests {
				assert.Equal(t, rec.Spans, got.spansByTrace[rec.TraceID], "request %d (%s) spans", rec.Seq, rec.XRequestID)
				assert.Equal(t, rec.OTLPLogs, got.logsByTrace[rec.TraceID], "request %d (%s) log records", rec.Seq, rec.XRequestID)
				assert.Equal(t, rec.XRequestID, got.xRequestID[rec.TraceID])
				if rec.Spans > 1 {
					assert.Greater(t, got.rootAt[rec.TraceID], got.lastChildAt[rec.TraceID],
						"request %d: the root span arrives after its children", rec.Seq)
				}
			}
			assert.Len(t, got.spansByTrace, len(m.Requests), "no trace that the manifest does not list")

			// The JSONL files hold exactly the manifest's lines.
			lines := 0
			for _, p := range m.JSONLFiles {
				lines += len(readFiles(t, p))
			}
			assert.Equal(t, m.Totals.JSONLLines, lines)
			perService := 0
			for _, n := range m.Totals.JSONLLinesByService {
				perService += n
			}
			assert.Equal(t, m.Totals.JSONLLines, perService)

			// The manifest survives a round trip through its file.
			path := filepath.Join(dir, "manifest.json")
			require.NoError(t, m.WriteFile(path))
			back, err := ReadManifest(path)
			require.NoError(t, err)
			assert.Equal(t, m.Totals, back.Totals)
			assert.Equal(t, m.Requests, back.Requests)
		})
	}
}

func TestRunAtRateForDuration(t *testing.T) {
	s := startReceiver(t)
	var progress []Progress
	start := time.Now()
	m, err := Run(context.Background(), Config{
		Generator: Options{Seed: 9},
		OTLP:      SenderOptions{Endpoint: s.grpc, Insecure: true},
		Rate:      100, Duration: 500 * time.Millisecond,
		Progress: func(p Progress) { progress = append(progress, p) }, ProgressInterval: 100 * time.Millisecond,
	})
	require.NoError(t, err)
	elapsed := time.Since(start)
	// Paced, not flat out: never more than the rate allows in the time taken.
	assert.LessOrEqual(t, len(m.Requests), int(elapsed.Seconds()*100)+1)
	assert.Positive(t, len(m.Requests))
	require.NotEmpty(t, progress)
	last := progress[len(progress)-1]
	assert.True(t, last.Done)
	assert.Equal(t, len(m.Requests), last.Requests)
	assert.Equal(t, m.Totals.Spans, collect(s).spans)
}

func TestRunStopsWithContext(t *testing.T) {
	s := startReceiver(t)
	ctx, cancel := context.WithCancel(context.Background())
	var m *Manifest
	done := make(chan error, 1)
	go func() {
		var err error
		m, err = Run(ctx, Config{Generator: Options{Seed: 4}, OTLP: SenderOptions{Endpoint: s.grpc, Insecure: true}, Rate: 50,
			RootDelay: 50 * time.Millisecond})
		done <- err
	}()
	testutil.Eventually(t, 10*time.Second, 10*time.Millisecond, func() error {
		if s.traces.SpanCount() == 0 {
			return assert.AnError
		}
		return nil
	})
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	// Roots held back when the context ended were still sent.
	got := collect(s)
	assert.Equal(t, m.Totals.Spans, got.spans)
	for _, rec := range m.Requests {
		assert.Equal(t, rec.XRequestID, got.xRequestID[rec.TraceID])
	}
}

func TestRunUnreachableEndpointIsCounted(t *testing.T) {
	m, err := Run(context.Background(), Config{
		Generator: Options{Seed: 2, LogsPerRequest: 2},
		OTLP:      SenderOptions{Endpoint: testutil.FreeAddr(t), Insecure: true},
		Requests:  10, BatchRequests: 5, SendTimeout: 300 * time.Millisecond,
	})
	require.NoError(t, err)
	assert.Equal(t, 2, m.SendErrors, "each batch's first export failed for good")
	assert.Equal(t, 10, m.Totals.UnsentRequests)
	require.Len(t, m.Errors, 2)
	assert.Contains(t, m.Errors[0], "gave up after")
	assert.Zero(t, m.Totals.Spans)
	assert.Zero(t, m.Totals.OTLPLogs)
	for _, rec := range m.Requests {
		assert.True(t, rec.Unsent)
	}
}

func TestRunJSONLOnly(t *testing.T) {
	dir := t.TempDir()
	m, err := Run(context.Background(), Config{
		Generator: Options{Seed: 8, Versions: []Version{VersionOld}},
		JSONL:     JSONLWriterOptions{Dir: dir, Format: FormatDocker, RotateBytes: 8192},
		Requests:  50,
	})
	require.NoError(t, err)
	assert.Zero(t, m.Totals.Spans)
	assert.Empty(t, m.Protocol)
	assert.Equal(t, FormatDocker, m.JSONLFormat)
	assert.Greater(t, len(m.JSONLFiles), 2, "rotation added files")
	lines := 0
	for _, p := range m.JSONLFiles {
		lines += len(readFiles(t, p))
	}
	assert.Equal(t, m.Totals.JSONLLines, lines)
	sum := 0
	for _, rec := range m.Requests {
		sum += rec.JSONLLines
		assert.Zero(t, rec.Spans)
	}
	assert.Equal(t, lines, sum)
}

func TestRunNoiseLines(t *testing.T) {
	dir := t.TempDir()
	m, err := Run(context.Background(), Config{
		Generator: Options{Seed: 12, SystemShare: 0.2},
		JSONL:     JSONLWriterOptions{Dir: dir},
		Requests:  40, NoiseEvery: 10,
	})
	require.NoError(t, err)
	assert.Equal(t, 12, m.Totals.JSONLNoiseLines, "a Python line, a vLLM text line and a fallback-id line every 10 requests")
	var lines []string
	for _, p := range m.JSONLFiles {
		lines = append(lines, readFiles(t, p)...)
	}
	assert.Len(t, lines, m.Totals.JSONLLines+m.Totals.JSONLNoiseLines)
	ansi, python, fallback := 0, 0, 0
	for _, l := range lines {
		if strings.HasPrefix(l, "\x1b[2m") {
			ansi++
			continue
		}
		var obj map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &obj), l)
		if obj["target"] == "log" {
			python++
			assert.NotContains(t, obj, "trace_id", "Python lines carry no trace context")
			assert.NotContains(t, obj, "file")
			assert.Equal(t, float64(191), obj["log.line"])
		}
		if _, ok := obj["trace_id"]; !ok && obj["target"] != "log" {
			fallback++
			assert.IsType(t, float64(0), obj["span_id"], "fallback span ids are decimal numbers")
			assert.IsType(t, float64(0), obj["parent_id"])
		}
	}
	assert.Equal(t, 4, ansi)
	assert.Equal(t, 4, python)
	assert.Equal(t, 4, fallback)
}

// consumerSender hands exports to consumers in the same process.
type consumerSender struct {
	traces *consumertest.TracesSink
	logs   *consumertest.LogsSink
}

func (s consumerSender) SendTraces(ctx context.Context, td ptrace.Traces) error {
	return s.traces.ConsumeTraces(ctx, td)
}

func (s consumerSender) SendLogs(ctx context.Context, ld plog.Logs) error {
	return s.logs.ConsumeLogs(ctx, ld)
}

func (consumerSender) Close() error { return nil }

func TestRunWithSender(t *testing.T) {
	s := consumerSender{traces: new(consumertest.TracesSink), logs: new(consumertest.LogsSink)}
	m, err := Run(context.Background(), Config{
		Generator: Options{Seed: 13, Versions: []Version{VersionNew}, LogsPerRequest: 2},
		Sender:    s, Requests: 30,
	})
	require.NoError(t, err)
	assert.Equal(t, "in-process", m.Protocol)
	assert.Equal(t, m.Totals.Spans, s.traces.SpanCount())
	assert.Equal(t, m.Totals.OTLPLogs, s.logs.LogRecordCount())
	assert.Positive(t, m.Totals.OTLPLogs)
}

// cancellingSender ends the run's context while its first export of child
// spans is under way, and answers only then.
type cancellingSender struct {
	consumerSender
	cancel context.CancelFunc
	once   sync.Once
}

func (s *cancellingSender) SendTraces(ctx context.Context, td ptrace.Traces) error {
	s.once.Do(s.cancel)
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.consumerSender.SendTraces(ctx, td)
}

// An export under way when the run's context ends completes, and counts:
// the receiver has its spans, and its requests' roots still follow.
func TestRunFinishesTheExportUnderWayWhenStopped(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &cancellingSender{consumerSender: consumerSender{traces: new(consumertest.TracesSink), logs: new(consumertest.LogsSink)}, cancel: cancel}
	m, err := Run(ctx, Config{
		Generator: Options{Seed: 5}, Sender: s, Requests: 1000, BatchRequests: 10, RootDelay: 10 * time.Millisecond,
	})
	require.NoError(t, err)
	require.Len(t, m.Requests, 10, "the run stops after the batch whose export was under way")
	assert.Zero(t, m.SendErrors, "%v", m.Errors)
	assert.Equal(t, m.Totals.Spans, s.traces.SpanCount())
	roots := 0
	for _, td := range s.traces.AllTraces() {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					if sp.ParentSpanID().IsEmpty() {
						roots++
					}
				}
			}
		}
	}
	assert.Equal(t, 10, roots)
}

func TestRunRejectsNothingToDo(t *testing.T) {
	_, err := Run(context.Background(), Config{Requests: 1})
	assert.ErrorContains(t, err, "nothing to do")
}

func TestRunAtRateSendsWholeBatches(t *testing.T) {
	s := startReceiver(t)
	start := time.Now()
	m, err := Run(context.Background(), Config{
		Generator: Options{Seed: 12},
		OTLP:      SenderOptions{Endpoint: s.grpc, Insecure: true},
		Rate:      200, BatchRequests: 20, Duration: 700 * time.Millisecond,
	})
	require.NoError(t, err)
	elapsed := time.Since(start)
	require.NotEmpty(t, m.Requests)
	assert.LessOrEqual(t, len(m.Requests), int(elapsed.Seconds()*200)+1, "never ahead of the rate")
	// Every export carries the spans of one batch of requests: 20, or what
	// was due when the run ended (at most one smaller batch of children and
	// one of roots).
	small := 0
	for _, td := range s.traces.AllTraces() {
		traces := map[pcommon.TraceID]bool{}
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					traces[sp.TraceID()] = true
				}
			}
		}
		if len(traces) != 20 {
			small++
		}
		assert.LessOrEqual(t, len(traces), 20)
	}
	assert.LessOrEqual(t, small, 2, "exports of fewer than 20 requests")
	assert.Equal(t, m.Totals.Spans, collect(s).spans)
}

// Requests whose trace is not sampled send no span, and log records and the
// new version's JSONL lines with the sampled flag clear; the manifest says
// which they are and counts no span for them.
func TestRunUnsampledRequests(t *testing.T) {
	s := consumerSender{traces: new(consumertest.TracesSink), logs: new(consumertest.LogsSink)}
	dir := t.TempDir()
	m, err := Run(context.Background(), Config{
		Generator: Options{Seed: 21, Versions: []Version{VersionNew}, LogsPerRequest: 2, UnsampledShare: 0.5},
		Sender:    s, Requests: 60,
		JSONL: JSONLWriterOptions{Dir: dir},
	})
	require.NoError(t, err)
	unsampled := map[string]bool{}
	for _, rec := range m.Requests {
		if rec.Unsampled {
			unsampled[rec.TraceID] = true
			assert.Zero(t, rec.Spans)
		} else {
			assert.Positive(t, rec.Spans)
		}
	}
	assert.Equal(t, len(unsampled), m.Totals.UnsampledRequests)
	require.Greater(t, len(unsampled), 10)
	require.Less(t, len(unsampled), 50)
	got := collect(&sink{traces: s.traces, logs: s.logs})
	assert.Equal(t, m.Totals.Spans, got.spans)
	for tid := range unsampled {
		assert.Zero(t, got.spansByTrace[tid], "spans of trace %s, which is not sampled, were sent", tid)
	}
	flags := map[bool]int{}
	for _, ld := range s.logs.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			for j := 0; j < ld.ResourceLogs().At(i).ScopeLogs().Len(); j++ {
				recs := ld.ResourceLogs().At(i).ScopeLogs().At(j).LogRecords()
				for k := 0; k < recs.Len(); k++ {
					lr := recs.At(k)
					assert.Equal(t, !unsampled[lr.TraceID().String()], lr.Flags().IsSampled())
					flags[lr.Flags().IsSampled()]++
				}
			}
		}
	}
	assert.Positive(t, flags[false])
	assert.Positive(t, flags[true])
	assert.Equal(t, m.Totals.OTLPLogs, flags[false]+flags[true])

	var lines []string
	for _, f := range m.JSONLFiles {
		lines = append(lines, readFiles(t, f)...)
	}
	assert.Len(t, lines, m.Totals.JSONLLines)
	lineFlags := map[string]int{}
	for _, l := range lines {
		var obj map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &obj), l)
		tid, ok := obj["trace_id"].(string)
		if !ok {
			continue
		}
		want := "01"
		if unsampled[tid] {
			want = "00"
		}
		assert.Equal(t, want, obj["trace_flags"], "trace %s", tid)
		lineFlags[want]++
	}
	assert.Positive(t, lineFlags["00"])
	assert.Positive(t, lineFlags["01"])
}
