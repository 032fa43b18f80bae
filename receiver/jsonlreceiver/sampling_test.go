package jsonlreceiver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"
)

// The new version writes trace_flags on every line inside a span; "00" is a
// trace that is not sampled, whose spans are never exported. Through the
// dynamo processor, such a line goes on at once (its trace's root will not
// come), while a line of a sampled trace without x_request_id waits for its
// root; the receiver's record must carry what the processor reads.
func TestUnsampledLinesAreNotHeldByTheDynamoProcessor(t *testing.T) {
	dir := t.TempDir()
	lines := []string{
		// Lines without x_request_id (an engine span of the worker).
		`{"time":"2026-07-30T18:04:11.484107Z","level":"DEBUG","target":"dynamo_llm::engine","message":"scheduled","span_id":"9e2f4c7a1b3d5e60","span_name":"engine.generate","trace_flags":"01","trace_id":"80196f3e3a6fdf06d23bb9ada3788518"}`,
		`{"time":"2026-07-30T18:04:11.485107Z","level":"DEBUG","target":"dynamo_llm::engine","message":"scheduled","span_id":"1e2f4c7a1b3d5e61","span_name":"engine.generate","trace_flags":"00","trace_id":"90196f3e3a6fdf06d23bb9ada3788519"}`,
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "worker.log"), []byte(strings.Join(lines, "\n")+"\n"), 0o600))

	s := &sink{}
	pcfg := dynamoprocessor.NewFactory().CreateDefaultConfig().(*dynamoprocessor.Config)
	pcfg.Propagation.Wait = time.Minute
	set := processortest.NewNopSettings(component.MustNewType("dynamo"))
	proc, err := dynamoprocessor.NewFactory().CreateLogs(context.Background(), set, pcfg, s)
	require.NoError(t, err)
	require.NoError(t, proc.Start(context.Background(), componenttest.NewNopHost()))

	cfg := testConfig(dir)
	cfg.ServiceName = "dynamo-worker-vllm"
	r := start(t, cfg, proc, nil)
	waitCounter(t, r, "records_emitted", 2)
	recs := s.all()
	require.Len(t, recs, 1, "only the line of the unsampled trace went on")
	assert.Equal(t, "90196f3e3a6fdf06d23bb9ada3788519", recs[0].TraceID().String())

	// The other waited for its root; shutdown hands it on.
	require.NoError(t, r.rcv.Shutdown(context.Background()))
	require.NoError(t, proc.Shutdown(context.Background()))
	recs = s.all()
	require.Len(t, recs, 2)
	assert.Equal(t, "80196f3e3a6fdf06d23bb9ada3788518", recs[1].TraceID().String())
}
