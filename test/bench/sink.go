package bench

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // the otlp_grpc exporter compresses by default
)

// Sink is a small OTLP gRPC server that counts the spans and log records it
// receives. It is the end of the pipeline benchmarks: cheap enough that it
// never slows the collector that sends to it.
type Sink struct {
	ln      net.Listener
	srv     *grpc.Server
	spans   atomic.Int64
	records atomic.Int64
	reqs    atomic.Int64
	bytes   atomic.Int64

	mu sync.Mutex
	// OnTraces, when set before Start, sees every request (for checks of
	// what arrived); it must not keep td.
	OnTraces func(td ptrace.Traces)
}

// NewSink listens on addr (host:port, port 0 for any).
func NewSink(addr string) (*Sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Sink{ln: ln}, nil
}

// Addr is the address the sink listens on.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Start serves until Stop.
func (s *Sink) Start() {
	s.srv = grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
	ptraceotlp.RegisterGRPCServer(s.srv, &traceServer{s: s})
	plogotlp.RegisterGRPCServer(s.srv, &logServer{s: s})
	go func() { _ = s.srv.Serve(s.ln) }()
}

// Stop ends the server.
func (s *Sink) Stop() {
	if s.srv != nil {
		s.srv.Stop()
	}
}

// Spans is the number of spans received so far.
func (s *Sink) Spans() int64 { return s.spans.Load() }

// Records is the number of log records received so far.
func (s *Sink) Records() int64 { return s.records.Load() }

// Bytes is the size of the spans received so far, as uncompressed OTLP
// protobuf.
func (s *Sink) Bytes() int64 { return s.bytes.Load() }

var sizer ptrace.ProtoMarshaler

// Requests is the number of export requests received so far.
func (s *Sink) Requests() int64 { return s.reqs.Load() }

// Reset sets the counters to zero.
func (s *Sink) Reset() {
	s.spans.Store(0)
	s.records.Store(0)
	s.reqs.Store(0)
	s.bytes.Store(0)
}

// WaitSpans waits until at least n spans have arrived, or timeout.
func (s *Sink) WaitSpans(n int64, timeout time.Duration) error {
	return waitCount(s.Spans, n, timeout, "spans")
}

// WaitRecords waits until at least n log records have arrived, or timeout.
func (s *Sink) WaitRecords(n int64, timeout time.Duration) error {
	return waitCount(s.Records, n, timeout, "log records")
}

func waitCount(get func() int64, n int64, timeout time.Duration, what string) error {
	deadline := time.Now().Add(timeout)
	for {
		got := get()
		if got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d %s arrived within %s", got, n, what, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type traceServer struct {
	ptraceotlp.UnimplementedGRPCServer
	s *Sink
}

func (t *traceServer) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	td := req.Traces()
	if t.s.OnTraces != nil {
		t.s.mu.Lock()
		t.s.OnTraces(td)
		t.s.mu.Unlock()
	}
	t.s.spans.Add(int64(td.SpanCount()))
	t.s.bytes.Add(int64(sizer.TracesSize(td)))
	t.s.reqs.Add(1)
	return ptraceotlp.NewExportResponse(), nil
}

type logServer struct {
	plogotlp.UnimplementedGRPCServer
	s *Sink
}

func (l *logServer) Export(_ context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	l.s.records.Add(int64(req.Logs().LogRecordCount()))
	l.s.reqs.Add(1)
	return plogotlp.NewExportResponse(), nil
}
