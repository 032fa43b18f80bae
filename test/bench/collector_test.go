package bench

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// collector is a child otelcol-dynamo process of a whole-process
// measurement.
type collector struct {
	proc *testutil.Process
}

// startCollector runs the distribution's binary on the configuration that
// build returns for three fresh loopback addresses (the health check's, in
// place of __HEALTH__, and two for the caller), waiting until its health
// check answers. When a port was taken between choosing and binding it, it
// tries again with new ones. Only the collector's own warnings are logged,
// and its metrics endpoint is off, so that neither adds to what is measured.
func startCollector(tb testing.TB, name string, build func(addrs [3]string) string) (*collector, [3]string) {
	tb.Helper()
	return startCollectorBinary(tb, "", name, build)
}

// startCollectorBinary is startCollector with another collector binary; an
// empty bin is the distribution's.
func startCollectorBinary(tb testing.TB, bin, name string, build func(addrs [3]string) string) (*collector, [3]string) {
	tb.Helper()
	if bin == "" {
		bin = testutil.CollectorBinary(tb)
	}
	for attempt := 1; ; attempt++ {
		addrs := freeAddrs(tb)
		config := strings.ReplaceAll(build(addrs), "__HEALTH__", addrs[0]) + `
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
`
		path := filepath.Join(tb.TempDir(), name+".yaml")
		require.NoError(tb, os.WriteFile(path, []byte(config), 0o644))
		p := testutil.StartProcess(tb, name, bin, []string{"--config", path}, nil)
		exited := false
		testutil.Eventually(tb, 30*time.Second, 20*time.Millisecond, func() error {
			if p.Exited() {
				exited = true
				return nil
			}
			c, err := net.DialTimeout("tcp", addrs[0], 200*time.Millisecond)
			if err != nil {
				return err
			}
			return c.Close()
		})
		if !exited {
			return &collector{proc: p}, addrs
		}
		if attempt == 3 || !strings.Contains(p.Output(), "address already in use") {
			tb.Fatalf("%s exited:\n%s", name, p.Output())
		}
	}
}

// freeAddrs returns three distinct loopback addresses that were free a
// moment ago: all three listeners are held open until all are chosen.
func freeAddrs(tb testing.TB) [3]string {
	tb.Helper()
	var addrs [3]string
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(tb, err)
		lns = append(lns, l)
		addrs[i] = l.Addr().String()
	}
	return addrs
}

// usage reads the child's CPU time (its CPU clock) and memory (/proc).
func (c *collector) usage(tb testing.TB) ProcUsage {
	tb.Helper()
	u, err := ReadProc(c.proc.Cmd.Process.Pid)
	require.NoError(tb, err)
	return u
}

func (c *collector) stop() { c.proc.Stop(10 * time.Second) }

var (
	componentsOnce sync.Once
	components     string
)

// hasComponent reports whether the collector binary contains a component of
// the given type (from `otelcol-dynamo components`).
func hasComponent(tb testing.TB, typ string) bool {
	tb.Helper()
	componentsOnce.Do(func() {
		out, err := exec.Command(testutil.CollectorBinary(tb), "components").Output()
		require.NoError(tb, err)
		components = string(out)
	})
	return strings.Contains(components, "\n    - name: "+typ+"\n")
}
