package normalize

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTemplate(t *testing.T) {
	tests := []struct {
		in, want string
		changed  bool
	}{
		{"GET /v1/models/123", "GET /v1/models/{id}", true},
		{"GET /v1/models/7/versions/42", "GET /v1/models/{id}/versions/{id}", true},
		{"POST /v1/chat/completions?stream=true", "POST /v1/chat/completions", true},
		{"POST /v1/chat/completions", "POST /v1/chat/completions", false},
		{"request 6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44", "request {id}", true},
		{"/v1/responses/6EC6DDD9-3B1E-4F0A-9A51-0C2D7D1E8F44/cancel", "/v1/responses/{id}/cancel", true},
		{"worker-2221573453717914121", "worker-{id}", true},
		{"span f7e487a9d2a6bf38", "span {id}", true},
		{"trace 80196f3e3a6fdf06d23bb9ada3788518 done", "trace {id} done", true},
		{"http-request", "http-request", false},
		{"kv_router.select_worker", "kv_router.select_worker", false},
		{"load Qwen3-0.6B", "load Qwen3-0.6B", false},
		{"dp_rank 3", "dp_rank 3", false},
		{"batch_123456", "batch_{id}", true},
		{"cafebabe", "cafebabe", false},
		{"deadbeefdeadbeef", "deadbeefdeadbeef", false}, // no digit: not recognised (documented)
		{"v1", "v1", false},
		{"?", "?", false},
		{" ?a=1", " ?a=1", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, changed := Template(tt.in)
		assert.Equal(t, tt.want, got, tt.in)
		assert.Equal(t, tt.changed, changed, tt.in)
	}
}

func TestTemplateDoesNotAllocateWhenUnchanged(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		Template("POST /v1/chat/completions")
		Template("handle_payload")
		Template("kv_router.select_worker")
	})
	assert.Zero(t, allocs)
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"GET /v1/models/123", "POST /v1/chat/completions?stream=true", "request 6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44",
		"worker-2221573453717914121", "span f7e487a9d2a6bf38", "http-request", "?", "/1/2/3", "a_123456_b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, changed := Template(name)
		if !changed && got != name {
			t.Fatalf("unchanged but %q became %q", name, got)
		}
		if name != "" && got == "" {
			t.Fatalf("%q became empty", name)
		}
		again, changedAgain := Template(got)
		if changedAgain || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", name, got, again)
		}
	})
}
