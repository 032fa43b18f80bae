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
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/metadata"
	"github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/parser"
)

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o600))
}

func TestMixedDynamoFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "worker.log")
	copyFile(t, filepath.Join("testdata", "dynamo-mixed.log"), path)
	cfg := testConfig(dir)
	cfg.ServiceName = "dynamo-worker-vllm"
	cfg.Resource = map[string]string{"deployment.environment.name": "test"}
	s := &sink{}
	r := start(t, cfg, s, nil)

	// 11 lines: 2 blank, 4 text (ANSI and a 3-line traceback), 5 JSON.
	s.waitFor(t, 9)
	recs := s.all()
	require.Len(t, recs, 9)
	assert.Equal(t, "request received", recs[0].Body().Str())
	assert.Equal(t, "80196f3e3a6fdf06d23bb9ada3788518", recs[0].TraceID().String())
	assert.Equal(t, "Handling request", recs[1].Body().Str())
	ns, _ := recs[2].Attributes().Get(parser.AttrTarget)
	assert.Equal(t, "main.init", ns.Str())
	assert.Equal(t, plog.SeverityNumberWarn, recs[3].SeverityNumber())
	assert.True(t, strings.HasPrefix(recs[3].Body().Str(), "2026-07-30T18:04:12.003114Z WARNING vllm.engine"))
	assert.Equal(t, "Traceback (most recent call last):", recs[4].Body().Str())
	assert.Equal(t, "RuntimeError: CUDA out of memory", recs[6].Body().Str())
	assert.Equal(t, "11", func() string { v, _ := recs[7].Attributes().Get("span_id"); return v.Str() }())
	assert.Equal(t, "2026-07-30T18:05:03.010552Z", recs[8].Timestamp().AsTime().Format("2006-01-02T15:04:05.000000Z"))

	for i, lr := range recs {
		p, ok := lr.Attributes().Get(attrLogFilePath)
		require.True(t, ok)
		assert.Equal(t, path, p.Str())
		assert.NotZero(t, lr.ObservedTimestamp(), i)
		_, isText := lr.Attributes().Get(parser.AttrText)
		assert.Equal(t, i >= 3 && i <= 6, isText, "record %d", i)
		assert.Equal(t, "dynamo-worker-vllm", s.res[i]["service.name"])
		assert.Equal(t, "test", s.res[i]["deployment.environment.name"])
	}

	assert.Equal(t, int64(11), r.counter(t, "lines_read"))
	assert.Equal(t, int64(9), r.counter(t, "records_emitted"))
	assert.Equal(t, int64(4), r.counter(t, "non_json_lines"))
	assert.Equal(t, int64(2), r.counter(t, "empty_lines"))
	assert.Zero(t, r.counter(t, "truncated_lines"))
}

func TestCRIPodLogJoinsPartialLinesByteForByte(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pods", "dynamo_vllm-agg-0_3f1c2a9e-1111-2222-3333-444455556666", "main")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, "0.log")
	content := strings.Join([]string{
		`2026-07-30T18:04:11.400000000Z stderr F {"time":"2026-07-30T18:04:11.399999Z","level":"INFO","message":"whole","seq":0}`,
		// kubelet split one line at arbitrary positions; the spaces at the end of P parts are content.
		`2026-07-30T18:04:11.500000000Z stderr P {"time":"2026-07-30T18:04:11.499999Z","level":"ERROR","message":"split `,
		`2026-07-30T18:04:11.500000001Z stderr P  across  `,
		`2026-07-30T18:04:11.500000002Z stderr F three parts","seq":1}`,
		`2026-07-30T18:04:11.600000000Z stdout F plain text from the engine`,
		`2026-07-30T18:04:11.700000000Z stdout F `,
	}, "\n") + "\n"
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	cfg := testConfig(dir)
	s := &sink{}
	r := start(t, cfg, s, nil)
	s.waitFor(t, 3)
	recs := s.all()
	require.Len(t, recs, 3)
	assert.Equal(t, "whole", recs[0].Body().Str())
	assert.Equal(t, "split  across  three parts", recs[1].Body().Str())
	assert.Equal(t, plog.SeverityNumberError, recs[1].SeverityNumber())
	assert.Equal(t, "plain text from the engine", recs[2].Body().Str())
	// No time in the text line: the runtime's timestamp is used.
	assert.Equal(t, "2026-07-30T18:04:11.6Z", recs[2].Timestamp().AsTime().Format("2006-01-02T15:04:05.999999999Z"))
	stream, _ := recs[0].Attributes().Get(attrLogIOStream)
	assert.Equal(t, "stderr", stream.Str())
	stream, _ = recs[2].Attributes().Get(attrLogIOStream)
	assert.Equal(t, "stdout", stream.Str())
	for i := range recs {
		assert.Equal(t, "dynamo", s.res[i]["k8s.namespace.name"])
		assert.Equal(t, "vllm-agg-0", s.res[i]["k8s.pod.name"])
		assert.Equal(t, "3f1c2a9e-1111-2222-3333-444455556666", s.res[i]["k8s.pod.uid"])
		assert.Equal(t, "main", s.res[i]["k8s.container.name"])
		assert.Equal(t, "dynamo", s.res[i]["service.name"])
	}
	assert.Equal(t, int64(6), r.counter(t, "lines_read"))
	assert.Equal(t, int64(1), r.counter(t, "empty_lines"))
}

