package reliability

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/encoding/gzip" // the exporter compresses with gzip
	"google.golang.org/grpc/status"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testbackend"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// discardSink is an OTLP gRPC endpoint that acknowledges every export
// without decoding it, so that a flood costs the machine only what the
// collector spends on it. It counts the bytes it was sent.
type discardSink struct {
	Addr  string
	bytes atomic.Int64
	calls atomic.Int64
}

func startDiscardSink(t *testing.T) *discardSink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &discardSink{Addr: l.Addr().String()}
	srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.MaxRecvMsgSize(64<<20),
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			var in []byte
			if err := stream.RecvMsg(&in); err != nil {
				return err
			}
			s.calls.Add(1)
			s.bytes.Add(int64(len(in)))
			out := []byte{} // an empty Export*ServiceResponse
			return stream.SendMsg(&out)
		}))
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return s
}

// floodRequest is one OTLP traces request of about size bytes: spans with
// many string attributes, the shape that costs the most memory once decoded.
func floodRequest(t *testing.T, size int) []byte {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "flood")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	val := strings.Repeat("v", 48)
	for i := 0; ; i++ {
		sp := spans.AppendEmpty()
		sp.SetName("handle_payload")
		sp.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, byte(i % 7)})
		sp.SetSpanID(pcommon.SpanID{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i), 5, 6, 7, 8})
		for k := 0; k < 24; k++ {
			sp.Attributes().PutStr(fmt.Sprintf("attr_%02d", k), val)
		}
		if i%256 == 255 {
			if n := (&ptrace.ProtoMarshaler{}).TracesSize(td); n >= size {
				break
			}
		}
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	return b
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func floodSize() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("FLOOD_SIZE_KIB"), &n); err == nil {
		return n << 10
	}
	return 256 << 10
}

func floodWorkers() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("FLOOD_WORKERS"), &n); err == nil {
		return n
	}
	return 48
}

