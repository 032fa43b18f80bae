package dynamoprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
)

// record is one OTLP log record of the sampling tests.
type record struct {
	trace   byte
	sampled bool
	// traceFlags, when set, is a JSONL line's trace_flags field, kept as
	// an attribute.
	traceFlags string
}

// serviceLogs is one batch of records of one service (one resource).
func serviceLogs(service string, recs ...record) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	if service != "" {
		rl.Resource().Attributes().PutStr("service.name", service)
	}
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i, r := range recs {
		lr := lrs.AppendEmpty()
		lr.Body().SetStr(fmt.Sprintf("record %d of trace %d", i, r.trace))
		lr.SetTraceID(traceID(r.trace))
		lr.SetSpanID(spanID(byte(10 + i)))
		if r.sampled {
			lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
		}
		if r.traceFlags != "" {
			lr.Attributes().PutStr("trace_flags", r.traceFlags)
		}
	}
	return ld
}

// deliveredTraces lists the trace (last byte of the id) of every record
// delivered so far, in order.
func deliveredTraces(h *harness) []byte {
	var out []byte
	for _, lr := range allRecords(h.ls) {
		out = append(out, lr.TraceID()[15])
	}
	return out
}

func unsampledCount(t *testing.T, h *harness) int64 {
	return h.metric(t, "otelcol_processor_dynamo_unsampled_items", attribute.String("signal", "logs"))
}

func TestUnsampledRecordsAreNotHeld(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = time.Minute }, nil, nil)
	ctx := context.Background()
	const svc = "dynamo-worker-vllm-decode"

	// The service sets the sampled bit on one record: its other record,
	// with the bit clear, is of a trace that is not sampled.
	require.NoError(t, h.lp.ConsumeLogs(ctx, serviceLogs(svc, record{trace: 2}, record{trace: 1, sampled: true})))
	assert.Equal(t, []byte{2}, deliveredTraces(h), "the unsampled record goes on; the sampled one waits")
	assert.Equal(t, int64(1), unsampledCount(t, h))
	assert.Equal(t, int64(1), h.metric(t, "otelcol_processor_dynamo_items_held", attribute.String("signal", "logs")))

	// The service is remembered: a later batch with no sampled record.
	require.NoError(t, h.lp.ConsumeLogs(ctx, serviceLogs(svc, record{trace: 3}, record{trace: 3})))
	assert.Equal(t, []byte{2, 3, 3}, deliveredTraces(h))
	assert.Equal(t, int64(3), unsampledCount(t, h))

	// A source that has never set the bit may leave the flags unset on
	// every record: its records wait as before.
	require.NoError(t, h.lp.ConsumeLogs(ctx, serviceLogs("other-sdk", record{trace: 4})))
	// So do those of resources without a service name, even after such a
	// resource has set the bit.
	require.NoError(t, h.lp.ConsumeLogs(ctx, serviceLogs("", record{trace: 5, sampled: true})))
	require.NoError(t, h.lp.ConsumeLogs(ctx, serviceLogs("", record{trace: 6})))
	assert.Equal(t, []byte{2, 3, 3}, deliveredTraces(h))
	assert.Equal(t, int64(4), h.metric(t, "otelcol_processor_dynamo_items_held", attribute.String("signal", "logs")))

	// The sampled trace's root annotates the record that waited.
	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, frontendRoot(1))))
	waitCount(t, "log records delivered", 4, h.ls.LogRecordCount)
	recs := allRecords(h.ls)
	assert.Equal(t, traceID(1), recs[3].TraceID())
	assert.Equal(t, xrid, attr(recs[3].Attributes(), "x_request_id"))
	for _, lr := range recs[:3] {
		assert.Nil(t, attr(lr.Attributes(), "x_request_id"))
	}
}

// The sources of one service are told apart by scope: a service's SDK that
// sets the flags says nothing of the JSONL lines a jsonl receiver reads from
// its stderr, which older versions write without trace_flags.
func TestFlagSourcesAreServiceAndScope(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = time.Minute }, nil, nil)
	ctx := context.Background()
	ld := serviceLogs("dynamo-frontend", record{trace: 1, sampled: true}, record{trace: 2})
	ld.ResourceLogs().At(0).ScopeLogs().At(0).Scope().SetName("dynamo_llm")
	jsonl := serviceLogs("dynamo-frontend", record{trace: 3}).ResourceLogs().At(0).ScopeLogs().At(0)
	jsonl.Scope().SetName("jsonlreceiver")
	jsonl.CopyTo(ld.ResourceLogs().At(0).ScopeLogs().AppendEmpty())
	require.NoError(t, h.lp.ConsumeLogs(ctx, ld))
	assert.Equal(t, []byte{2}, deliveredTraces(h), "the SDK's unsampled record goes on; the line of the other scope waits")
	assert.Equal(t, int64(2), h.metric(t, "otelcol_processor_dynamo_items_held", attribute.String("signal", "logs")))

	// A later batch of the SDK's scope alone: still known.
	later := serviceLogs("dynamo-frontend", record{trace: 4})
	later.ResourceLogs().At(0).ScopeLogs().At(0).Scope().SetName("dynamo_llm")
	require.NoError(t, h.lp.ConsumeLogs(ctx, later))
	assert.Equal(t, []byte{2, 4}, deliveredTraces(h))
}

