package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testbackend"
)

// source is an OTLP client that behaves like a well-configured SDK exporter:
// it sends numbered spans and log records over gRPC and retries every refused
// or failed export (UNAVAILABLE, RESOURCE_EXHAUSTED, connection refused, ...)
// until the collector accepts it. Everything it counts as sent was
// acknowledged by the collector.
type source struct {
	service string
	conn    *grpc.ClientConn
	traces  ptraceotlp.GRPCClient
	logs    plogotlp.GRPCClient

	// Per batch: spans (one trace) and log records.
	spansPerBatch, logsPerBatch int
	// logsFirst sends a batch's log records spanDelay before its spans, as
	// Dynamo does (log records are exported at once, spans in batches, the
	// root span last); the records carry the trace id but not x_request_id.
	logsFirst bool
	spanDelay time.Duration

	nextSeq   atomic.Int64
	ackSpans  atomic.Int64
	ackLogs   atomic.Int64
	attempts  atomic.Int64
	mu        sync.Mutex
	failCodes map[codes.Code]int
}

func newSource(t testing.TB, grpcAddr, service string, spansPerBatch, logsPerBatch int) *source {
	t.Helper()
	conn, err := grpc.NewClient(grpcAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// Reconnect quickly once a restarted collector listens again.
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{
			BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 500 * time.Millisecond,
		}, MinConnectTimeout: time.Second}),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &source{
		service: service, conn: conn,
		traces: ptraceotlp.NewGRPCClient(conn), logs: plogotlp.NewGRPCClient(conn),
		spansPerBatch: spansPerBatch, logsPerBatch: logsPerBatch,
		failCodes: map[codes.Code]int{},
	}
}

func traceIDFor(service string, seq int64) pcommon.TraceID {
	var id pcommon.TraceID
	h := uint64(14695981039346656037)
	for i := 0; i < len(service); i++ {
		h = (h ^ uint64(service[i])) * 1099511628211
	}
	for i := 0; i < 8; i++ {
		id[i] = byte(h >> (8 * i))
		id[8+i] = byte(uint64(seq+1) >> (8 * (7 - i)))
	}
	return id
}

// batch builds batch number seq: one trace of spansPerBatch spans and
// logsPerBatch log records, each carrying its own "seq" attribute
// ("<batch>-<i>"), unique across the run.
func (s *source) batch(seq int64) (ptrace.Traces, plog.Logs) {
	now := time.Now()
	tid := traceIDFor(s.service, seq)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", s.service)
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < s.spansPerBatch; i++ {
		sp := spans.AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID(pcommon.SpanID{byte(i + 1), 0, 0, 0, byte(seq >> 24), byte(seq >> 16), byte(seq >> 8), byte(seq)})
		if i > 0 {
			sp.SetParentSpanID(pcommon.SpanID{1, 0, 0, 0, byte(seq >> 24), byte(seq >> 16), byte(seq >> 8), byte(seq)})
			sp.SetName("handle_payload")
		} else {
			sp.SetName("http-request")
		}
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Millisecond)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
		sp.Attributes().PutStr("seq", fmt.Sprintf("%d-%d", seq, i))
		sp.Attributes().PutStr("x_request_id", fmt.Sprintf("%s-%d", s.service, seq))
	}
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", s.service)
	recs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := 0; i < s.logsPerBatch; i++ {
		lr := recs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		lr.Body().SetStr("request received")
		lr.SetTraceID(tid)
		lr.Attributes().PutStr("run", s.service)
		lr.Attributes().PutStr("seq", fmt.Sprintf("%d-%d", seq, i))
	}
	return td, ld
}

