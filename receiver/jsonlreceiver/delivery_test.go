package jsonlreceiver

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// A consumer that refuses retryably (as memory_limiter does) and then
// accepts gets every line, once, in order: nothing lost, nothing skipped.
func TestBackPressureRetryableRefusals(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	const n = 1000
	appendLines(t, path, 0, n)
	refusals := 0
	s := &sink{refuse: func(batch int, _ plog.Logs) error {
		// Refuse the first offer of every third batch, and the first five
		// offers outright.
		if batch <= 5 || (batch%3 == 0 && refusals%2 == 0) {
			refusals++
			return errRetryable
		}
		return nil
	}}
	r := start(t, testConfig(dir), s, nil)
	s.waitFor(t, n)
	got := s.seqs(t)
	require.Len(t, got, n)
	for i, seq := range got {
		require.Equal(t, int64(i), seq, "records out of order or repeated at %d", i)
	}
	assert.Positive(t, refusals)
	assert.Equal(t, int64(refusals), r.counter(t, "delivery_retries"))
	assert.Equal(t, int64(n), r.counter(t, "records_emitted"))
	assert.Zero(t, r.counter(t, "delivery_failures"))
}

// While the consumer refuses, reading waits: lines written meanwhile are not
// read past the refused batch.
func TestBackPressurePausesReading(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	appendLines(t, path, 0, 10)
	open := make(chan struct{})
	s := &sink{refuse: func(int, plog.Logs) error {
		select {
		case <-open:
			return nil
		default:
			return errRetryable
		}
	}}
	r := start(t, testConfig(dir), s, nil)
	waitCounter(t, r, "delivery_retries", 3)
	appendLines(t, path, 10, 20)
	waitCounter(t, r, "delivery_retries", 4)
	assert.Equal(t, int64(10), r.counter(t, "lines_read"), "no line read while the first batch is refused")
	assert.Zero(t, s.count())
	close(open)
	s.waitFor(t, 20)
	assert.Len(t, s.seqs(t), 20)
}

func TestPermanentRefusalIsCountedAndSkipped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	appendLines(t, path, 0, 3)
	s := &sink{refuse: func(batch int, _ plog.Logs) error {
		if batch == 1 {
			return consumererror.NewPermanent(errors.New("bad data"))
		}
		return nil
	}}
	r := start(t, testConfig(dir), s, nil)
	waitCounter(t, r, "delivery_failures", 3)
	appendLines(t, path, 3, 5)
	s.waitFor(t, 2)
	assert.Equal(t, []int64{3, 4}, s.seqs(t))
	assert.Equal(t, int64(2), r.counter(t, "records_emitted"))
	assert.Zero(t, r.counter(t, "delivery_retries"))
}

// Shutdown while the consumer keeps refusing ends promptly.
func TestShutdownWhileRefused(t *testing.T) {
	dir := t.TempDir()
	appendLines(t, filepath.Join(dir, "a.log"), 0, 10)
	s := &sink{refuse: func(int, plog.Logs) error { return errRetryable }}
	r := start(t, testConfig(dir), s, nil)
	waitCounter(t, r, "delivery_retries", 2)
	require.NoError(t, r.rcv.Shutdown(context.Background()))
	assert.Zero(t, s.count())
	assert.Zero(t, r.counter(t, "records_emitted"))
}

// mutatingSink changes every batch it is offered, as a processor would,
// before it refuses or accepts it.
type mutatingSink struct {
	sink
}

func (m *mutatingSink) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (m *mutatingSink) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	for lr := range testutil.LogRecords(ld) {
		attrs := lr.Attributes()
		n, _ := attrs.Get("touched")
		attrs.PutInt("touched", n.Int()+1)
	}
	return m.sink.ConsumeLogs(ctx, ld)
}

// A batch refused by a pipeline that changes data is offered again as it
// was read, not as the pipeline left it.
func TestRetryOffersTheBatchAsRead(t *testing.T) {
	dir := t.TempDir()
	appendLines(t, filepath.Join(dir, "a.log"), 0, 5)
	m := &mutatingSink{sink: sink{refuse: func(batch int, _ plog.Logs) error {
		if batch <= 3 {
			return errRetryable
		}
		return nil
	}}}
	r := start(t, testConfig(dir), m, nil)
	m.waitFor(t, 5)
	assert.Equal(t, int64(3), r.counter(t, "delivery_retries"))
	for _, lr := range m.all() {
		n, _ := lr.Attributes().Get("touched")
		assert.Equal(t, int64(1), n.Int())
	}
}