func TestDockerJSONFileUnwrapped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c-json.log")
	content := strings.Join([]string{
		`{"log":"{\"time\":\"2026-07-30T18:04:11.482913Z\",\"level\":\"WARN\",\"message\":\"a\\nb\",\"seq\":0}\n","stream":"stderr","time":"2026-07-30T18:04:11.5Z"}`,
		`{"log":"{\"level\":\"INFO\",\"message\":\"long `,
		`{"log":"line\",\"seq\":1}\n","stream":"stderr","time":"2026-07-30T18:04:11.6Z"}`,
	}, "\n")
	// Docker only splits when its 16 KiB buffer fills; here the first part misses its stream and time keys, which is allowed.
	content = strings.Replace(content, `long `, `long `+`","stream":"stderr","time":"2026-07-30T18:04:11.6Z"}`, 1) + "\n"
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	s := &sink{}
	start(t, testConfig(dir), s, nil)
	s.waitFor(t, 2)
	recs := s.all()
	require.Len(t, recs, 2)
	assert.Equal(t, "a\nb", recs[0].Body().Str())
	assert.Equal(t, plog.SeverityNumberWarn, recs[0].SeverityNumber())
	assert.Equal(t, "long line", recs[1].Body().Str())
	assert.Equal(t, []int64{0, 1}, s.seqs(t))
}

func TestOverlongLineIsTruncatedNotSplit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.log")
	long := `{"message":"` + strings.Repeat("x", 10_000) + `","seq":0}`
	bigField := `{"level":"ERROR","message":"big payload","blob":"` + strings.Repeat("y", 50_000) + `","seq":2}`
	require.NoError(t, os.WriteFile(path, []byte(long+"\n"+seqLine(1)+"\n"+bigField+"\n"), 0o600))
	cfg := testConfig(dir)
	cfg.MaxLineSize = 4096
	s := &sink{}
	r := start(t, cfg, s, nil)
	s.waitFor(t, 3)
	recs := s.all()
	require.Len(t, recs, 3, "one record per line, whatever its length")
	assert.Equal(t, long[:4096], recs[0].Body().Str(), "cut inside the message: the cut text")
	tr, ok := recs[0].Attributes().Get(attrTruncated)
	require.True(t, ok)
	assert.True(t, tr.Bool())
	assert.Equal(t, "request received", recs[1].Body().Str())
	_, ok = recs[1].Attributes().Get(attrTruncated)
	assert.False(t, ok)
	assert.Equal(t, "big payload", recs[2].Body().Str(), "keys before the cut are kept")
	assert.Equal(t, plog.SeverityNumberError, recs[2].SeverityNumber())
	_, ok = recs[2].Attributes().Get("blob")
	assert.False(t, ok)
	_, ok = recs[2].Attributes().Get(attrTruncated)
	assert.True(t, ok)
	assert.Equal(t, int64(2), r.counter(t, "truncated_lines"))
	assert.Equal(t, int64(3), r.counter(t, "lines_read"))
	assert.Equal(t, int64(1), r.counter(t, "non_json_lines"), "cut before its first key ended: a text record")
}

func TestLineOfExactlyMaxLineSizeIsKept(t *testing.T) {
	dir := t.TempDir()
	line := `{"message":"` + strings.Repeat("y", 100-len(`{"message":""}`)) + `"}`
	require.Len(t, line, 100)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.log"), []byte(line+"\n"), 0o600))
	cfg := testConfig(dir)
	cfg.MaxLineSize = 100
	s := &sink{}
	r := start(t, cfg, s, nil)
	s.waitFor(t, 1)
	_, truncated := s.all()[0].Attributes().Get(attrTruncated)
	assert.False(t, truncated)
	assert.Zero(t, r.counter(t, "truncated_lines"))
}

func TestInvalidUTF8RepairedAndCounted(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.log"), []byte("{\"message\":\"caf\xe9\"}\n"), 0o600))
	s := &sink{}
	r := start(t, testConfig(dir), s, nil)
	s.waitFor(t, 1)
	assert.Equal(t, "caf\uFFFD", s.all()[0].Body().Str())
	assert.Equal(t, int64(1), r.counter(t, "repaired_lines"))
}

func TestStartAtEndSkipsExistingLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	appendLines(t, path, 0, 10)
	cfg := testConfig(dir)
	cfg.StartAt = StartAtEnd
	s := &sink{}
	r := start(t, cfg, s, nil)
	// Wait for the first poll to have seen the file, then write more.
	waitCounter(t, r, "lines_read", 0)
	waitPolled(t, r)
	appendLines(t, path, 10, 15)
	s.waitFor(t, 5)
	assert.Equal(t, []int64{10, 11, 12, 13, 14}, s.seqs(t))
}

func TestPodLogPath(t *testing.T) {
	k, ok := podLogPath("/var/log/pods/dynamo-system_frontend-7d9f_0b1e-22/frontend/3.log")
	require.True(t, ok)
	assert.Equal(t, podRef{namespace: "dynamo-system", pod: "frontend-7d9f", uid: "0b1e-22", container: "frontend"}, k)
	for _, p := range []string{"/var/log/dynamo/worker.log", "/var/log/pods/bad/c/0.log", "/var/log/pods/a_b_c_d/c/0.log", "/x/pods/a__c/c/0.log"} {
		_, ok := podLogPath(p)
		assert.False(t, ok, p)
	}
}

func TestSplitLinesKeepsEveryByte(t *testing.T) {
	adv, tok, err := splitLines([]byte("ab \r\ncd"), false)
	require.NoError(t, err)
	assert.Equal(t, 5, adv)
	assert.Equal(t, "ab \r", string(tok))
	adv, tok, _ = splitLines([]byte("\nx"), false)
	assert.Equal(t, 1, adv)
	assert.NotNil(t, tok)
	assert.Empty(t, tok)
	adv, tok, _ = splitLines([]byte("unterminated"), true)
	assert.Zero(t, adv)
	assert.Nil(t, tok)
}

func TestPartialLineWithoutContinuationIsSentAlone(t *testing.T) {
	defer func(timeout, tick time.Duration) { partialFlushTimeout, housekeeping = timeout, tick }(partialFlushTimeout, housekeeping)
	partialFlushTimeout, housekeeping = 200*time.Millisecond, 20*time.Millisecond
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	content := "2026-07-30T18:04:11.400000000Z stderr F " + seqLine(0) + "\n" +
		"2026-07-30T18:04:11.500000000Z stderr P {\"message\":\"the container died here\n"
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	s := &sink{}
	r := start(t, testConfig(dir), s, nil)
	s.waitFor(t, 2)
	recs := s.all()
	require.Len(t, recs, 2)
	assert.Equal(t, `{"message":"the container died here`, recs[1].Body().Str())
	_, isText := recs[1].Attributes().Get(parser.AttrText)
	assert.True(t, isText)
	assert.Equal(t, int64(2), r.counter(t, "records_emitted"))
}

func TestMissingStorageExtension(t *testing.T) {
	cfg := testConfig(t.TempDir())
	id := storageID
	cfg.Storage = &id
	rcv, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, &sink{})
	require.NoError(t, err)
	err = rcv.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "file_storage/jsonl")
	require.NoError(t, rcv.Shutdown(context.Background()))
}

func TestShutdownWithoutStartAndTwice(t *testing.T) {
	rcv, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), testConfig(t.TempDir()), &sink{})
	require.NoError(t, err)
	require.NoError(t, rcv.Shutdown(context.Background()))
	r := start(t, testConfig(t.TempDir()), &sink{}, nil)
	require.NoError(t, r.rcv.Shutdown(context.Background()))
	require.NoError(t, r.rcv.Shutdown(context.Background()))
}

func TestFormatDetectedPerFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	write("raw.log", "\n"+seqLine(0)+"\n")
	write("cri.log", "2026-07-30T18:04:11.4Z stderr F "+seqLine(1)+"\n")
	write("docker.log", `{"log":"`+strings.ReplaceAll(seqLine(2), `"`, `\"`)+`\n","stream":"stdout","time":"2026-07-30T18:04:11.4Z"}`+"\n")
	s := &sink{}
	start(t, testConfig(dir), s, nil)
	s.waitFor(t, 3)
	assert.ElementsMatch(t, []int64{0, 1, 2}, s.seqs(t))
	for _, lr := range s.all() {
		_, isText := lr.Attributes().Get(parser.AttrText)
		assert.False(t, isText, "every line was unwrapped to its JSON: %s", lr.Body().AsString())
	}
}

func TestFixedFormatDoesNotGuess(t *testing.T) {
	dir := t.TempDir()
	// A raw file read as CRI: lines that are not CRI are kept whole.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.log"), []byte(seqLine(0)+"\n"), 0o600))
	cfg := testConfig(dir)
	cfg.Format = FormatCRI
	s := &sink{}
	start(t, cfg, s, nil)
	s.waitFor(t, 1)
	assert.Equal(t, []int64{0}, s.seqs(t))
	_, ok := s.all()[0].Attributes().Get(attrLogIOStream)
	assert.False(t, ok)
}
