package bench

import (
	"runtime"
	"testing"
	"time"
)

// Meter measures the timed sections of a benchmark: CPU time from the OS
// (user+system of the whole process, garbage collection included) and heap
// allocations, alongside the benchmark's own timer. Work done with the meter
// stopped (cloning input, writing files) is left out of all three.
type Meter struct {
	b       *testing.B
	cpu     time.Duration
	mallocs uint64
	t0      time.Duration
	m0      uint64
	ms      runtime.MemStats
}

// NewMeter stops b's timer; call Start before the measured work.
func NewMeter(b *testing.B) *Meter {
	b.StopTimer()
	return &Meter{b: b}
}

// Start resumes measuring.
func (m *Meter) Start() {
	runtime.ReadMemStats(&m.ms)
	m.m0 = m.ms.Mallocs
	m.b.StartTimer()
	m.t0 = CPUTime()
}

// Stop pauses measuring.
func (m *Meter) Stop() {
	m.cpu += CPUTime() - m.t0
	m.b.StopTimer()
	runtime.ReadMemStats(&m.ms)
	m.mallocs += m.ms.Mallocs - m.m0
}

// CPU is the CPU time of the measured sections so far.
func (m *Meter) CPU() time.Duration { return m.cpu }

// Report adds the per-item figures to the benchmark's output: items per
// CPU-second, CPU nanoseconds and allocations per item. unit names the item
// (span, record, line).
func (m *Meter) Report(items int, unit string) {
	if items <= 0 {
		return
	}
	if m.cpu > 0 {
		m.b.ReportMetric(float64(items)/m.cpu.Seconds(), unit+"s/cpu-s")
		m.b.ReportMetric(float64(m.cpu.Nanoseconds())/float64(items), "cpu-ns/"+unit)
	}
	m.b.ReportMetric(float64(m.mallocs)/float64(items), "allocs/"+unit)
}
