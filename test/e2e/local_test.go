//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// localOutput is what configs/local.yaml wrote to its out/ folder, by trace.
type localOutput struct {
	spans, logs   map[string]int
	missingXSpans map[string][]string // trace → spans without the request's x_request_id
	missingXLogs  map[string][]string
	xByTrace      map[string]string   // trace → x_request_id seen on its items
	otherX        map[string][]string // trace → other x_request_ids seen on its items
	noTrace       int                 // log records without a trace id
	totalSpans    int
	totalLogs     int
}

func readLocalOutput(dir string) (*localOutput, error) {
	out := &localOutput{
		spans: map[string]int{}, logs: map[string]int{},
		missingXSpans: map[string][]string{}, missingXLogs: map[string][]string{},
		xByTrace: map[string]string{}, otherX: map[string][]string{},
	}
	seen := func(tid, x string) {
		switch first := out.xByTrace[tid]; {
		case first == "":
			out.xByTrace[tid] = x
		case first != x:
			out.otherX[tid] = append(out.otherX[tid], x)
		}
	}
	err := eachLine(filepath.Join(dir, "traces.jsonl"), func(line []byte) error {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
		if err != nil {
			return err
		}
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				spans := rs.ScopeSpans().At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					s := spans.At(k)
					tid := s.TraceID().String()
					out.spans[tid]++
					out.totalSpans++
					if x, ok := s.Attributes().Get("x_request_id"); ok {
						seen(tid, x.Str())
					} else {
						out.missingXSpans[tid] = append(out.missingXSpans[tid], s.Name())
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = eachLine(filepath.Join(dir, "logs.jsonl"), func(line []byte) error {
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(line)
		if err != nil {
			return err
		}
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				recs := rl.ScopeLogs().At(j).LogRecords()
				for k := 0; k < recs.Len(); k++ {
					r := recs.At(k)
					out.totalLogs++
					if r.TraceID().IsEmpty() {
						out.noTrace++
						continue
					}
					tid := r.TraceID().String()
					out.logs[tid]++
					if x, ok := r.Attributes().Get("x_request_id"); ok {
						seen(tid, x.Str())
					} else {
						out.missingXLogs[tid] = append(out.missingXLogs[tid], r.Body().AsString())
					}
				}
			}
		}
		return nil
	})
	return out, err
}

func eachLine(path string, f func([]byte) error) error {
	fh, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 256<<20)
	for sc.Scan() {
		// A line still being written is read again at the next poll.
		if err := f(sc.Bytes()); err != nil {
			return nil
		}
	}
	return sc.Err()
}