func TestUnsampledRecordsOfAKnownTraceAreAnnotated(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = time.Minute }, nil, nil)
	ctx := context.Background()
	// The trace's id is known (here from its root; a JSONL line teaches
	// as well).
	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, frontendRoot(1))))
	require.NoError(t, h.lp.ConsumeLogs(ctx, serviceLogs("svc", record{trace: 2, sampled: true}, record{trace: 1})))
	recs := allRecords(h.ls)
	require.Len(t, recs, 1)
	assert.Equal(t, xrid, attr(recs[0].Attributes(), "x_request_id"))
	assert.Zero(t, unsampledCount(t, h), "annotated, not passed on for lack of a sample")
}

func TestJSONLTraceFlagsSayUnsampled(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = time.Minute }, nil, nil)
	ctx := context.Background()
	// The line says it: no sampled record of the service is needed.
	require.NoError(t, h.lp.ConsumeLogs(ctx, serviceLogs("dynamo-frontend", record{trace: 1, traceFlags: "00"})))
	assert.Equal(t, []byte{1}, deliveredTraces(h))
	assert.Equal(t, int64(1), unsampledCount(t, h))

	// A sampled line waits; so do lines of a service never seen sampled
	// whose flags are no two hex digits.
	require.NoError(t, h.lp.ConsumeLogs(ctx, serviceLogs("dynamo-backend", record{trace: 2, traceFlags: "01", sampled: true})))
	require.NoError(t, h.lp.ConsumeLogs(ctx, serviceLogs("dynamo-prefill", record{trace: 3, traceFlags: "0"}, record{trace: 4, traceFlags: "0g"})))
	assert.Equal(t, []byte{1}, deliveredTraces(h))
	assert.Equal(t, int64(3), h.metric(t, "otelcol_processor_dynamo_items_held", attribute.String("signal", "logs")))
}

func TestHoldUnsampled(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Propagation.Wait = time.Minute
		c.Propagation.HoldUnsampled = true
	}, nil, nil)
	ctx := context.Background()
	require.NoError(t, h.lp.ConsumeLogs(ctx, serviceLogs("svc", record{trace: 2}, record{trace: 1, sampled: true}, record{trace: 3, traceFlags: "00"})))
	assert.Zero(t, h.ls.LogRecordCount(), "every record waits")
	assert.Zero(t, unsampledCount(t, h))
}

// With trace sampling most records belong to traces that are not sampled.
// Held, they would fill max_held_items and push out, unannotated, the
// records of sampled traces that are waiting for their root.
func TestUnsampledRecordsLeaveRoomForSampledOnes(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Propagation.Wait = time.Minute
		c.Propagation.MaxHeldItems = 20
	}, nil, nil)
	ctx := context.Background()
	// 10 % sampling: traces 1..10 are sampled, each among nine that are
	// not, 10 records a batch.
	for b := byte(0); b < 10; b++ {
		recs := []record{{trace: 1 + b, sampled: true}}
		for k := byte(0); k < 9; k++ {
			recs = append(recs, record{trace: 100 + 9*b + k})
		}
		require.NoError(t, h.lp.ConsumeLogs(ctx, serviceLogs("svc", recs...)))
	}
	assert.Equal(t, 90, h.ls.LogRecordCount(), "unsampled records went on at once")
	for tr := byte(1); tr <= 10; tr++ {
		require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, frontendRoot(tr))))
	}
	waitCount(t, "log records delivered", 100, h.ls.LogRecordCount)
	annotated := 0
	for _, lr := range allRecords(h.ls) {
		if tr := lr.TraceID()[15]; tr <= 10 {
			assert.Equal(t, xrid, attr(lr.Attributes(), "x_request_id"), "trace %d", tr)
			annotated++
		}
	}
	assert.Equal(t, 10, annotated)
	assert.Zero(t, h.metric(t, "otelcol_processor_dynamo_held_released", attribute.String("reason", "overflow")))
}

// Sources are remembered once a record with the bit clear has been seen:
// traffic whose traces are all sampled does not pay for it.
func TestFlagSourcesRememberedOnceUnsampledRecordsAppear(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = time.Minute }, nil, nil)
	ctx := context.Background()
	require.NoError(t, h.lp.ConsumeLogs(ctx, serviceLogs("svc", record{trace: 1, sampled: true})))
	// Nothing was remembered of that batch.
	require.NoError(t, h.lp.ConsumeLogs(ctx, serviceLogs("svc", record{trace: 2})))
	assert.Zero(t, h.ls.LogRecordCount())
	// Now the source's sampled records are remembered.
	require.NoError(t, h.lp.ConsumeLogs(ctx, serviceLogs("svc", record{trace: 3, sampled: true})))
	require.NoError(t, h.lp.ConsumeLogs(ctx, serviceLogs("svc", record{trace: 4})))
	assert.Equal(t, []byte{4}, deliveredTraces(h))
	assert.Equal(t, int64(1), unsampledCount(t, h))
}

// One source may write JSONL lines of versions with trace_flags and of
// versions without, whose flags are 0 whatever the sampling (a fleet being
// upgraded, under the default service name). A sampled line's trace_flags
// speaks for that line only: the others still wait.
func TestTraceFlagsFieldsDoNotTeachTheirSource(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = time.Minute }, nil, nil)
	ctx := context.Background()
	require.NoError(t, h.lp.ConsumeLogs(ctx, serviceLogs("dynamo",
		record{trace: 1, sampled: true, traceFlags: "01"}, record{trace: 2, traceFlags: "00"}, record{trace: 3})))
	assert.Equal(t, []byte{2}, deliveredTraces(h), "only the line that says so goes on")
	require.NoError(t, h.lp.ConsumeLogs(ctx, serviceLogs("dynamo", record{trace: 4})))
	assert.Equal(t, []byte{2}, deliveredTraces(h))
	assert.Equal(t, int64(3), h.metric(t, "otelcol_processor_dynamo_items_held", attribute.String("signal", "logs")))
}
