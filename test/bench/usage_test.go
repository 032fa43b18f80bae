package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// ProcCPU of a busy child agrees with the utime+stime the kernel reports
// for it in /proc/<pid>/stat (clock ticks of 10 ms), and it only grows.
func TestProcCPUAgreesWithProcStat(t *testing.T) {
	cmd := exec.Command("sh", "-c", "i=0; while :; do i=$((i+1)); done")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	pid := cmd.Process.Pid
	var last time.Duration
	require.Eventually(t, func() bool {
		cpu, err := ProcCPU(pid)
		require.NoError(t, err)
		require.GreaterOrEqual(t, cpu, last)
		last = cpu
		return cpu >= 200*time.Millisecond
	}, time.Minute, 10*time.Millisecond)

	before, err := ProcCPU(pid)
	require.NoError(t, err)
	ticks := statCPU(t, pid)
	after, err := ProcCPU(pid)
	require.NoError(t, err)
	// stat lags the clock: its ticks truncate (10 ms), and it counts the
	// running thread's time only up to the kernel's last scheduler tick
	// (up to 10 ms more at HZ=100), where the clock counts it to the
	// nanosecond. One more tick allows for a scheduler tick that comes late
	// on a shared virtual machine (a lag of 16 ms was seen).
	require.GreaterOrEqual(t, ticks, before-30*time.Millisecond, "stat %v, clock %v", ticks, before)
	require.LessOrEqual(t, ticks, after, "stat %v, clock %v", ticks, after)

	u, err := ReadProc(pid)
	require.NoError(t, err)
	require.GreaterOrEqual(t, u.CPU, after)
	require.Positive(t, u.RSS)
	require.GreaterOrEqual(t, u.HWM, u.RSS)

	// A process that ended and was reaped has no clock.
	gone := exec.Command("true")
	require.NoError(t, gone.Run())
	_, err = ProcCPU(gone.Process.Pid)
	require.Error(t, err)
}

// statCPU is utime+stime of /proc/<pid>/stat.
func statCPU(t *testing.T, pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err)
	// Fields are counted after the command name's closing parenthesis:
	// utime is field 14, stime field 15.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	ut, err := strconv.ParseInt(f[11], 10, 64)
	require.NoError(t, err)
	st, err := strconv.ParseInt(f[12], 10, 64)
	require.NoError(t, err)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