// TestOverload floods the gateway with OTLP over gRPC and HTTP, several times
// what the machine can process, with the memory limiter set to 320 MiB:
// the collector's own memory (anonymous RSS) stays under that limit, clients get only retryable
// refusals (gRPC UNAVAILABLE / RESOURCE_EXHAUSTED, HTTP 429 / 503), and once
// the flood stops the collector accepts and delivers normal traffic again.
func TestOverload(t *testing.T) {
	const limitMiB = 320
	flood := pick(15*time.Second, 60*time.Second)

	sink := startDiscardSink(t)
	vlogs := testbackend.StartVictoriaLogs(t)
	overlay := filepath.Join(t.TempDir(), "memory.overlay.yaml")
	require.NoError(t, writeFile(overlay, fmt.Sprintf(`
processors:
  memory_limiter:
    check_interval: 100ms
    limit_mib: %d
    spike_limit_mib: %d
`, limitMiB, limitMiB/4)))
	gw := newGateway(t, sink.Addr, vlogs.OTLPLogsEndpoint(), []string{overlay},
		// A small queue, so that a flood of seconds fills it; the Go runtime's
		// soft memory limit at the memory limiter's soft limit (limit -
		// spike), as RELIABILITY.md recommends.
		"QUEUE_SIZE="+envOr("QUEUE_SIZE", "200"), "GOMEMLIMIT="+envOr("FLOOD_GOMEMLIMIT", fmt.Sprintf("%dMiB", limitMiB-limitMiB/4)))
	gw.start()

	body := floodRequest(t, floodSize())
	t.Logf("flood request: %s", mib(float64(len(body))))

	peaks := sample(50*time.Millisecond, func() map[string]float64 {
		out := map[string]float64{}
		if rss, err := gw.rssBytes(); err == nil {
			out["rss"] = float64(rss)
		}
		if rss, err := gw.anonRSSBytes(); err == nil {
			out["anon"] = float64(rss)
		}
		return out
	})

	var (
		mu         sync.Mutex
		grpcCodes  = map[codes.Code]int{}
		httpCodes  = map[int]int{}
		stop       = make(chan struct{})
		wg         sync.WaitGroup
		grpcSent   atomic.Int64
		grpcWorker = floodWorkers() * 2 / 3
		httpWorker = floodWorkers() / 3
	)
	conn, err := grpc.NewClient(gw.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	require.NoError(t, err)
	defer conn.Close()
	for w := 0; w < grpcWorker; w++ {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				var reply []byte
				err := conn.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &body, &reply, grpc.ForceCodec(rawCodec{}))
				cancel()
				grpcSent.Add(1)
				mu.Lock()
				grpcCodes[status.Code(err)]++
				mu.Unlock()
			}
		})
	}
	httpClient := &http.Client{Timeout: 30 * time.Second}
	for w := 0; w < httpWorker; w++ {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				code := -1
				resp, err := httpClient.Post("http://"+gw.HTTP+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
				if err == nil {
					code = resp.StatusCode
					resp.Body.Close()
				}
				mu.Lock()
				httpCodes[code]++
				mu.Unlock()
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), flood)
	_ = gw.proc.Wait(ctx) // returns early only if the collector died
	cancel()
	close(stop)
	wg.Wait()
	gw.alive()
	m, err := gw.scrape()
	require.NoError(t, err)
	t.Logf("flood over: gRPC %v, HTTP %v, receiver accepted %.0f spans, refused %.0f; sink got %s",
		grpcCodes, httpCodes, m.sumPrefix("otelcol_receiver_accepted_spans"), m.sumPrefix("otelcol_receiver_refused_spans"),
		mib(float64(sink.bytes.Load())))

	// Recovery: queues drain and normal traffic is accepted and delivered.
	testutil.Eventually(t, 2*time.Minute, 250*time.Millisecond, func() error {
		m, err := gw.scrape()
		if err != nil {
			return err
		}
		if q := m.sum("otelcol_exporter_queue_size"); q != 0 {
			return fmt.Errorf("queues hold %v batches", q)
		}
		return nil
	})
	src := newSource(t, gw.GRPC, fmt.Sprintf("after-flood-%d", time.Now().UnixNano()), 10, 10)
	for i := 0; i < 50; i++ {
		require.NoError(t, src.sendOne(context.Background()))
	}
	vlogs.WaitForCount(t, fmt.Sprintf("run:=%q", src.service), int(src.ackLogs.Load()), time.Minute)
	p := peaks.Stop()
	gw.alive()

	refusedGRPC := grpcCodes[codes.Unavailable] + grpcCodes[codes.ResourceExhausted]
	refusedHTTP := httpCodes[http.StatusServiceUnavailable] + httpCodes[http.StatusTooManyRequests]
	t.Logf("RESULT overload: %s flood, %d gRPC + %d HTTP senders of %s requests; gRPC %v; HTTP %v; peak RSS %s, of it anonymous %s (memory_limiter limit_mib %d); after the flood %d batches accepted with %d retries",
		flood, grpcWorker, httpWorker, mib(float64(len(body))), grpcCodes, httpCodes, mib(p["rss"]), mib(p["anon"]), limitMiB,
		src.nextSeq.Load(), src.attempts.Load()-2*src.nextSeq.Load())
	assert.Positive(t, refusedGRPC+refusedHTTP, "the flood was never refused: it did not overload the collector")
	for c, n := range grpcCodes {
		assert.Contains(t, []codes.Code{codes.OK, codes.Unavailable, codes.ResourceExhausted}, c, "gRPC answered %s %d times", c, n)
	}
	for c, n := range httpCodes {
		assert.Contains(t, []int{http.StatusOK, http.StatusServiceUnavailable, http.StatusTooManyRequests}, c, "HTTP answered %d %d times", c, n)
	}
	// The process's own memory (anonymous RSS) stays under the limit; the
	// rest of RSS is the memory-mapped queue file, which the kernel reclaims.
	assert.Less(t, p["anon"], float64(limitMiB<<20), "peak anonymous RSS over the memory limiter's limit")
}
