package dynamoprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/metadata"
	"github.com/otelcol-dynamo/otelcol-dynamo/test/bench"
)

const benchTraces = 100

func benchTraceID(i int) pcommon.TraceID {
	return pcommon.TraceID{0x80, 0x19, byte(i >> 8), byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
}

// dynamoBatch is a Dynamo-shaped batch: per request, the frontend's root and
// client_request, a router span and a worker's handle_payload and
// engine.generate, as the mid version writes them (string numbers,
// x_dynamo_request_id, worker spans without x_request_id).
func dynamoBatch(tb testing.TB) ptrace.Traces {
	td := ptrace.NewTraces()
	front := td.ResourceSpans().AppendEmpty()
	front.Resource().Attributes().PutStr("service.name", "dynamo-frontend")
	fs := front.ScopeSpans().AppendEmpty().Spans()
	worker := td.ResourceSpans().AppendEmpty()
	worker.Resource().Attributes().PutStr("service.name", "dynamo-worker-vllm-prefill")
	ws := worker.ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < benchTraces; i++ {
		tid := benchTraceID(i)
		add := func(spans ptrace.SpanSlice, name string, id, parent byte, attrs map[string]any) {
			s := spans.AppendEmpty()
			s.SetName(name)
			s.SetTraceID(tid)
			s.SetSpanID(pcommon.SpanID{byte(i), id})
			if parent != 0 {
				s.SetParentSpanID(pcommon.SpanID{byte(i), parent})
			}
			require.NoError(tb, s.Attributes().FromRaw(attrs))
		}
		add(fs, "http-request", 1, 0, map[string]any{
			"method": "POST", "uri": "/v1/chat/completions", "version": "HTTP/1.1", "x_request_id": "req-" + tid.String()[:8],
			"x_dynamo_request_id": uuidMid, "model": "Qwen/Qwen3-0.6B", "input_tokens": "9", "output_tokens": "50",
			"ttft_ms": "5.85", "avg_itl_ms": "1.2", "request.outcome": "success",
		})
		add(fs, "client_request", 2, 1, map[string]any{"operation": "generate", "request_id": ctxID, "x_dynamo_request_id": uuidMid})
		add(fs, "kv_router.route_request", 3, 1, map[string]any{"worker_id": "7", "dp_rank": "0", "phase": "Prefill"})
		add(ws, "handle_payload", 4, 2, map[string]any{
			"component": "prefill", "endpoint": "generate", "namespace": "dynamo", "instance_id": "3866790875219207267",
			"x_dynamo_request_id": uuidMid,
		})
		add(ws, "engine.generate", 5, 4, map[string]any{"model": "Qwen/Qwen3-0.6B", "input_tokens": "9", "disagg_role": "prefill"})
	}
	return td
}

// dynamoLogs is a batch of OTLP log records (trace context, no
// x_request_id), five per request.
func dynamoLogs() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "dynamo-worker-vllm-prefill")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := 0; i < benchTraces; i++ {
		for j := 0; j < 5; j++ {
			lr := lrs.AppendEmpty()
			lr.SetTraceID(benchTraceID(i))
			lr.SetSpanID(pcommon.SpanID{byte(i), byte(j)})
			lr.Body().SetStr("request received")
			lr.Attributes().PutStr("endpoint", "generate")
			lr.Attributes().PutStr("elapsed_ms", "556")
		}
	}
	return ld
}

func benchProcessors(b *testing.B, name string, next consumer.Traces) (processor.Traces, processor.Logs) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Propagation.Wait = time.Minute
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, name)
	tp, err := NewFactory().CreateTraces(context.Background(), set, cfg, next)
	require.NoError(b, err)
	lp, err := NewFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(b, err)
	require.NoError(b, tp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(b, lp.Start(context.Background(), componenttest.NewNopHost()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = lp.Shutdown(context.Background())
	})
	return tp, lp
}

// BenchmarkTraces processes fresh mid-version batches (500 spans, 100
// requests, every rule has work to do), each of new traces: the processor
// learns 100 trace ids per batch, as it does in a collector, rather than
// finding those of the batch before.
func BenchmarkTraces(b *testing.B) {
	tp, _ := benchProcessors(b, "traces", consumertest.NewNop())
	tmpl := dynamoBatch(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		batch := ptrace.NewTraces()
		tmpl.CopyTo(batch)
		bench.RenewTraceIDs(batch, i+1)
		b.StartTimer()
		if err := tp.ConsumeTraces(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tmpl.SpanCount()), "ns/span")
}

