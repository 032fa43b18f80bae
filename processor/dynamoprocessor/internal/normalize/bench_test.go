package normalize

import (
	"strconv"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

func benchSpan(b *testing.B, c spanCase, reset func(ptrace.Span)) {
	n := New(Defaults())
	td, span := newSpan(&testing.T{}, c)
	res := td.ResourceSpans().At(0).Resource()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if reset != nil {
			reset(span)
		}
		var st Stats
		var rs ResourceState
		n.BeginResource(&rs, res)
		n.Span(&rs, span, &st)
		n.EndResource(&rs, res)
	}
}

// BenchmarkSpanNormalized: a new-version worker span no rule changes.
func BenchmarkSpanNormalized(b *testing.B) {
	benchSpan(b, spanCase{name: "handle_payload", service: "dynamo-worker-vllm-prefill", attrs: map[string]any{
		"component": "prefill", "endpoint": "generate", "namespace": "dynamo", "instance_id": int64(2221573453717914121),
		"request_id": uuidNew, "x_request_id": "test-trace-001", "otel.kind": "server",
	}}, nil)
}

// BenchmarkSpanRenamed: a variant spelling and a path with an id, reset
// before each run.
func BenchmarkSpanRenamed(b *testing.B) {
	benchSpan(b, spanCase{name: "x", service: "dynamo-frontend", attrs: map[string]any{
		"x_request_id": "test-trace-001", "model": "Qwen/Qwen3-0.6B",
	}}, func(s ptrace.Span) {
		if s.Name() == "GET /v1/files/{id}" {
			s.SetName("GET /v1/files/123456")
		} else {
			s.SetName("HTTP_Request")
		}
	})
}

// BenchmarkParseDecimal compares the conversion's fast path with
// strconv.ParseInt on the shapes of Dynamo's numeric fields.
func BenchmarkParseDecimal(b *testing.B) {
	in := []string{"9", "50", "556", "1843", "2221573453717914121", "0"}
	var sink int64
	b.Run("short", func(b *testing.B) {
		for b.Loop() {
			for _, s := range in {
				if n, ok := parseShortDecimal(s); ok {
					sink += n
				} else if n, err := strconv.ParseInt(s, 10, 64); err == nil {
					sink += n
				}
			}
		}
	})
	b.Run("strconv", func(b *testing.B) {
		for b.Loop() {
			for _, s := range in {
				if n, err := strconv.ParseInt(s, 10, 64); err == nil {
					sink += n
				}
			}
		}
	})
	_ = sink
}
