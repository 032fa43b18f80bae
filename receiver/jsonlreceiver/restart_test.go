package jsonlreceiver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/adapter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
	"github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/ackstore"
	"github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/metadata"
)

func storageConfig(dir string) *Config {
	cfg := testConfig(dir)
	id := storageID
	cfg.Storage = &id
	return cfg
}

// waitForSeq polls until the sink holds a record numbered seq.
func waitForSeq(t *testing.T, s *sink, seq int64) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, 20*time.Millisecond, func() error {
		for _, lr := range s.all() {
			if v, ok := lr.Attributes().Get("seq"); ok && v.Int() == seq {
				return nil
			}
		}
		return fmt.Errorf("seq %d not received (%d records)", seq, s.count())
	})
}

// A clean stop and start on the same file_storage resumes where reading
// stopped: lines written in between arrive, none twice.
func TestRestartResumesWithoutLossOrRepeat(t *testing.T) {
	logs, store := t.TempDir(), t.TempDir()
	path := filepath.Join(logs, "a.log")
	appendLines(t, path, 0, 500)

	h, stopStorage := startStorage(t, store)
	s1 := &sink{}
	r1 := start(t, storageConfig(logs), s1, h)
	waitForSeq(t, s1, 499)
	require.NoError(t, r1.rcv.Shutdown(context.Background()))
	stopStorage()

	appendLines(t, path, 500, 800)
	h2, _ := startStorage(t, store)
	s2 := &sink{}
	start(t, storageConfig(logs), s2, h2)
	waitForSeq(t, s2, 799)

	assert.Zero(t, checkAll(t, append(s1.seqs(t), s2.seqs(t)...), 800), "lines delivered twice")
	assert.Len(t, s2.seqs(t), 300)
}

// snapshotDir copies every file of dir, as the disk holds them at the moment
// a process is killed (writes are in the page cache, nothing else is).
func snapshotDir(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.Type().IsRegular() {
			copyFile(t, filepath.Join(dir, e.Name()), filepath.Join(out, e.Name()))
		}
	}
	return out
}

// The crash case in-process: the consumer accepts some batches, then
// refuses; the storage is copied as it is at that moment (what kill -9
// leaves behind) and a new receiver starts on the copy. Everything arrives,
// and nothing that was accepted before the "crash" comes again, although
// fileconsumer never finished a poll cycle (its own checkpoint is empty).
func TestCrashResumesAfterLastAcceptedBatch(t *testing.T) {
	logs, store := t.TempDir(), t.TempDir()
	path := filepath.Join(logs, "a.log")
	const n = 2000
	appendLines(t, path, 0, n)

	h, _ := startStorage(t, store)
	s1 := &sink{refuse: func(batch int, _ plog.Logs) error {
		if batch > 5 {
			return errRetryable
		}
		return nil
	}}
	r1 := start(t, storageConfig(logs), s1, h)
	waitCounter(t, r1, "delivery_retries", 2)
	accepted := s1.seqs(t)
	require.Len(t, accepted, 500)
	crashed := snapshotDir(t, store)

	h2, _ := startStorage(t, crashed)
	s2 := &sink{}
	start(t, storageConfig(logs), s2, h2)
	waitForSeq(t, s2, n-1)

	dups := checkAll(t, append(accepted, s2.seqs(t)...), n)
	t.Logf("after the simulated crash: %d lines accepted before, %d after, %d twice", len(accepted), len(s2.seqs(t)), dups)
	assert.Zero(t, dups, "lines accepted before the crash came again")
}

// Stopping while a batch is refused gives it up; fileconsumer still saves
// an offset past it, but the restart resumes at the acknowledged position,
// so the batch is not lost.
func TestShutdownDuringRefusalLosesNothing(t *testing.T) {
	logs, store := t.TempDir(), t.TempDir()
	path := filepath.Join(logs, "a.log")
	const n = 450
	appendLines(t, path, 0, n)

	h, stopStorage := startStorage(t, store)
	s1 := &sink{refuse: func(batch int, _ plog.Logs) error {
		if batch > 2 {
			return errRetryable
		}
		return nil
	}}
	r1 := start(t, storageConfig(logs), s1, h)
	waitCounter(t, r1, "delivery_retries", 1)
	require.NoError(t, r1.rcv.Shutdown(context.Background()))
	stopStorage()
	accepted := s1.seqs(t)
	require.Len(t, accepted, 200)

	h2, _ := startStorage(t, store)
	s2 := &sink{}
	start(t, storageConfig(logs), s2, h2)
	waitForSeq(t, s2, n-1)
	assert.Zero(t, checkAll(t, append(accepted, s2.seqs(t)...), n))
}

