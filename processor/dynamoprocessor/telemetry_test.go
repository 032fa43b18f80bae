package dynamoprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/metadata"
	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/normalize"
	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/propagate"
)

// TestSelfTelemetryDoesNotAllocate records every counter a batch and a
// delivery record, with every count above zero: the attribute options are
// built once, so no call allocates (with the no-op meter, which allocates
// nothing itself). Each batch records a few of them; with small batches a
// slice per call was a measurable share of the processor's allocations.
func TestSelfTelemetryDoesNotAllocate(t *testing.T) {
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, t.Name())
	b, err := newBase(set, NewFactory().CreateDefaultConfig().(*Config), "traces")
	require.NoError(t, err)
	ctx := context.Background()
	st := normalize.Stats{Changed: 1, Templated: 1, Overflow: 1, SystemRenamed: 1, SystemDropped: 1, NotANumber: 1, OutOfRange: 1, UnexpectedType: 1}
	chunks := []*propagate.Chunk{{Items: 2, Reason: propagate.ReasonRequestID}, {Items: 1, Reason: propagate.ReasonTimeout}}
	allocs := testing.AllocsPerRun(100, func() {
		b.sh.record(ctx, &st, b.sigOpt)
		b.heldOnArrival(ctx, 3, 1)
		b.released(ctx, chunks, 2, 3, nil)
	})
	assert.Zero(t, allocs)
}
