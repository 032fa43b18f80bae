package bench

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// floorType is the type of the floor processor, a yardstick of the
// benchmarks and no component of the distribution.
var floorType = component.MustNewType("propagation_floor")

// floorXRequestID is the id the floor writes: a constant, where the dynamo
// processor writes the string its memory of traces holds; neither allocates
// the string.
const floorXRequestID = "0f3c2a7e-5b1d-4c8e-9a6f-2d7b1e4c9a30"

// floorCandidate does, to log records, the one thing propagation cannot do
// without: it gives every record with a trace context and no x_request_id
// an x_request_id, as the dynamo processor does (putAbsent: the attribute
// array grown by exactly one, then pdata's PutStr). It finds no id (a
// constant instead of a look-up), applies no rule, holds nothing. Its cost
// is the least any processor that joins records to requests pays through
// pdata's API, so transform's cost over it bounds the ratio such a
// processor can reach on the same records.
var floorCandidate = candidate{
	name: "floor",
	factory: processor.NewFactory(floorType,
		func() component.Config { return &struct{}{} },
		processor.WithLogs(createFloorLogs, component.StabilityLevelDevelopment),
		processor.WithTraces(createFloorTraces, component.StabilityLevelDevelopment)),
	config: func(testing.TB) component.Config { return &struct{}{} },
}

func createFloorLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	return processorhelper.NewLogs(ctx, set, cfg, next, func(_ context.Context, ld plog.Logs) (plog.Logs, error) {
		floorLogs(ld)
		return ld, nil
	}, processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}))
}

// createFloorTraces passes spans on untouched: the logs case sends its
// spans through a traces instance of each candidate first.
func createFloorTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	return processorhelper.NewTraces(ctx, set, cfg, next, func(_ context.Context, td ptrace.Traces) (ptrace.Traces, error) {
		return td, nil
	})
}

// floorLogs gives the records of ld that have a trace context and lack an
// x_request_id the floor's id, exactly as putAbsent does.
func floorLogs(ld plog.Logs) {
	for lr := range testutil.LogRecords(ld) {
		if lr.TraceID().IsEmpty() {
			continue
		}
		attrs := lr.Attributes()
		if _, ok := attrs.Get(dynamo.XRequestID); ok {
			continue
		}
		attrs.EnsureCapacity(attrs.Len() + 1)
		attrs.PutStr(dynamo.XRequestID, floorXRequestID)
	}
}

// BenchmarkPropagationFloor runs the logs case of BenchmarkProcessor (records
// whose spans the processor has seen) through the dynamo processor, the
// floor and transform, side by side: transform over the floor is the most
// any processor that adds the x_request_id through pdata could reach there;
// dynamo over the floor is what finding the id and the rules add.
func BenchmarkPropagationFloor(b *testing.B) {
	whole := processorWorkload(false).Freeze()
	for _, c := range []candidate{dynamoCandidate, floorCandidate, transformCandidate} {
		b.Run("logs/"+c.name, func(b *testing.B) { benchLogs(b, c, whole, true) })
	}
}

// TestPropagationFloorGivesTheSameRecordsAnID checks that the floor adds an
// x_request_id to the records the dynamo processor gives one, no more, no
// fewer: on the logs case's records, their spans seen first.
func TestPropagationFloorGivesTheSameRecordsAnID(t *testing.T) {
	w := processorWorkload(false)
	dyn := new(consumertest.LogsSink)
	lp, tp := newPrimedLogsProcessor(t, dynamoCandidate, w, dyn)
	flo := new(consumertest.LogsSink)
	fp := newLogsProcessor(t, floorCandidate, flo)
	added := 0
	for i := range w.LogBatches() {
		before := w.CloneLogs(i)
		require.NoError(t, lp.ConsumeLogs(context.Background(), w.CloneLogs(i)))
		require.NoError(t, fp.ConsumeLogs(context.Background(), w.CloneLogs(i)))
		d, f := dyn.AllLogs()[i], flo.AllLogs()[i]
		require.Equal(t, before.LogRecordCount(), d.LogRecordCount())
		require.Equal(t, before.LogRecordCount(), f.LogRecordCount())
		// The dynamo processor keeps the order of records of a batch it
		// does not hold: compare record by record.
		bs, ds, fs := slices.Collect(testutil.LogRecords(before)), slices.Collect(testutil.LogRecords(d)), slices.Collect(testutil.LogRecords(f))
		for k := range bs {
			_, had := bs[k].Attributes().Get(dynamo.XRequestID)
			_, dHas := ds[k].Attributes().Get(dynamo.XRequestID)
			_, fHas := fs[k].Attributes().Get(dynamo.XRequestID)
			require.Equalf(t, dHas, fHas, "batch %d record %d: dynamo %v, floor %v", i, k, dHas, fHas)
			if fHas && !had {
				added++
			}
		}
	}
	require.NoError(t, lp.Shutdown(context.Background()))
	require.NoError(t, tp.Shutdown(context.Background()))
	require.NoError(t, fp.Shutdown(context.Background()))
	require.Positive(t, added, "the workload's records gained no x_request_id")
}
