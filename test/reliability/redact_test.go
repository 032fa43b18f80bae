package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"gopkg.in/yaml.v3"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testbackend"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// TestRedactPromptsOverlayKeepsGatewayProcessors checks that the overlay's
// pipelines (lists replace on merge) are the gateway's processors plus the
// redaction, so merging it drops nothing the gateway runs.
func TestRedactPromptsOverlayKeepsGatewayProcessors(t *testing.T) {
	root := testutil.RepoRoot(t)
	type cfg struct {
		Service struct {
			Pipelines map[string]struct {
				Processors []string `yaml:"processors"`
			} `yaml:"pipelines"`
		} `yaml:"service"`
	}
	load := func(name string) cfg {
		b, err := os.ReadFile(filepath.Join(root, "configs", name))
		require.NoError(t, err)
		var c cfg
		require.NoError(t, yaml.Unmarshal(b, &c))
		return c
	}
	gw, overlay := load("otelcol-dynamo.yaml"), load("redact-prompts.overlay.yaml")
	for _, name := range []string{"traces", "logs"} {
		want := append(append([]string{}, gw.Service.Pipelines[name].Processors...), "transform/redact_prompts")
		assert.Equal(t, want, overlay.Service.Pipelines[name].Processors, "pipeline %s", name)
	}
}

// TestRedactPrompts sends log records and spans carrying prompt text in the
// shapes Dynamo's engines produce through the gateway merged with
// configs/redact-prompts.overlay.yaml, and checks in VictoriaLogs and Jaeger
// that no prompt text was stored while the rest of each record was.
func TestRedactPrompts(t *testing.T) {
	jaeger := testbackend.StartJaeger(t)
	vlogs := testbackend.StartVictoriaLogs(t)
	overlay := filepath.Join(testutil.RepoRoot(t), "configs", "redact-prompts.overlay.yaml")
	gw := newGateway(t, jaeger.OTLPGRPC, vlogs.OTLPLogsEndpoint(), []string{overlay})
	gw.start()

	run := fmt.Sprintf("redact-%d", time.Now().UnixNano())
	secret := func(i int) string { return fmt.Sprintf("SECRET%d-%s", i, run[len(run)-6:]) }
	tid := pcommon.TraceID{7, 7, 7, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, byte(time.Now().UnixNano())}

	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "dynamo-worker-vllm")
	recs := rl.ScopeLogs().AppendEmpty().LogRecords()
	add := func(body string) plog.LogRecord {
		lr := recs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		lr.SetTraceID(tid)
		lr.Body().SetStr(body)
		lr.Attributes().PutStr("run", run)
		lr.Attributes().PutStr("x_request_id", "redact-test-001")
		return lr
	}
	add(fmt.Sprintf("Received request cmpl-7f3a: prompt: '%s tell me about the weather, please', params: SamplingParams(n=1, temperature=0.7), prompt_token_ids: [101, 2023, 2003], lora_request: None.", secret(1)))
	add(fmt.Sprintf(`Received request cmpl-7f3b: prompt: "%s it's raining", params: SamplingParams(n=1, temperature=0.2), prompt_token_ids: [7, 8], lora_request: None.`, secret(2)))
	add(fmt.Sprintf(`{"model":"Qwen/Qwen3-0.6B","messages":[{"role":"system","content":"%s be brief"},{"role":"user","content":"%s hello"}],"stream":true}`, secret(3), secret(4)))
	add(fmt.Sprintf(`{"prompt": "%s with \"quotes\" inside", "max_tokens": 50}`, secret(5)))
	lr := add("request received")
	lr.Attributes().PutStr("prompt", secret(6))
	msgs := lr.Attributes().PutEmptySlice("messages")
	m := msgs.AppendEmpty().SetEmptyMap()
	m.PutStr("role", "user")
	m.PutStr("content", secret(7))
	lr.Attributes().PutStr("gen_ai.prompt", secret(8))
	lr.Attributes().PutStr("gen_ai.completion", secret(9))
	lr.Attributes().PutInt("input_tokens", 9)

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", run)
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("llm_request")
	sp.SetTraceID(tid)
	sp.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-time.Second)))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	sp.Attributes().PutStr("x_request_id", "redact-test-001")
	sp.Attributes().PutStr("gen_ai.prompt", secret(10))
	sp.Attributes().PutStr("gen_ai.completion", secret(11))
	sp.Attributes().PutInt("gen_ai.usage.prompt_tokens", 9)
	ev := sp.Events().AppendEmpty()
	ev.SetName("gen_ai.content.prompt")
	ev.Attributes().PutStr("gen_ai.prompt", secret(12))

	conn, err := grpc.NewClient(gw.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	require.NoError(t, err)
	_, err = plogotlp.NewGRPCClient(conn).Export(ctx, plogotlp.NewExportRequestFromLogs(ld))
	require.NoError(t, err)

	rows := vlogs.WaitForCount(t, fmt.Sprintf("run:=%q", run), recs.Len(), time.Minute)
	stored, err := json.Marshal(rows)
	require.NoError(t, err)
	var trace map[string]any
	testutil.Eventually(t, time.Minute, 250*time.Millisecond, func() error {
		return jaeger.GetJSON("/api/traces/"+tid.String(), &trace)
	})
	storedTrace, err := json.Marshal(trace)
	require.NoError(t, err)

	for _, s := range []string{string(stored), string(storedTrace)} {
		assert.NotContains(t, s, "SECRET", "prompt text reached a store")
		assert.Contains(t, s, "[REDACTED]")
		assert.Contains(t, s, "redact-test-001", "the request id must survive redaction")
	}
	// The rest of each record is kept.
	for _, keep := range []string{
		"params: SamplingParams(n=1, temperature=0.7)", "lora_request: None.", "prompt_token_ids: [REDACTED]",
		`\"model\":\"Qwen/Qwen3-0.6B\"`, `\"stream\":true`, `\"max_tokens\": 50`, "input_tokens",
	} {
		assert.Contains(t, string(stored), keep)
	}
	assert.Contains(t, string(storedTrace), "gen_ai.usage.prompt_tokens")
	if t.Failed() {
		t.Logf("stored logs: %s", strings.ReplaceAll(string(stored), "},{", "},\n{"))
	}
}
