package jsonlreceiver // import "github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver"

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/adapter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/ackstore"
	"github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/metadata"
)

// fingerprintSize is fileconsumer's default fingerprint size, which the
// receiver uses and must know to identify files in its own checkpoint.
const fingerprintSize = 1000

type jsonlReceiver struct {
	cfg       *Config
	set       receiver.Settings
	next      consumer.Logs
	telemetry *metadata.TelemetryBuilder
	obsrecv   *receiverhelper.ObsReport

	tail *tailer

	manager *fileconsumer.Manager
	client  storage.Client
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newJSONLReceiver(set receiver.Settings, cfg *Config, next consumer.Logs) (*jsonlReceiver, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("create telemetry: %w", err)
	}
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "file",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	r := &jsonlReceiver{cfg: cfg, set: set, next: next, telemetry: tb, obsrecv: obsrecv}
	return r, nil
}

// fileConsumerConfig configures fileconsumer so that it hands over lines
// byte for byte: no decoding (invalid UTF-8 is repaired and counted by the
// parser), no trimming (CRI partial lines are joined as they are), split on
// '\n' only, and a line longer than max_line_size cut to max_line_size+1
// bytes with the rest of it skipped, so the receiver can tell it was too long
// and mark it, instead of receiving it as several records.
func (r *jsonlReceiver) fileConsumerConfig() *fileconsumer.Config {
	fc := fileconsumer.NewConfig()
	fc.Include = r.cfg.Include
	fc.Exclude = r.cfg.Exclude
	fc.StartAt = r.cfg.StartAt
	fc.PollInterval = r.cfg.PollInterval
	fc.Encoding = "nop"
	fc.MaxLogSize = r.cfg.MaxLineSize + 1
	// The scanner's buffer must not start larger than its maximum, or the
	// maximum becomes the buffer's size and the cut misplaces the remainder.
	fc.InitialBufferSize = min(fc.InitialBufferSize, fc.MaxLogSize)
	fc.MaxLogSizeBehavior = fileconsumer.MaxLogSizeBehaviorTruncate
	fc.FingerprintSize = fingerprintSize
	fc.IncludeFileName = false
	fc.IncludeFilePath = true
	return fc
}

func (r *jsonlReceiver) Start(ctx context.Context, host component.Host) error {
	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel

	var persister operator.Persister
	var acks *ackstore.Store
	if r.cfg.Storage != nil {
		client, err := adapter.GetStorageClient(ctx, host, r.cfg.Storage, r.set.ID)
		if err != nil {
			return fmt.Errorf("storage: %w", err)
		}
		r.client = client
		acks, err = ackstore.Load(ctx, client)
		switch {
		case errors.Is(err, ackstore.ErrCorrupt):
			r.telemetry.ReceiverJsonlCheckpointErrors.Add(ctx, 1)
			r.set.Logger.Warn("Checkpoint", zap.Error(err))
		case err != nil:
			r.telemetry.ReceiverJsonlCheckpointErrors.Add(ctx, 1)
			return fmt.Errorf("storage: %w", err)
		}
		persister = acks.Persister(func(err error) {
			r.telemetry.ReceiverJsonlCheckpointErrors.Add(context.Background(), 1)
			r.set.Logger.Warn("Checkpoint", zap.Error(err))
		})
	}

	r.tail = newTailer(runCtx, r.cfg, r.set, r.next, r.telemetry, r.obsrecv, acks)
	mgr, err := r.fileConsumerConfig().Build(r.set.TelemetrySettings, r.tail.emit, fileconsumer.WithSplitFunc(splitLines))
	if err != nil {
		return fmt.Errorf("build file consumer: %w", err)
	}
	if err := mgr.Start(persister); err != nil {
		return fmt.Errorf("start file consumer: %w", err)
	}
	r.manager = mgr
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.tail.flushLoop()
	}()
	return nil
}

// Shutdown stops reading. A batch waiting for the next consumer is given up
// (its lines were not acknowledged, so they are read again after a restart).
func (r *jsonlReceiver) Shutdown(context.Context) error {
	if r.cancel != nil {
		r.cancel()
	}
	var errs []error
	if r.manager != nil {
		errs = append(errs, r.manager.Stop())
		r.manager = nil
	}
	r.wg.Wait()
	if r.client != nil {
		errs = append(errs, r.client.Close(context.Background()))
		r.client = nil
	}
	r.telemetry.Shutdown()
	return errors.Join(errs...)
}
