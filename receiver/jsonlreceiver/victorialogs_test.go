package jsonlreceiver

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testbackend"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

const logStoreConfig = `
receivers:
  jsonl:
    include: [%[1]s/pods/*/*/*.log]
    start_at: beginning
    poll_interval: 50ms
    service_name: dynamo-worker-vllm
exporters:
  otlp_http:
    endpoint: %[2]s
service:
  pipelines:
    logs:
      receivers: [jsonl]
      exporters: [otlp_http]
  telemetry:
    metrics:
      level: none
`

// Dynamo's JSONL lines, wrapped by the container runtime as kubelet stores
// them, read by the collector binary and sent over OTLP to a real log store
// (VictoriaLogs): they are found by request id, by trace id, by severity and
// by pod, and the text lines are kept and marked.
func TestDynamoLinesFoundInLogStore(t *testing.T) {
	vlogs := testbackend.StartVictoriaLogs(t)
	dir := t.TempDir()
	podDir := filepath.Join(dir, "pods", "dynamo_vllm-agg-0_3f1c2a9e-1111-2222-3333-444455556666", "main")
	require.NoError(t, os.MkdirAll(podDir, 0o755))
	raw, err := os.ReadFile(filepath.Join("testdata", "dynamo-mixed.log"))
	require.NoError(t, err)
	var cri []byte
	for _, line := range splitKeep(raw) {
		cri = append(cri, "2026-07-30T18:04:11.400000000Z stderr F "...)
		cri = append(cri, line...)
	}
	require.NoError(t, os.WriteFile(filepath.Join(podDir, "0.log"), cri, 0o600))

	cfgPath := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(logStoreConfig, dir, vlogs.OTLPLogsEndpoint())), 0o600))
	testutil.StartProcess(t, "otelcol-dynamo", testutil.CollectorBinary(t), []string{"--config", cfgPath}, nil)

	all := vlogs.WaitForCount(t, `k8s.pod.name:="vllm-agg-0"`, 9, 30*time.Second)
	for _, e := range all {
		assert.Equal(t, "dynamo-worker-vllm", e["service.name"])
		assert.Equal(t, "dynamo", e["k8s.namespace.name"])
		assert.Equal(t, "stderr", e["log.iostream"])
	}
	byRequest := vlogs.WaitForCount(t, `x_request_id:="test-trace-001"`, 3, 10*time.Second)
	assert.Len(t, byRequest, 3)
	byTrace := vlogs.WaitForCount(t, `trace_id:="80196f3e3a6fdf06d23bb9ada3788518"`, 2, 10*time.Second)
	for _, e := range byTrace {
		assert.Equal(t, "f7e487a9d2a6bf38", e["span_id"])
	}
	errs := vlogs.WaitForCount(t, `severity_text:=ERROR`, 1, 10*time.Second)
	assert.Equal(t, "request completed", errs[0]["_msg"])
	assert.Equal(t, "17", errs[0]["severity_number"])
	assert.Equal(t, "2026-07-30T18:05:03.010552Z", errs[0]["_time"], "the +02:00 time, in UTC")
	assert.Equal(t, "true", errs[0]["kv_transfer_params.do_remote_decode"])
	text := vlogs.WaitForCount(t, `jsonl.text:=true`, 4, 10*time.Second)
	assert.Len(t, text, 4)
	python := vlogs.WaitForCount(t, `target:="main.init"`, 1, 10*time.Second)
	assert.Equal(t, "191", python[0]["code.line.number"])
}

// splitKeep splits b into lines, each keeping its newline.
func splitKeep(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		if i < len(b) {
			i++
		}
		out = append(out, b[:i])
		b = b[i:]
	}
	return out
}