// sendUntilAccepted retries one export until the collector accepts it or ctx
// ends.
func (s *source) sendUntilAccepted(ctx context.Context, send func(context.Context) error) error {
	wait := 20 * time.Millisecond
	for {
		s.attempts.Add(1)
		callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := send(callCtx)
		cancel()
		if err == nil {
			return nil
		}
		s.mu.Lock()
		s.failCodes[status.Code(err)]++
		s.mu.Unlock()
		switch status.Code(err) {
		case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded, codes.Aborted, codes.Canceled:
		default:
			return fmt.Errorf("permanent export error: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// sendOne sends one batch (traces then logs), each retried until accepted.
func (s *source) sendOne(ctx context.Context) error {
	seq := s.nextSeq.Add(1) - 1
	td, ld := s.batch(seq)
	sendSpans := func() error {
		if err := s.sendUntilAccepted(ctx, func(c context.Context) error {
			_, err := s.traces.Export(c, ptraceotlp.NewExportRequestFromTraces(td))
			return err
		}); err != nil {
			return err
		}
		s.ackSpans.Add(int64(s.spansPerBatch))
		return nil
	}
	sendLogs := func() error {
		if err := s.sendUntilAccepted(ctx, func(c context.Context) error {
			_, err := s.logs.Export(c, plogotlp.NewExportRequestFromLogs(ld))
			return err
		}); err != nil {
			return err
		}
		s.ackLogs.Add(int64(s.logsPerBatch))
		return nil
	}
	if s.logsFirst {
		if err := sendLogs(); err != nil {
			return err
		}
		time.Sleep(s.spanDelay)
		return sendSpans()
	}
	if s.spansPerBatch > 0 {
		if err := sendSpans(); err != nil {
			return err
		}
	}
	if s.logsPerBatch > 0 {
		return sendLogs()
	}
	return nil
}

// run sends batches every interval (as fast as accepted when interval is 0)
// until stop is closed; the batch in flight at that moment is still
// completed. It returns the first permanent error.
func (s *source) run(ctx context.Context, stop <-chan struct{}, interval time.Duration) error {
	tick := time.NewTicker(max(interval, time.Microsecond))
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		if err := s.sendOne(ctx); err != nil {
			return err
		}
		if interval > 0 {
			select {
			case <-stop:
				return nil
			case <-tick.C:
			}
		}
	}
}

func (s *source) failures() map[codes.Code]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[codes.Code]int{}
	for k, v := range s.failCodes {
		out[k] = v
	}
	return out
}

// arrival counts what reached a store: every distinct seq and how many copies
// of each.
type arrival struct {
	copies map[string]int
}

func (a arrival) unique() int { return len(a.copies) }

func (a arrival) total() int {
	n := 0
	for _, c := range a.copies {
		n += c
	}
	return n
}

func (a arrival) duplicates() int { return a.total() - a.unique() }

func (a arrival) add(b arrival) arrival {
	out := arrival{copies: map[string]int{}}
	for k, v := range a.copies {
		out.copies[k] += v
	}
	for k, v := range b.copies {
		out.copies[k] += v
	}
	return out
}

// missing lists up to n seqs of batches [0, batches) that did not arrive.
func (a arrival) missing(batches int64, perBatch int, n int) []string {
	var out []string
	for b := int64(0); b < batches; b++ {
		for i := 0; i < perBatch; i++ {
			k := fmt.Sprintf("%d-%d", b, i)
			if a.copies[k] == 0 {
				out = append(out, k)
				if len(out) >= n {
					return out
				}
			}
		}
	}
	return out
}

// jaegerSpans counts the spans of service in Jaeger by their seq attribute.
func jaegerSpans(j *testbackend.Jaeger, service string) (arrival, error) {
	var resp struct {
		Data []struct {
			Spans []struct {
				Tags []struct {
					Key   string `json:"key"`
					Value any    `json:"value"`
				} `json:"tags"`
			} `json:"spans"`
		} `json:"data"`
	}
	q := url.Values{
		"service":  {service},
		"limit":    {"1000000"},
		"start":    {strconv.FormatInt(time.Now().Add(-2*time.Hour).UnixMicro(), 10)},
		"end":      {strconv.FormatInt(time.Now().Add(time.Hour).UnixMicro(), 10)},
		"lookback": {"custom"},
	}
	a := arrival{copies: map[string]int{}}
	if err := j.GetJSON("/api/traces?"+q.Encode(), &resp); err != nil {
		return a, err
	}
	for _, tr := range resp.Data {
		for _, sp := range tr.Spans {
			for _, tag := range sp.Tags {
				if tag.Key == "seq" {
					a.copies[fmt.Sprint(tag.Value)]++
				}
			}
		}
	}
	return a, nil
}

// victoriaLogs counts the log records of run in VictoriaLogs by their seq field.
func victoriaLogs(v *testbackend.VictoriaLogs, run string) (arrival, error) {
	a := arrival{copies: map[string]int{}}
	rows, err := v.Query(fmt.Sprintf(`run:=%s | fields seq`, strconv.Quote(run)))
	if err != nil {
		return a, err
	}
	for _, r := range rows {
		a.copies[fmt.Sprint(r["seq"])]++
	}
	return a, nil
}

// dump is a compact JSON rendering for test logs.
func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
