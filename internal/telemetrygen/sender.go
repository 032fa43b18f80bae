package telemetrygen // import "github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Sender exports OTLP traces and logs.
type Sender interface {
	SendTraces(ctx context.Context, td ptrace.Traces) error
	SendLogs(ctx context.Context, ld plog.Logs) error
	Close() error
}

// SenderOptions configure an OTLP sender.
type SenderOptions struct {
	// Endpoint is host:port for gRPC, or a base URL (or host:port) for HTTP,
	// to which /v1/traces and /v1/logs are appended.
	Endpoint string
	// HTTP selects OTLP/HTTP with protobuf bodies instead of gRPC.
	HTTP bool
	// Insecure sends in plaintext; otherwise TLS with the system's roots.
	Insecure bool
	// Headers are sent with every export (gRPC metadata or HTTP headers).
	Headers map[string]string
}

// NewSender returns a gRPC or HTTP OTLP sender.
func NewSender(opts SenderOptions) (Sender, error) {
	if opts.Endpoint == "" {
		return nil, errors.New("OTLP endpoint is empty")
	}
	if opts.HTTP {
		base := opts.Endpoint
		if !strings.Contains(base, "://") {
			if opts.Insecure {
				base = "http://" + base
			} else {
				base = "https://" + base
			}
		}
		return &httpSender{
			base:    strings.TrimSuffix(base, "/"),
			headers: opts.Headers,
			client:  &http.Client{Timeout: 30 * time.Second},
		}, nil
	}
	target := opts.Endpoint
	if i := strings.Index(target, "://"); i >= 0 {
		target = target[i+3:]
	}
	creds := insecure.NewCredentials()
	if !opts.Insecure {
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("OTLP gRPC client for %s: %w", target, err)
	}
	return &grpcSender{
		conn:    conn,
		traces:  ptraceotlp.NewGRPCClient(conn),
		logs:    plogotlp.NewGRPCClient(conn),
		headers: opts.Headers,
	}, nil
}

// retryableError marks a refusal the sender may try again (the receiver was
// unavailable, overloaded or refused with back-pressure).
type retryableError struct{ err error }

func (e retryableError) Error() string { return e.err.Error() }
func (e retryableError) Unwrap() error { return e.err }

// IsRetryable reports whether err is a transient export failure.
func IsRetryable(err error) bool {
	var r retryableError
	return errors.As(err, &r)
}

type grpcSender struct {
	conn    *grpc.ClientConn
	traces  ptraceotlp.GRPCClient
	logs    plogotlp.GRPCClient
	headers map[string]string
}

func (s *grpcSender) ctx(ctx context.Context) context.Context {
	for k, v := range s.headers {
		ctx = metadata.AppendToOutgoingContext(ctx, k, v)
	}
	return ctx
}

func grpcError(err error) error {
	switch status.Code(err) {
	case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded, codes.Aborted, codes.Canceled:
		return retryableError{err}
	}
	return err
}

func (s *grpcSender) SendTraces(ctx context.Context, td ptrace.Traces) error {
	resp, err := s.traces.Export(s.ctx(ctx), ptraceotlp.NewExportRequestFromTraces(td))
	if err != nil {
		return grpcError(err)
	}
	if ps := resp.PartialSuccess(); ps.RejectedSpans() > 0 {
		return fmt.Errorf("%d spans rejected: %s", ps.RejectedSpans(), ps.ErrorMessage())
	}
	return nil
}

func (s *grpcSender) SendLogs(ctx context.Context, ld plog.Logs) error {
	resp, err := s.logs.Export(s.ctx(ctx), plogotlp.NewExportRequestFromLogs(ld))
	if err != nil {
		return grpcError(err)
	}
	if ps := resp.PartialSuccess(); ps.RejectedLogRecords() > 0 {
		return fmt.Errorf("%d log records rejected: %s", ps.RejectedLogRecords(), ps.ErrorMessage())
	}
	return nil
}

func (s *grpcSender) Close() error { return s.conn.Close() }

type httpSender struct {
	base    string
	headers map[string]string
	client  *http.Client
}

func (s *httpSender) post(ctx context.Context, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	for k, v := range s.headers {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return retryableError{err}
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusBadGateway,
		resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode == http.StatusGatewayTimeout:
		return retryableError{fmt.Errorf("POST %s: %s", path, resp.Status)}
	default:
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(msg))
	}
}

func (s *httpSender) SendTraces(ctx context.Context, td ptrace.Traces) error {
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return err
	}
	return s.post(ctx, "/v1/traces", body)
}

func (s *httpSender) SendLogs(ctx context.Context, ld plog.Logs) error {
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		return err
	}
	return s.post(ctx, "/v1/logs", body)
}

func (s *httpSender) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// withRetry calls send until it succeeds, fails permanently, or timeout
// passes, backing off between retryable failures.
func withRetry(ctx context.Context, timeout time.Duration, send func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	backoff := 50 * time.Millisecond
	for {
		// An attempt under way when ctx ends runs to its answer (or its own
		// timeout): cut off, it would count as not sent data the receiver
		// may already have, and its requests' roots would never follow.
		// Only the retries stop with ctx.
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := send(callCtx)
		cancel()
		if err == nil || !IsRetryable(err) {
			return err
		}
		if time.Now().Add(backoff).After(deadline) {
			return fmt.Errorf("gave up after %s: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}
