// Package testutil holds helpers shared by this repository's tests: locating
// the repository and the collector binary, picking free loopback ports, and
// running collector processes with their output kept for failure reports.
package testutil

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RepoRoot returns the directory that holds the repository's go.mod.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "builder-config.yaml")); err == nil {
				return dir
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("repository root (go.mod + builder-config.yaml) not found above the working directory")
		}
		dir = parent
	}
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// CollectorBinary returns the path of the otelcol-dynamo binary. It uses
// $OTELCOL_DYNAMO_BIN when that names an existing file (the Makefile sets it to
// bin/otelcol-dynamo after `make build`); otherwise it builds the binary once per
// test process into a temporary directory.
func CollectorBinary(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("OTELCOL_DYNAMO_BIN"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	root := RepoRoot(tb)
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "otelcol-dynamo-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "otelcol-dynamo")
		cmd := exec.Command("go", "build", "-o", builtBin, "./cmd/otelcol-dynamo")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/otelcol-dynamo: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatalf("%v", buildErr)
	}
	return builtBin
}

// handedOut are the ports FreePort has returned in this process.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago and
// that it has not returned before in this process. The kernel may give a
// port it just handed out, and released, to the next listener on port 0:
// two listeners of one collector configuration (its OTLP receiver and its
// health check, say) could otherwise be given the same port.
func FreePort(tb testing.TB) int {
	tb.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 1000 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("listen: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !handedOut.ports[port] {
			handedOut.ports[port] = true
			return port
		}
	}
	tb.Fatalf("no loopback port that was not handed out before")
	return 0
}

// FreeAddr returns "127.0.0.1:<free port>".
func FreeAddr(tb testing.TB) string {
	return "127.0.0.1:" + strconv.Itoa(FreePort(tb))
}

// Eventually polls cond every interval until it returns nil or the deadline
// passes, then fails the test with the last error.
func Eventually(tb testing.TB, timeout, interval time.Duration, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if last = cond(); last == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("condition not met within %s: %v", timeout, last)
		}
		time.Sleep(interval)
	}
}

// WaitForTCP waits until something accepts connections on addr.
func WaitForTCP(tb testing.TB, addr string, timeout time.Duration) {
	tb.Helper()
	Eventually(tb, timeout, 50*time.Millisecond, func() error {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return err
		}
		return c.Close()
	})
}

// Process is a child process whose combined output is kept in memory.
type Process struct {
	Name string
	Cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// StartProcess starts bin with args and extra environment variables. The
// process is stopped (SIGTERM, then SIGKILL after 10s) when the test ends, and
// its output is printed if the test failed.
func StartProcess(tb testing.TB, name, bin string, args []string, env []string) *Process {
	tb.Helper()
	p := &Process{Name: name, out: &syncBuffer{}, done: make(chan struct{})}
	p.Cmd = exec.Command(bin, args...)
	p.Cmd.Env = append(os.Environ(), env...)
	p.Cmd.Stdout = p.out
	p.Cmd.Stderr = p.out
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.Cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		p.Stop(10 * time.Second)
		if tb.Failed() {
			tb.Logf("---- output of %s ----\n%s", name, p.Output())
		}
	})
	return p
}

// Output returns everything the process printed so far.
func (p *Process) Output() string { return p.out.String() }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the process to end and returns its exit error.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop sends SIGTERM and waits up to grace before killing the process group.
func (p *Process) Stop(grace time.Duration) {
	if p.Exited() {
		return
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.Kill()
	}
}

// Kill sends SIGKILL to the process group and waits for the process to end.
func (p *Process) Kill() {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}
