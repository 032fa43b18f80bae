package testutil

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/plog"
)

// TestLogRecordsWalksEveryScopeInOrder: records of two resources, one with
// an empty scope between two others, come out in order; breaking off stops
// the walk.
func TestLogRecordsWalksEveryScopeInOrder(t *testing.T) {
	ld := plog.NewLogs()
	add := func(sl plog.ScopeLogs, bodies ...string) {
		for _, b := range bodies {
			sl.LogRecords().AppendEmpty().Body().SetStr(b)
		}
	}
	rl := ld.ResourceLogs().AppendEmpty()
	add(rl.ScopeLogs().AppendEmpty(), "a", "b")
	rl.ScopeLogs().AppendEmpty()
	add(rl.ScopeLogs().AppendEmpty(), "c")
	ld.ResourceLogs().AppendEmpty()
	add(ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty(), "d", "e")

	var got []string
	for lr := range LogRecords(ld) {
		got = append(got, lr.Body().Str())
	}
	assert.Equal(t, []string{"a", "b", "c", "d", "e"}, got)

	got = got[:0]
	for lr := range LogRecords(ld) {
		got = append(got, lr.Body().Str())
		if len(got) == 3 {
			break
		}
	}
	assert.Equal(t, []string{"a", "b", "c"}, got)
}
