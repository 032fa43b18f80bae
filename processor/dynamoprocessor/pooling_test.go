package dynamoprocessor_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// protoPoolingGate is pdata's feature gate that recycles the objects of a
// request once the pipeline is done with it: a processor that kept a
// reference into a request after handing it on would see its held items
// overwritten by later requests.
const protoPoolingGate = "pdata.useProtoPooling"

// TestCollectorWithProtoPooling runs the collector with pdata's object
// pooling on and makes the dynamo processor hold items across many
// requests: records held whole batches at a time and one by one out of
// batches that go on in part, worker spans held until their root. Every
// item must come out as it was sent, annotated, while the requests in
// between reuse the pooled objects.
func TestCollectorWithProtoPooling(t *testing.T) {
	reg := featuregate.GlobalRegistry()
	was := false
	reg.VisitAll(func(g *featuregate.Gate) {
		if g.ID() == protoPoolingGate {
			was = g.IsEnabled()
		}
	})
	require.NoError(t, reg.Set(protoPoolingGate, true))
	t.Cleanup(func() { require.NoError(t, reg.Set(protoPoolingGate, was)) })

	addr := testutil.FreeAddr(t)
	dir := t.TempDir()
	stop := startCollector(t, addr, dir)
	tracesPath, logsPath := filepath.Join(dir, "traces.jsonl"), filepath.Join(dir, "logs.jsonl")

	const traces = 40 // trace ids 1..40; the odd ones' roots come last
	xrid := func(n int) string { return fmt.Sprintf("request-%03d", n) }
	for n := 2; n <= traces; n += 2 {
		sendSpan(t, addr, byte(n), "dynamo-frontend", "http-request", true, map[string]any{"x_request_id": xrid(n)})
	}
	records := 0
	// sendLogs posts batch n: a record of each of the traces trs (the k-th
	// numbered first+k), in one scope or each in a scope of its own.
	sendLogs := func(n, first int, trs []int, scopeEach bool) {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", fmt.Sprintf("dynamo-worker-%d", n))
		sl := rl.ScopeLogs().AppendEmpty()
		for k, tr := range trs {
			if scopeEach && k > 0 {
				sl = rl.ScopeLogs().AppendEmpty()
			}
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTraceID(tid(byte(tr)))
			lr.Body().SetStr(fmt.Sprintf("trace %d record %d of batch %d", tr, first+k, n))
			lr.Attributes().PutInt("batch", int64(n))
			lr.Attributes().PutStr("note", fmt.Sprintf("sent in batch %d for trace %d", n, tr))
			records++
		}
		body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
		require.NoError(t, err)
		post(t, "http://"+addr+"/v1/logs", body)
	}
	for n := 1; n <= traces; n++ {
		// Trace n's records with those of trace n+1: one of the two is
		// known (the even one), so the batch is held in part.
		if n < traces {
			sendLogs(n, 0, []int{n, n + 1, n, n + 1}, false)
		} else {
			sendLogs(n, 0, []int{n, n}, false)
		}
		if n%2 == 1 {
			// A batch of trace n's records alone: held whole.
			sendLogs(n, 10, []int{n, n, n}, true)
			sendSpan(t, addr, byte(n), "dynamo-worker-decode", "handle_payload", false, map[string]any{
				"component": "decode", "note": fmt.Sprintf("worker span of trace %d", n),
			})
		}
	}
	for n := 1; n <= traces; n += 2 {
		sendSpan(t, addr, byte(n), "dynamo-frontend", "http-request", true, map[string]any{"x_request_id": xrid(n)})
	}

	got := waitItems(t, logsPath, true, records)
	seen := map[string]bool{}
	for _, r := range got {
		var tr, k, batch int
		_, err := fmt.Sscanf(r.text, "trace %d record %d of batch %d", &tr, &k, &batch)
		require.NoError(t, err, "body %q", r.text)
		assert.False(t, seen[r.text], "%q came out twice", r.text)
		seen[r.text] = true
		assert.Equal(t, tid(byte(tr)).String(), r.trace, r.text)
		assert.Equal(t, xrid(tr), r.xrid, r.text)
		assert.Equal(t, int64(batch), toInt(r.attrs["batch"]), r.text)
		assert.Equal(t, fmt.Sprintf("sent in batch %d for trace %d", batch, tr), r.attrs["note"], r.text)
		assert.Equal(t, fmt.Sprintf("dynamo-worker-%d", batch), r.res["service.name"], r.text)
	}
	spans := waitItems(t, tracesPath, false, traces+traces/2)
	for _, s := range spans {
		var tr int
		for n := 1; n <= traces; n++ {
			if s.trace == tid(byte(n)).String() {
				tr = n
			}
		}
		require.NotZero(t, tr, "span of an unknown trace %s", s.trace)
		assert.Equal(t, xrid(tr), s.xrid, s.text)
		if s.text == "handle_payload" {
			assert.Equal(t, fmt.Sprintf("worker span of trace %d", tr), s.attrs["note"])
			assert.Equal(t, "worker", s.res["dynamo.component"])
		} else {
			assert.Equal(t, "http-request", s.text)
			assert.Equal(t, "frontend", s.res["dynamo.component"])
		}
	}
	stop()
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	case string:
		var n int64
		_, _ = fmt.Sscan(x, &n)
		return n
	}
	return -1
}
