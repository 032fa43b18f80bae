package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// jsonlOverlay writes an overlay that adds a jsonl receiver, reading the
// files matching include with its read positions in stateDir, to the
// gateway's logs pipeline.
func jsonlOverlay(t testing.TB, include, stateDir string, extra string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "jsonl.overlay.yaml")
	require.NoError(t, writeFile(p, fmt.Sprintf(`
extensions:
  file_storage/jsonl:
    directory: %s
    create_directory: true
receivers:
  jsonl:
    include: [%q]
    start_at: beginning
    storage: file_storage/jsonl
%s
service:
  extensions: [health_check, file_storage/queue, file_storage/jsonl]
  pipelines:
    logs:
      receivers: [otlp, jsonl]
`, stateDir, include, extra)))
	return p
}

// jsonlWriter appends numbered Dynamo-shaped JSONL lines to a file, as a
// Dynamo process writing its stderr to a file would, and rotates the file
// on request between two lines.
type jsonlWriter struct {
	path    string
	run     string
	f       *os.File
	written atomic.Int64
	rotated int

	mu      sync.Mutex
	stop    chan struct{}
	done    chan struct{}
	err     error
	rotateQ chan func() error
}

func newJSONLWriter(t testing.TB, path, run string) *jsonlWriter {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(t, err)
	return &jsonlWriter{path: path, run: run, f: f, stop: make(chan struct{}), done: make(chan struct{}), rotateQ: make(chan func() error)}
}

func (w *jsonlWriter) line(n int64) []byte {
	return fmt.Appendf(nil, `{"time":"%s","level":"INFO","file":"lib/runtime/src/pipeline/network/ingress/push_handler.rs","line":211,"target":"dynamo_runtime::pipeline::network::ingress::push_handler","message":"request received","component":"backend","run":%q,"seq":"j-%d","x_request_id":"%s-%d"}`+"\n",
		time.Now().UTC().Format("2006-01-02T15:04:05.000000Z"), w.run, n, w.run, n)
}

// start writes burst lines every interval until stop.
func (w *jsonlWriter) start(burst int, interval time.Duration) {
	go func() {
		defer close(w.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				w.err = w.f.Close()
				return
			case op := <-w.rotateQ:
				if err := op(); err != nil {
					w.err = err
					return
				}
			case <-tick.C:
				for i := 0; i < burst; i++ {
					n := w.written.Load()
					if _, err := w.f.Write(w.line(n)); err != nil {
						w.err = err
						return
					}
					w.written.Add(1)
				}
			}
		}
	}()
}

// finish stops writing and returns the number of lines written.
func (w *jsonlWriter) finish(t testing.TB) int64 {
	t.Helper()
	close(w.stop)
	<-w.done
	require.NoError(t, w.err)
	return w.written.Load()
}

// rotate runs a rotation between two lines.
func (w *jsonlWriter) rotate(t testing.TB, how string) {
	t.Helper()
	w.rotated++
	rotatedPath := fmt.Sprintf("%s.%d", w.path, w.rotated)
	var op func() error
	switch how {
	case "rename": // logrotate's default: move the file away, the writer reopens
		op = func() error {
			if err := w.f.Close(); err != nil {
				return err
			}
			if err := os.Rename(w.path, rotatedPath); err != nil {
				return err
			}
			var err error
			w.f, err = os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			return err
		}
	case "copytruncate": // logrotate's copytruncate: copy, then truncate in place
		op = func() error {
			b, err := os.ReadFile(w.path)
			if err != nil {
				return err
			}
			if err := os.WriteFile(rotatedPath, b, 0o644); err != nil {
				return err
			}
			return w.f.Truncate(0)
		}
	case "recreate": // the file deleted and a new one created under the same name
		op = func() error {
			if err := w.f.Close(); err != nil {
				return err
			}
			if err := os.Remove(w.path); err != nil {
				return err
			}
			var err error
			w.f, err = os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			return err
		}
	default:
		t.Fatalf("unknown rotation %q", how)
	}
	select {
	case w.rotateQ <- op:
	case <-w.done:
		t.Fatalf("writer stopped: %v", w.err)
	}
}
