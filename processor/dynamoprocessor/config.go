package dynamoprocessor // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/normalize"
)

// Config is the dynamo processor's configuration. The default (`dynamo:` and
// nothing else) does everything; each part can be tuned or turned off.
type Config struct {
	// RequestID configures how request ids are canonicalized.
	RequestID RequestIDConfig `mapstructure:"request_id"`

	// Propagation configures how x_request_id is carried to the other spans
	// and log records of a trace.
	Propagation PropagationConfig `mapstructure:"propagation"`

	// SpanNames configures how span names are made consistent and bounded.
	SpanNames SpanNamesConfig `mapstructure:"span_names"`

	// Semantics configures the HTTP semantic-convention attributes and span
	// status derived from Dynamo's own fields.
	Semantics SemanticsConfig `mapstructure:"semantics"`

	// Components configures dynamo.component and dynamo.role on resources.
	Components ComponentsConfig `mapstructure:"components"`

	// NumericAttributes configures the conversion of numeric fields that
	// Dynamo writes as strings.
	NumericAttributes NumericAttributesConfig `mapstructure:"numeric_attributes"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// RequestIDConfig configures request-id canonicalization.
type RequestIDConfig struct {
	// Enabled turns the request-id rules on. Default true.
	Enabled bool `mapstructure:"enabled"`
	// Aliases are further attribute keys that carry the caller's request id,
	// consulted after the built-in ones (x-request-id,
	// http.request.header.x-request-id, …). Default none.
	Aliases []string `mapstructure:"aliases"`
	// RemoveAliases removes an alias key (and x_dynamo_request_id) once its
	// value is under the canonical key. Default true.
	RemoveAliases bool `mapstructure:"remove_aliases"`
}

// PropagationConfig configures propagation of x_request_id across a trace.
type PropagationConfig struct {
	// Enabled turns propagation on. Default true.
	Enabled bool `mapstructure:"enabled"`
	// Wait is how long spans and log records of a trace whose x_request_id is
	// not yet known are held. 0 holds nothing (items of a trace already known
	// are still annotated). Default 5s.
	Wait time.Duration `mapstructure:"wait"`
	// MaxHeldItems bounds the spans and log records held at once, over both
	// signals. When full, the oldest are released unchanged. Default 100000.
	MaxHeldItems int `mapstructure:"max_held_items"`
	// MaxTraces bounds the trace ids whose x_request_id (or its absence) is
	// remembered; the oldest is forgotten first. Each takes about 125 bytes
	// (with a 36-byte request id). Default 100000.
	MaxTraces int `mapstructure:"max_traces"`
	// TraceTTL is how long a trace id is remembered. Default 10m.
	TraceTTL time.Duration `mapstructure:"trace_ttl"`
	// HoldUnsampled holds log records of traces that are not sampled, like
	// any other. By default they are not held: their trace's spans are not
	// exported, so no root span comes to annotate them; they are annotated
	// only when their trace's id is already known. Default false.
	HoldUnsampled bool `mapstructure:"hold_unsampled"`
	// Storage is the ID of a storage extension (e.g. file_storage/queue) in
	// which held items are kept as well, so that they survive a crash and are
	// delivered after the restart. Default none: held items live in memory
	// only.
	Storage *component.ID `mapstructure:"storage"`
}

// SpanNameRule rewrites span names that Pattern matches.
type SpanNameRule struct {
	// Pattern is a regular expression (Go RE2 syntax) matched against the
	// span name.
	Pattern string `mapstructure:"pattern"`
	// Replacement replaces each match; $1, ${name} refer to groups.
	Replacement string `mapstructure:"replacement"`
}

// System endpoint actions.
const (
	SystemEndpointsRename = "rename"
	SystemEndpointsDrop   = "drop"
	SystemEndpointsKeep   = "keep"
)

// SpanNamesConfig configures span names.
type SpanNamesConfig struct {
	// Rules are user rules, applied in order before the built-in ones.
	// Default none.
	Rules []SpanNameRule `mapstructure:"rules"`
	// Canonicalize turns case and separator variants of Dynamo's known span
	// names into their canonical spelling. Default true.
	Canonicalize bool `mapstructure:"canonicalize"`
	// Template replaces dynamic parts of names (UUIDs, long hex or decimal ids,
	// numbers in URL path segments) with {id} and drops query strings.
	// Default true.
	Template bool `mapstructure:"template"`
	// SystemEndpoints says what happens to http-request spans of system
	// endpoints (/health, /live, /metrics, /v1/models, …): rename, drop or
	// keep. Default rename.
	SystemEndpoints string `mapstructure:"system_endpoints"`
	// SystemSpanName is the name given to those spans. Default
	// http-request.system.
	SystemSpanName string `mapstructure:"system_span_name"`
	// MaxPerService bounds the distinct span names per service.name; 0 means
	// no bound. Dynamo's known names do not count. Default 1000.
	MaxPerService int `mapstructure:"max_per_service"`
	// OverflowName replaces names beyond MaxPerService (the original goes to
	// the dynamo.original_span_name attribute). Default span_name_overflow.
	OverflowName string `mapstructure:"overflow_name"`
}

// SemanticsConfig configures semantic conventions.
type SemanticsConfig struct {
	// HTTP gives the root http-request span kind SERVER and
	// http.request.method, url.path, network.protocol.version. Default true.
	HTTP bool `mapstructure:"http"`
	// Status sets span status ERROR where Dynamo recorded a failure. Default
	// true.
	Status bool `mapstructure:"status"`
}

// ServiceMapping assigns a component and role to services whose name
// matches Pattern.
type ServiceMapping struct {
	// Pattern is a regular expression matched against service.name.
	Pattern string `mapstructure:"pattern"`
	// Component is the dynamo.component value.
	Component string `mapstructure:"component"`
	// Role is the dynamo.role value (may be empty).
	Role string `mapstructure:"role"`
}

// ComponentsConfig configures dynamo.component and dynamo.role.
type ComponentsConfig struct {
	// Enabled turns the resource attributes on. Default true.
	Enabled bool `mapstructure:"enabled"`
	// Services are user mappings, tried in order before the built-in
	// service-name patterns. Default none.
	Services []ServiceMapping `mapstructure:"services"`
}

// NumericAttributesConfig configures numeric conversion.
type NumericAttributesConfig struct {
	// Enabled turns the conversion on. Default true.
	Enabled bool `mapstructure:"enabled"`
	// Extra adds attribute keys (or changes built-in ones) with their type,
	// int or double. Default none.
	Extra map[string]string `mapstructure:"extra"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration; each error names its key.
func (cfg *Config) Validate() error {
	var errs []error
	for i, a := range cfg.RequestID.Aliases {
		if strings.TrimSpace(a) == "" {
			errs = append(errs, fmt.Errorf("request_id::aliases[%d] must not be empty", i))
		}
		if a == dynamo.XRequestID {
			errs = append(errs, fmt.Errorf("request_id::aliases[%d] must not be the canonical key %q", i, dynamo.XRequestID))
		} else if normalize.RuleKey(a) {
			errs = append(errs, fmt.Errorf("request_id::aliases[%d]: %q is read by another rule and cannot be an alias of the caller's request id", i, a))
		}
	}
	p := cfg.Propagation
	if p.Wait < 0 {
		errs = append(errs, errors.New("propagation::wait must not be negative"))
	}
	if p.MaxHeldItems <= 0 {
		errs = append(errs, errors.New("propagation::max_held_items must be greater than 0"))
	}
	if p.MaxTraces <= 0 {
		errs = append(errs, errors.New("propagation::max_traces must be greater than 0"))
	}
	if p.TraceTTL <= 0 {
		errs = append(errs, errors.New("propagation::trace_ttl must be greater than 0"))
	} else if p.TraceTTL < p.Wait {
		errs = append(errs, errors.New("propagation::trace_ttl must not be shorter than propagation::wait"))
	}
	if p.Storage != nil && !p.Enabled {
		errs = append(errs, errors.New("propagation::storage must not be set when propagation::enabled is false"))
	}
	sn := cfg.SpanNames
	for i, r := range sn.Rules {
		if r.Pattern == "" {
			errs = append(errs, fmt.Errorf("span_names::rules[%d]::pattern must not be empty", i))
		} else if _, err := regexp.Compile(r.Pattern); err != nil {
			errs = append(errs, fmt.Errorf("span_names::rules[%d]::pattern: %w", i, err))
		}
	}
	switch sn.SystemEndpoints {
	case SystemEndpointsRename, SystemEndpointsDrop, SystemEndpointsKeep:
	default:
		errs = append(errs, fmt.Errorf("span_names::system_endpoints must be one of rename, drop, keep, not %q", sn.SystemEndpoints))
	}
	if sn.SystemEndpoints == SystemEndpointsRename && sn.SystemSpanName == "" {
		errs = append(errs, errors.New("span_names::system_span_name must not be empty"))
	}
	if sn.MaxPerService < 0 {
		errs = append(errs, errors.New("span_names::max_per_service must not be negative"))
	}
	if sn.MaxPerService > 0 && sn.OverflowName == "" {
		errs = append(errs, errors.New("span_names::overflow_name must not be empty"))
	}
	for i, m := range cfg.Components.Services {
		if m.Pattern == "" {
			errs = append(errs, fmt.Errorf("components::services[%d]::pattern must not be empty", i))
		} else if _, err := regexp.Compile(m.Pattern); err != nil {
			errs = append(errs, fmt.Errorf("components::services[%d]::pattern: %w", i, err))
		}
		if m.Component == "" {
			errs = append(errs, fmt.Errorf("components::services[%d]::component must not be empty", i))
		}
	}
	for k, v := range cfg.NumericAttributes.Extra {
		if k == "" {
			errs = append(errs, errors.New("numeric_attributes::extra keys must not be empty"))
		}
		if _, ok := numberKind(v); !ok {
			errs = append(errs, fmt.Errorf("numeric_attributes::extra::%s must be int or double, not %q", k, v))
		}
	}
	return errors.Join(errs...)
}

func numberKind(s string) (dynamo.NumberKind, bool) {
	switch s {
	case "int":
		return dynamo.Int, true
	case "double":
		return dynamo.Double, true
	}
	return 0, false
}
