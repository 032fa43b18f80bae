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

func TestRotationByRenameUnderWriting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "worker.log")
	s := &sink{}
	start(t, testConfig(dir), s, nil) // include *.log: rotated files are not matched
	const n = 3000
	writeRotating(t, path, n, 700, func(f *os.File, i int) (*os.File, bool) {
		require.NoError(t, os.Rename(path, fmt.Sprintf("%s.%d", path, i)))
		// One more line goes to the renamed file through the old handle,
		// as with a logger that reopens lazily.
		_, err := f.WriteString(seqLine(i) + "\n")
		require.NoError(t, err)
		require.NoError(t, f.Close())
		nf, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		require.NoError(t, err)
		return nf, true
	})
	waitForSeq(t, s, n-1)
	dups := checkAll(t, s.seqs(t), n)
	t.Logf("rename rotation: %d lines, %d twice", n, dups)
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
