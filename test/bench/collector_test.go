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

// startCollector writes config to a file and runs the distribution's binary
// on it, waiting until its health check answers. Only the collector's own
// warnings are logged, and its metrics endpoint is off, so that neither adds
// to what is measured.
func startCollector(tb testing.TB, name, config string) *collector {
	tb.Helper()
	health := testutil.FreeAddr(tb)
	config = strings.ReplaceAll(config, "__HEALTH__", health)
	config += `
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
`
	path := filepath.Join(tb.TempDir(), name+".yaml")
	require.NoError(tb, os.WriteFile(path, []byte(config), 0o644))
	p := testutil.StartProcess(tb, name, testutil.CollectorBinary(tb), []string{"--config", path}, nil)
	testutil.Eventually(tb, 30*time.Second, 20*time.Millisecond, func() error {
		if p.Exited() {
			tb.Fatalf("%s exited:\n%s", name, p.Output())
		}
		c, err := net.DialTimeout("tcp", health, 200*time.Millisecond)
		if err != nil {
			return err
		}
		return c.Close()
	})
	return &collector{proc: p}
}

// usage reads the child's CPU time and memory from /proc.
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
