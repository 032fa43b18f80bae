package dynamoprocessor // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"

import (
	"context"
	"regexp"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/metadata"
	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/normalize"
	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/propagate"
)

// shared is what every instance of one dynamo processor (one component ID,
// in any number of traces and logs pipelines) has in common: the rules, the
// trace id → x_request_id knowledge with the held items, and the
// self-telemetry.
type shared struct {
	id    component.ID
	cfg   *Config
	norm  *normalize.Normalizer
	store *propagate.Store // nil when propagation is off
	// flagSources is nil when records of unsampled traces are held too
	// (propagation off, or propagation.hold_unsampled).
	flagSources *flagSources
	tel         *metadata.TelemetryBuilder

	// Attribute options of the self-telemetry, each a slice built once:
	// passing a single option to Add builds a slice of it on the heap at
	// every call.
	systemRenamed, systemDropped         []metric.AddOption
	notANumber, outOfRange, unexpectedTy []metric.AddOption
	opWrite, opDelete, opRead            []metric.AddOption

	// persist is the propagation.storage client, opened by the first Start
	// (nil without storage).
	persist *persister

	mu       sync.Mutex
	started  int
	restored map[string]bool // signals whose stored chunks were read back
}

// registry holds the shared state per component ID, like the collector's
// shared-component pattern: created with the first instance, its goroutine
// started by the first Start and stopped (and forgotten) by the last
// Shutdown.
type registry struct {
	mu sync.Mutex
	m  map[component.ID]*shared
}

var processors = &registry{m: map[component.ID]*shared{}}

func (r *registry) getOrCreate(set processor.Settings, cfg *Config) (*shared, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Every pipeline of one collector gets the same *Config for one component
	// ID; a different one is a new collector (a reload, or a test): it gets
	// its own state.
	if s, ok := r.m[set.ID]; ok && s.cfg == cfg {
		return s, nil
	}
	s, err := newShared(set, cfg)
	if err != nil {
		return nil, err
	}
	r.m[set.ID] = s
	return s, nil
}

// start counts one more running instance; the first one opens the storage
// client (when configured) and starts the releasing goroutine.
func (r *registry) start(ctx context.Context, s *shared, host component.Host) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started == 0 && s.store != nil {
		if id := s.cfg.Propagation.Storage; id != nil {
			p, err := storageClient(ctx, host, *id, s.id)
			if err != nil {
				return err
			}
			s.persist = p
		}
		s.store.Start()
	}
	s.started++
	return nil
}

// shutdown counts one less running instance; the last one stops the shared
// state (and closes the storage client) and forgets it.
func (r *registry) shutdown(ctx context.Context, s *shared) error {
	s.mu.Lock()
	s.started--
	last := s.started == 0
	s.mu.Unlock()
	if !last {
		return nil
	}
	var err error
	if s.store != nil {
		s.store.Stop()
	}
	if s.persist != nil {
		err = s.persist.client.Close(ctx)
	}
	s.tel.Shutdown()
	r.mu.Lock()
	if r.m[s.id] == s {
		delete(r.m, s.id)
	}
	r.mu.Unlock()
	return err
}

func newShared(set processor.Settings, cfg *Config) (*shared, error) {
	tel, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	s := &shared{
		id:            set.ID,
		cfg:           cfg,
		norm:          normalize.New(normalizeSettings(cfg)),
		tel:           tel,
		systemRenamed: attrOpt("action", "renamed"),
		systemDropped: attrOpt("action", "dropped"),
		notANumber:    attrOpt("reason", "not_a_number"),
		outOfRange:    attrOpt("reason", "out_of_range"),
		unexpectedTy:  attrOpt("reason", "unexpected_type"),
		opWrite:       attrOpt("operation", opWrite),
		opDelete:      attrOpt("operation", opDelete),
		opRead:        attrOpt("operation", opRead),
		restored:      map[string]bool{},
	}
	if cfg.Propagation.Enabled {
		s.store = propagate.New(propagate.Config{
			Wait:         cfg.Propagation.Wait,
			MaxHeldItems: cfg.Propagation.MaxHeldItems,
			MaxTraces:    cfg.Propagation.MaxTraces,
			TraceTTL:     cfg.Propagation.TraceTTL,
		})
		if !cfg.Propagation.HoldUnsampled {
			s.flagSources = newFlagSources()
		}
	}
	return s, nil
}

