package jsonlreceiver

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeRotating appends numbered lines to path and rotates the file every
// `every` lines with rotate, as a logging library or logrotate would. rotate
// may write line i itself and then returns true.
func writeRotating(t *testing.T, path string, n, every int, rotate func(f *os.File, i int) (*os.File, bool)) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(t, err)
	for i := 0; i < n; i++ {
		if i > 0 && i%every == 0 {
			var wrote bool
			if f, wrote = rotate(f, i); wrote {
				continue
			}
		}
		_, err := f.WriteString(seqLine(i) + "\n")
		require.NoError(t, err)
		if i%10 == 9 {
			// Pace the writer so that rotations fall between and within polls.
			time.Sleep(time.Millisecond)
		}
	}
	require.NoError(t, f.Close())
}

// TestRotationByRenameUnderWriting rotates by rename with the rotated
// files outside include: lines written before the rename and not yet read
// are read from the renamed file, in the poll after it stops matching.
func TestRotationByRenameUnderWriting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "worker.log")
	s := &sink{}
	start(t, testConfig(dir), s, nil) // include *.log: rotated files are not matched
	const n = 3000
	writeRotating(t, path, n, 700, func(f *os.File, i int) (*os.File, bool) {
		require.NoError(t, os.Rename(path, fmt.Sprintf("%s.%d", path, i)))
		require.NoError(t, f.Close())
		nf, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		require.NoError(t, err)
		return nf, false
	})
	waitForSeq(t, s, n-1)
	dups := checkAll(t, s.seqs(t), n)
	t.Logf("rename rotation: %d lines, %d twice", n, dups)
	assert.Zero(t, dups)
}

// TestRotationByRenameLateWriter rotates by rename with a writer that goes
// on writing to the renamed file through its old handle, as a logger that
// reopens lazily does. A renamed file outside include is read once more,
// in the next poll, and closed: a line written after that poll would be
// lost, and a poll can fall between the rename and the late line. With
// the rotated names matched by include, as the README says to, the renamed
// file is read on from where it was, every poll.
func TestRotationByRenameLateWriter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "worker.log")
	cfg := testConfig(dir)
	cfg.Include = []string{filepath.Join(dir, "*.log*")}
	s := &sink{}
	start(t, cfg, s, nil)
	const n = 3000
	writeRotating(t, path, n, 700, func(f *os.File, i int) (*os.File, bool) {
		require.NoError(t, os.Rename(path, fmt.Sprintf("%s.%d", path, i)))
		// One more line goes to the renamed file through the old handle,
		// a poll or two later.
		time.Sleep(30 * time.Millisecond)
		_, err := f.WriteString(seqLine(i) + "\n")
		require.NoError(t, err)
		require.NoError(t, f.Close())
		nf, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		require.NoError(t, err)
		return nf, true
	})
	waitForSeq(t, s, n-1)
	dups := checkAll(t, s.seqs(t), n)
	t.Logf("rename rotation, late writer: %d lines, %d twice", n, dups)
	assert.Zero(t, dups)
}

func TestRotationByCopyTruncateUnderWriting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "worker.log")
	cfg := testConfig(dir)
	// The copies must be matched too: lines written after the last read and
	// before the truncation are only in the copy.
	cfg.Include = []string{filepath.Join(dir, "*.log*")}
	s := &sink{}
	start(t, cfg, s, nil)
	const n = 3000
	writeRotating(t, path, n, 700, func(f *os.File, i int) (*os.File, bool) {
		src, err := os.Open(path)
		require.NoError(t, err)
		dst, err := os.Create(fmt.Sprintf("%s.%d", path, i))
		require.NoError(t, err)
		_, err = io.Copy(dst, src)
		require.NoError(t, err)
		require.NoError(t, src.Close())
		require.NoError(t, dst.Close())
		require.NoError(t, f.Truncate(0)) // the writer keeps its O_APPEND handle
		return f, false
	})
	waitForSeq(t, s, n-1)
	dups := checkAll(t, s.seqs(t), n)
	t.Logf("copy-truncate rotation: %d lines, %d twice", n, dups)
}