// TestLocal runs what `make run` runs, configs/local.yaml, with no store at
// all: the generator's OTLP traffic and JSONL files go in, and the OTLP JSON
// files in local-data/out must hold every span and log record once, each
// with its request's x_request_id. A fifth of the requests are not sampled
// (no spans, log records with the sampled flag clear): their records must
// all arrive too, never with another request's id, and are counted as
// passed on without waiting; they must not keep the sampled requests' items
// from their ids.
func TestLocal(t *testing.T) {
	missing := processorMissing(t, "local.yaml")
	dataDir := t.TempDir()
	grpc := testutil.FreeAddr(t)
	metricsPort := testutil.FreePort(t)
	done := phase(t, "start collector on configs/local.yaml")
	proc := testutil.StartProcess(t, "local", testutil.CollectorBinary(t),
		[]string{"--config", configPath(t, "local.yaml")},
		[]string{
			"LOCAL_DATA_DIR=" + dataDir,
			"OTLP_GRPC_ENDPOINT=" + grpc,
			"OTLP_HTTP_ENDPOINT=" + testutil.FreeAddr(t),
			"METRICS_PORT=" + strconv.Itoa(metricsPort),
		})
	testutil.Eventually(t, 60*time.Second, 50*time.Millisecond, func() error {
		if proc.Exited() {
			return fmt.Errorf("collector exited:\n%s", proc.Output())
		}
		return nil
	})
	testutil.WaitForTCP(t, grpc, 60*time.Second)
	done()

	m := generate(t, telemetrygen.Config{
		Generator: telemetrygen.Options{
			SystemShare: 0.1, FailureShare: 0.1, AliasShare: 0.1, LogsPerRequest: 2, UnsampledShare: 0.2,
		},
		OTLP:       telemetrygen.SenderOptions{Endpoint: grpc, Insecure: true},
		JSONL:      telemetrygen.JSONLWriterOptions{Dir: filepath.Join(dataDir, "logs")},
		Requests:   scaled(100),
		Rate:       300,
		RootDelay:  500 * time.Millisecond,
		NoiseEvery: 25,
	})

	done = phase(t, "wait until local-data/out holds everything")
	wantLogs := m.Totals.OTLPLogs + m.Totals.JSONLLines + m.Totals.JSONLNoiseLines
	var out *localOutput
	testutil.Eventually(t, arrivalTimeout, 500*time.Millisecond, func() error {
		var err error
		if out, err = readLocalOutput(filepath.Join(dataDir, "out")); err != nil {
			return err
		}
		if out.totalSpans < m.Totals.Spans || out.totalLogs < wantLogs {
			return fmt.Errorf("%d of %d spans, %d of %d log records in local-data/out", out.totalSpans, m.Totals.Spans, out.totalLogs, wantLogs)
		}
		return nil
	})
	done()

	var p problems
	if out.totalSpans != m.Totals.Spans || out.totalLogs != wantLogs {
		p.add("%d spans and %d log records written, sent %d and %d", out.totalSpans, out.totalLogs, m.Totals.Spans, wantLogs)
	}
	if out.noTrace != m.Totals.JSONLNoiseLines {
		p.add("%d log records without a trace id, sent %d lines without trace context", out.noTrace, m.Totals.JSONLNoiseLines)
	}
	for _, rec := range sent(m) {
		if x := out.otherX[rec.TraceID]; len(x) > 0 {
			p.add("%s: items with x_request_id %q besides %q", describe(rec), x, out.xByTrace[rec.TraceID])
		}
		if out.spans[rec.TraceID] != rec.Spans {
			p.add("%s: %d spans written, sent %d", describe(rec), out.spans[rec.TraceID], rec.Spans)
		}
		if w := rec.OTLPLogs + rec.JSONLLines; out.logs[rec.TraceID] != w {
			p.add("%s: %d log records written, sent %d", describe(rec), out.logs[rec.TraceID], w)
		}
		if rec.System || missing != "" {
			continue
		}
		if rec.Unsampled {
			// Only what the collector learnt from the request's own JSONL
			// lines can be added: some records may go without an id, none
			// with a wrong one.
			if x := out.xByTrace[rec.TraceID]; x != "" && x != rec.XRequestID {
				p.add("%s (not sampled): x_request_id %q written", describe(rec), x)
			}
			continue
		}
		if x := out.xByTrace[rec.TraceID]; x != rec.XRequestID {
			p.add("%s: x_request_id %q written", describe(rec), x)
		}
		if miss := out.missingXSpans[rec.TraceID]; len(miss) > 0 {
			p.add("%s: spans without x_request_id: %v", describe(rec), miss)
		}
		if miss := out.missingXLogs[rec.TraceID]; len(miss) > 0 {
			p.add("%s: log records without x_request_id: %q", describe(rec), miss)
		}
	}
	p.report(t, "local-data/out")
	if missing == "" {
		checkUnsampledPassed(t, unsampledItems(m, true), &collector{metrics: "localhost:" + strconv.Itoa(metricsPort)})
	}
	require.Empty(t, p.lines)
	t.Logf("checked local-data/out against the manifest: %d spans and %d log records (%d OTLP, %d JSONL, %d without trace context), each once; x_request_id checked on all items of the %d inference requests (%d not sampled)",
		out.totalSpans, out.totalLogs, m.Totals.OTLPLogs, m.Totals.JSONLLines, out.noTrace, len(sent(m))-m.Totals.SystemRequests, m.Totals.UnsampledRequests)
	if missing != "" {
		t.Skip(missing + " (counts above were checked)")
	}
}