// A CRI partial line read before a crash but not yet completed is read
// again after it: the acknowledged position stays at its start.
func TestCrashBetweenPartialLinesKeepsTheLineWhole(t *testing.T) {
	logs, store := t.TempDir(), t.TempDir()
	path := filepath.Join(logs, "0.log")
	first := "2026-07-30T18:04:11.400000000Z stderr F " + seqLine(0) + "\n" +
		"2026-07-30T18:04:11.500000000Z stderr P {\"message\":\"held \n"
	require.NoError(t, os.WriteFile(path, []byte(first), 0o600))

	h, _ := startStorage(t, store)
	s1 := &sink{}
	r1 := start(t, storageConfig(logs), s1, h)
	s1.waitFor(t, 1)
	waitCounter(t, r1, "lines_read", 2)
	crashed := snapshotDir(t, store)

	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("2026-07-30T18:04:11.500000001Z stderr F back\",\"seq\":1}\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())

	h2, _ := startStorage(t, crashed)
	s2 := &sink{}
	start(t, storageConfig(logs), s2, h2)
	waitForSeq(t, s2, 1)
	recs := s2.all()
	require.Len(t, recs, 1, "the whole line 0 was acknowledged before the crash")
	assert.Equal(t, "held back", recs[0].Body().Str())
}

// Several files read at once: a crash in the middle of all of them loses
// nothing, and each file repeats at most its batch in flight.
func TestCrashWithSeveralFiles(t *testing.T) {
	logs, store := t.TempDir(), t.TempDir()
	const files, per = 3, 700
	for f := 0; f < files; f++ {
		appendLines(t, filepath.Join(logs, fmt.Sprintf("worker-%d.log", f)), f*per, (f+1)*per)
	}
	h, _ := startStorage(t, store)
	s1 := &sink{refuse: func(batch int, _ plog.Logs) error {
		if batch > 8 {
			return errRetryable
		}
		return nil
	}}
	r1 := start(t, storageConfig(logs), s1, h)
	waitCounter(t, r1, "delivery_retries", 2*files)
	accepted := s1.seqs(t)
	crashed := snapshotDir(t, store)

	h2, _ := startStorage(t, crashed)
	s2 := &sink{}
	start(t, storageConfig(logs), s2, h2)
	defer func() {
		if t.Failed() {
			t.Logf("accepted before: %s\nafter: %s", ranges(accepted), ranges(s2.seqs(t)))
		}
	}()
	// A file may have been read completely before the crash: wait for the
	// union to hold every line.
	testutil.Eventually(t, 30*time.Second, 20*time.Millisecond, func() error {
		seen := map[int64]bool{}
		for _, s := range append(append([]int64(nil), accepted...), s2.seqs(t)...) {
			seen[s] = true
		}
		if len(seen) < files*per {
			return fmt.Errorf("%d of %d lines", len(seen), files*per)
		}
		return nil
	})
	dups := checkAll(t, append(accepted, s2.seqs(t)...), files*per)
	t.Logf("%d files: %d lines accepted before the crash, %d twice", files, len(accepted), dups)
	assert.LessOrEqual(t, dups, 100*files)
}

// ranges summarises a sequence of seq numbers as runs of consecutive ones.
func ranges(seqs []int64) string {
	var out []string
	for i := 0; i < len(seqs); {
		j := i
		for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 {
			j++
		}
		out = append(out, fmt.Sprintf("%d-%d", seqs[i], seqs[j]))
		i = j + 1
	}
	return strings.Join(out, " ")
}

// Unreadable saved positions do not keep the receiver from starting: it
// counts the error and reads on from fileconsumer's own checkpoint.
func TestCorruptSavedPositionsAreCountedNotFatal(t *testing.T) {
	logs, store := t.TempDir(), t.TempDir()
	appendLines(t, filepath.Join(logs, "a.log"), 0, 10)
	h, stopStorage := startStorage(t, store)
	client, err := adapter.GetStorageClient(context.Background(), h, &storageID, component.NewID(metadata.Type))
	require.NoError(t, err)
	require.NoError(t, client.Set(context.Background(), ackstore.Key, []byte("{not json")))
	require.NoError(t, client.Close(context.Background()))
	stopStorage()

	h2, _ := startStorage(t, store)
	s := &sink{}
	r := start(t, storageConfig(logs), s, h2)
	s.waitFor(t, 10)
	assert.Equal(t, int64(1), r.counter(t, "checkpoint_errors"))
}