func attrOpt(k, v string) []metric.AddOption {
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String(k, v)))}
}

// normalizeSettings turns a validated Config into the rules' settings.
func normalizeSettings(cfg *Config) normalize.Settings {
	s := normalize.Settings{
		RequestIDs:             cfg.RequestID.Enabled,
		ExtraXRequestIDAliases: cfg.RequestID.Aliases,
		RemoveAliases:          cfg.RequestID.RemoveAliases,
		Canonicalize:           cfg.SpanNames.Canonicalize,
		Template:               cfg.SpanNames.Template,
		SystemSpanName:         cfg.SpanNames.SystemSpanName,
		MaxNamesPerSvc:         cfg.SpanNames.MaxPerService,
		OverflowSpanName:       cfg.SpanNames.OverflowName,
		HTTPSemantics:          cfg.Semantics.HTTP,
		Status:                 cfg.Semantics.Status,
		Components:             cfg.Components.Enabled,
		Numeric:                cfg.NumericAttributes.Enabled,
	}
	switch cfg.SpanNames.SystemEndpoints {
	case SystemEndpointsDrop:
		s.System = normalize.SystemDrop
	case SystemEndpointsKeep:
		s.System = normalize.SystemKeep
	default:
		s.System = normalize.SystemRename
	}
	for _, r := range cfg.SpanNames.Rules {
		s.Rules = append(s.Rules, normalize.Rule{Pattern: regexp.MustCompile(r.Pattern), Replacement: r.Replacement})
	}
	for _, m := range cfg.Components.Services {
		s.ServiceMappings = append(s.ServiceMappings, normalize.ServiceMapping{
			Pattern:  regexp.MustCompile(m.Pattern),
			Identity: dynamo.Identity{Component: m.Component, Role: m.Role},
		})
	}
	if len(cfg.NumericAttributes.Extra) > 0 {
		s.ExtraNumericFields = map[string]dynamo.NumberKind{}
		for k, v := range cfg.NumericAttributes.Extra {
			kind, _ := numberKind(v)
			s.ExtraNumericFields[k] = kind
		}
	}
	return s
}

// record adds one batch's rule statistics to the self-telemetry.
func (s *shared) record(ctx context.Context, st *normalize.Stats, signal []metric.AddOption) {
	if st.Changed > 0 {
		s.tel.ProcessorDynamoItemsChanged.Add(ctx, st.Changed, signal...)
	}
	if st.Templated > 0 {
		s.tel.ProcessorDynamoSpanNamesTemplated.Add(ctx, st.Templated)
	}
	if st.Overflow > 0 {
		s.tel.ProcessorDynamoSpanNameOverflow.Add(ctx, st.Overflow)
	}
	if st.SystemRenamed > 0 {
		s.tel.ProcessorDynamoSystemSpans.Add(ctx, st.SystemRenamed, s.systemRenamed...)
	}
	if st.SystemDropped > 0 {
		s.tel.ProcessorDynamoSystemSpans.Add(ctx, st.SystemDropped, s.systemDropped...)
	}
	if st.NotANumber > 0 {
		s.tel.ProcessorDynamoAttributesUnconverted.Add(ctx, st.NotANumber, s.notANumber...)
	}
	if st.OutOfRange > 0 {
		s.tel.ProcessorDynamoAttributesUnconverted.Add(ctx, st.OutOfRange, s.outOfRange...)
	}
	if st.UnexpectedType > 0 {
		s.tel.ProcessorDynamoAttributesUnconverted.Add(ctx, st.UnexpectedType, s.unexpectedTy...)
	}
}
