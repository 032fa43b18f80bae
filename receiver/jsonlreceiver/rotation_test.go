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
	testRenameRotation(t, "*.log", 0)
}

// TestRotationByRenameLateWriter rotates by rename with a writer that goes
// on writing to the renamed file through its old handle a poll or two
// later, as a logger that reopens lazily does. A renamed file outside
// include is read once more, in the next poll, and closed: the late line
// would be lost (with "*.log" here, 4 of 3000 were). With the rotated names
// matched by include, as the README says to, the renamed file is read on
// from where it was, every poll.
func TestRotationByRenameLateWriter(t *testing.T) {
	testRenameRotation(t, "*.log*", 30*time.Millisecond)
}

// testRenameRotation writes 3000 lines to worker.log, renaming it every 700
// with the receiver matching include, and checks that every line arrives
// once. With late > 0, each rotation's last line goes to the renamed file
// through the old handle, late after the rename.
func testRenameRotation(t *testing.T, include string, late time.Duration) {
	dir := t.TempDir()
	path := filepath.Join(dir, "worker.log")
	cfg := testConfig(dir)
	cfg.Include = []string{filepath.Join(dir, include)}
	s := &sink{}
	start(t, cfg, s, nil)
	const n = 3000
	writeRotating(t, path, n, 700, func(f *os.File, i int) (*os.File, bool) {
		require.NoError(t, os.Rename(path, fmt.Sprintf("%s.%d", path, i)))
		if late > 0 {
			time.Sleep(late) // the writer's pace, not synchronisation
			_, err := f.WriteString(seqLine(i) + "\n")
			require.NoError(t, err)
		}
		require.NoError(t, f.Close())
		nf, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		require.NoError(t, err)
		return nf, late > 0
	})
	waitForSeq(t, s, n-1)
	dups := checkAll(t, s.seqs(t), n)
	t.Logf("rename rotation (include %s, late line after %v): %d lines, %d twice", include, late, n, dups)
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
