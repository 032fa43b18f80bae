package lokiexporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-dynamo/otelcol-dynamo/exporter/lokiexporter/internal/lokipush"
	"github.com/otelcol-dynamo/otelcol-dynamo/exporter/lokiexporter/internal/metadata"
)

const (
	// maxErrorBody is how much of Loki's answer is read into an error.
	maxErrorBody = 1024
	// maxDrain is how much of an answer is read to keep the connection.
	maxDrain = 64 * 1024
)

var (
	reasonRejected      = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", metadata.ReasonRejected)))
	reasonMissingTenant = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", metadata.ReasonMissingTenant)))
	reasonEncoding      = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", metadata.ReasonEncoding)))
)

type lokiExporter struct {
	cfg       *Config
	settings  exporter.Settings
	logger    *zap.Logger
	encoder   *lokipush.Encoder
	telemetry *metadata.TelemetryBuilder
	userAgent string
	client    *http.Client
}

func newLokiExporter(cfg *Config, set exporter.Settings) (*lokiExporter, error) {
	opts, err := cfg.encoderOptions()
	if err != nil {
		return nil, err
	}
	enc, err := lokipush.NewEncoder(opts)
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &lokiExporter{
		cfg:       cfg,
		settings:  set,
		logger:    set.Logger,
		encoder:   enc,
		telemetry: tb,
		userAgent: fmt.Sprintf("%s/%s (%s/%s)", set.BuildInfo.Command, set.BuildInfo.Version, runtime.GOOS, runtime.GOARCH),
	}, nil
}

func (e *lokiExporter) start(ctx context.Context, host component.Host) error {
	clientCfg := e.cfg.ClientConfig
	// The exporter helper enforces `timeout` per attempt through the context.
	clientCfg.Timeout = 0
	client, err := clientCfg.ToClient(ctx, host.GetExtensions(), e.settings.TelemetrySettings)
	if err != nil {
		return err
	}
	e.client = client
	return nil
}

func (e *lokiExporter) shutdown(context.Context) error {
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	e.telemetry.Shutdown()
	return nil
}

// pushLogs sends ld as one push request per tenant. When some tenants'
// requests fail with a retryable error, only their resources are handed back
// to the exporter helper for retry, so the tenants that succeeded are not sent
// twice.
func (e *lokiExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	res := e.encoder.Group(ld, time.Now())
	if res.Unlabelled > 0 {
		e.telemetry.ExporterLokiRecordsUnlabelled.Add(ctx, int64(res.Unlabelled))
	}

	var permanent, retryable []error
	var retryResources []int
	if res.MissingTenant > 0 {
		e.telemetry.ExporterLokiRecordsFailed.Add(ctx, int64(res.MissingTenant), reasonMissingTenant)
		permanent = append(permanent, fmt.Errorf(
			"%d log records have no tenant: their resource lacks the attribute %q (tenant::from_resource_attribute) and tenant::id is empty",
			res.MissingTenant, e.cfg.Tenant.FromResourceAttribute))
	}
	for _, b := range res.Batches {
		err := e.send(ctx, b)
		switch {
		case err == nil:
			e.telemetry.ExporterLokiStreamsSent.Add(ctx, int64(len(b.Streams)))
			e.telemetry.ExporterLokiEntriesSent.Add(ctx, int64(b.Entries))
		case consumererror.IsPermanent(err):
			permanent = append(permanent, err)
		default:
			retryable = append(retryable, err)
			retryResources = append(retryResources, b.Resources...)
		}
	}

	if len(retryable) > 0 {
		err := errors.Join(retryable...)
		if len(permanent) == 0 && len(retryable) == len(res.Batches) {
			return err
		}
		if len(permanent) > 0 {
			e.logger.Error("Loki refused part of the logs permanently; the rest will be retried",
				zap.Error(errors.Join(permanent...)))
		}
		slices.Sort(retryResources)
		return consumererror.NewLogs(err, lokipush.Subset(ld, retryResources))
	}
	if len(permanent) > 0 {
		return consumererror.NewPermanent(errors.Join(permanent...))
	}
	return nil
}

// send pushes one tenant's streams. Network errors, 429 and 5xx answers are
// retryable (with Loki's Retry-After honoured); any other answer is permanent.
func (e *lokiExporter) send(ctx context.Context, b *lokipush.Batch) error {
	var body []byte
	var contentType string
	switch e.cfg.Encoding {
	case EncodingJSON:
		body = lokipush.AppendJSON(nil, b.Streams)
		contentType = lokipush.ContentTypeJSON
	default:
		var err error
		body, err = lokipush.EncodeProtobuf(nil, b.Streams)
		if err != nil {
			e.telemetry.ExporterLokiRecordsFailed.Add(ctx, int64(b.Entries), reasonEncoding)
			return consumererror.NewPermanent(err)
		}
		contentType = lokipush.ContentTypeProtobuf
	}

	endpoint := e.cfg.ClientConfig.Endpoint
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		e.telemetry.ExporterLokiRecordsFailed.Add(ctx, int64(b.Entries), reasonEncoding)
		return consumererror.NewPermanent(fmt.Errorf("build push request to %s: %w", endpoint, err))
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", e.userAgent)
	if b.Tenant != "" {
		req.Header.Set(tenantHeader, b.Tenant)
	}

	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("push to Loki at %s: %w", endpoint, err)
	}
	defer func() {
		_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
		_ = resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}

	tenant := ""
	if b.Tenant != "" {
		tenant = fmt.Sprintf(" (tenant %q)", b.Tenant)
	}
	answer := fmt.Errorf("push of %d entries in %d streams to Loki at %s%s answered %s: %s",
		b.Entries, len(b.Streams), endpoint, tenant, resp.Status, readMessage(resp.Body))

	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		if delay, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return exporterhelper.NewThrottleRetry(answer, delay)
		}
		return answer
	}
	e.telemetry.ExporterLokiRequestsRejected.Add(ctx, 1)
	e.telemetry.ExporterLokiRecordsFailed.Add(ctx, int64(b.Entries), reasonRejected)
	return consumererror.NewPermanent(answer)
}

// readMessage reads Loki's (plain text) error message, shortened to
// maxErrorBody bytes.
func readMessage(r io.Reader) string {
	buf, _ := io.ReadAll(io.LimitReader(r, maxErrorBody+1))
	truncated := len(buf) > maxErrorBody
	if truncated {
		buf = buf[:maxErrorBody]
		for len(buf) > 0 && !utf8.Valid(buf) {
			buf = buf[:len(buf)-1]
		}
	}
	msg := strings.TrimSpace(string(buf))
	if msg == "" {
		return "(empty body)"
	}
	if truncated {
		msg += " …"
	}
	return msg
}

// retryAfter parses a Retry-After header: a number of seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