// BenchmarkTracesNormalized processes a batch that is already normalized:
// the common case of the new version, where no rule changes anything. The
// processor leaves such a batch as it is, so the same batch is reused.
func BenchmarkTracesNormalized(b *testing.B) {
	sink := &consumertest.TracesSink{}
	first, _ := benchProcessors(b, "first", sink)
	require.NoError(b, first.ConsumeTraces(context.Background(), dynamoBatch(b)))
	batch := sink.AllTraces()[0]
	want := ptrace.NewTraces()
	batch.CopyTo(want)
	tp, _ := benchProcessors(b, "normalized", consumertest.NewNop())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := tp.ConsumeTraces(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch.SpanCount()), "ns/span")
	require.Equal(b, want, batch, "a normalized batch is left as it is")
}

// BenchmarkLogs processes OTLP log records of known traces: each gets the
// trace's x_request_id.
func BenchmarkLogs(b *testing.B) {
	tp, lp := benchProcessors(b, "logs", consumertest.NewNop())
	require.NoError(b, tp.ConsumeTraces(context.Background(), dynamoBatch(b)))
	tmpl := dynamoLogs()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		batch := plog.NewLogs()
		tmpl.CopyTo(batch)
		b.StartTimer()
		if err := lp.ConsumeLogs(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tmpl.LogRecordCount()), "ns/record")
}

// BenchmarkNop is the floor: the same batches through the collector's nop
// processor path (a consumer that does nothing).
func BenchmarkNop(b *testing.B) {
	next := consumertest.NewNop()
	tmpl := dynamoBatch(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		batch := ptrace.NewTraces()
		tmpl.CopyTo(batch)
		b.StartTimer()
		_ = next.ConsumeTraces(context.Background(), batch)
	}
}

// BenchmarkLogsHeld processes batches of 500 OTLP log records of 100 traces
// whose id is not yet known: every record is held (100 chunks). After each
// batch (not timed), the traces' roots arrive and release them, so the
// delivery (and, with storage, the deletion) runs alongside the next
// batches. memory: the default; storage: propagation.storage on a real
// file_storage (the gateway's settings: no fsync), one write per batch.
func BenchmarkLogsHeld(b *testing.B) {
	for _, withStorage := range []bool{false, true} {
		name := "memory"
		if withStorage {
			name = "storage"
		}
		b.Run(name, func(b *testing.B) {
			cfg := NewFactory().CreateDefaultConfig().(*Config)
			cfg.Propagation.Wait = time.Minute
			var host component.Host = componenttest.NewNopHost()
			if withStorage {
				h, _ := startFileStorage(b, b.TempDir())
				host = h
				sid := queueStorageID
				cfg.Propagation.Storage = &sid
			}
			set := processortest.NewNopSettings(metadata.Type)
			set.ID = component.NewIDWithName(metadata.Type, "held_"+name)
			tp, err := NewFactory().CreateTraces(context.Background(), set, cfg, consumertest.NewNop())
			require.NoError(b, err)
			lp, err := NewFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
			require.NoError(b, err)
			require.NoError(b, tp.Start(context.Background(), host))
			require.NoError(b, lp.Start(context.Background(), host))
			b.Cleanup(func() {
				_ = tp.Shutdown(context.Background())
				_ = lp.Shutdown(context.Background())
			})
			tmpl := dynamoLogs()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				batch := plog.NewLogs()
				tmpl.CopyTo(batch)
				lrs := batch.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					lrs.At(k).SetTraceID(heldTraceID(i, k/5))
				}
				roots := ptrace.NewTraces()
				spans := roots.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
				for j := 0; j < benchTraces; j++ {
					s := spans.AppendEmpty()
					s.SetName("http-request")
					s.SetTraceID(heldTraceID(i, j))
					s.SetSpanID(pcommon.SpanID{1})
					s.Attributes().PutStr("x_request_id", "req")
				}
				b.StartTimer()
				if err := lp.ConsumeLogs(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := tp.ConsumeTraces(context.Background(), roots); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tmpl.LogRecordCount()), "ns/record")
		})
	}
}

func heldTraceID(i, j int) pcommon.TraceID {
	return pcommon.TraceID{0x90, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i), byte(j), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
}
