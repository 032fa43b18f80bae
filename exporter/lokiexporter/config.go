package lokiexporter

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-dynamo/otelcol-dynamo/exporter/lokiexporter/internal/lokipush"
)

// Encoding is the body encoding of push requests.
type Encoding string

const (
	// EncodingProtobuf sends protobuf compressed with snappy's block format
	// (Content-Type application/x-protobuf), what Loki's own clients send.
	EncodingProtobuf Encoding = "protobuf"
	// EncodingJSON sends Loki's JSON push form (Content-Type application/json).
	EncodingJSON Encoding = "json"
)

// tenantHeader is the header Loki reads the tenant from.
const tenantHeader = "X-Scope-OrgID"

// Config defines the configuration of the loki exporter.
type Config struct {
	// ClientConfig is the HTTP client: endpoint (the full push URL, e.g.
	// http://loki:3100/loki/api/v1/push), tls, headers, auth, proxy_url and
	// the connection settings. compression stays empty with the protobuf
	// encoding, whose payload is already snappy-compressed. timeout is the
	// deadline of one push attempt, enforced by the exporter helper.
	ClientConfig confighttp.ClientConfig `mapstructure:",squash"`
	// QueueConfig is the exporter helper's sending queue; set its storage to a
	// file_storage extension to persist it across restarts.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// RetryConfig is the exporter helper's retry with back-off, used for
	// network errors, 429 and 5xx answers.
	RetryConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// Encoding is protobuf (default) or json.
	Encoding Encoding `mapstructure:"encoding"`
	// Tenant sets the X-Scope-OrgID header of each push request.
	Tenant TenantConfig `mapstructure:"tenant"`
	// Labels are the stream labels.
	Labels LabelsConfig `mapstructure:"labels"`
	// StructuredMetadata is the per-entry metadata.
	StructuredMetadata StructuredMetadataConfig `mapstructure:"structured_metadata"`
	// Line is the format of the log line.
	Line LineConfig `mapstructure:"line"`
}

// TenantConfig says which tenant (X-Scope-OrgID) a record belongs to.
type TenantConfig struct {
	// ID is a static tenant. With FromResourceAttribute it is the tenant of
	// records whose resource lacks that attribute. Empty sends no header.
	ID string `mapstructure:"id"`
	// FromResourceAttribute names a resource attribute whose value is the
	// tenant of the resource's records; records are grouped per tenant and
	// each tenant gets its own push request.
	FromResourceAttribute string `mapstructure:"from_resource_attribute"`
}

// LabelsConfig lists what becomes a stream label. Every distinct set of label
// values is a stream in Loki, so labels must have few distinct values.
type LabelsConfig struct {
	// ResourceAttributes become labels from the record's resource.
	ResourceAttributes []AttributeMapping `mapstructure:"resource_attributes"`
	// RecordAttributes become labels from the log record's own attributes.
	RecordAttributes []AttributeMapping `mapstructure:"record_attributes"`
	// Severity is the name of the label carrying the record's severity,
	// normalised to trace, debug, info, warn, error, fatal, critical or
	// unknown. Empty leaves the severity out of the labels.
	Severity string `mapstructure:"severity"`
}

// StructuredMetadataConfig lists what is sent as structured metadata: per-entry
// key/value pairs Loki indexes without creating streams, for filters such as
// `{service_name="dynamo-frontend"} | x_request_id="test-trace-001"`.
type StructuredMetadataConfig struct {
	// Attributes are looked up on the record, then on its resource;
	// trace_id and span_id are taken from the record's trace context first.
	Attributes []AttributeMapping `mapstructure:"attributes"`
}

// LineConfig is the format of the log line.
type LineConfig struct {
	// Format is text (the body as text; default), json or logfmt.
	Format lokipush.LineFormat `mapstructure:"format"`
	// Attributes are written next to the body by the json and logfmt
	// formats, looked up like structured metadata. Absent ones are left out.
	Attributes []AttributeMapping `mapstructure:"attributes"`
}

// AttributeMapping names an attribute and what it is written out as. In YAML
// it is either a map (`{attribute: service.name, name: service_name}`) or just
// the attribute key (`service.name`).
type AttributeMapping struct {
	// Attribute is the attribute key.
	Attribute string `mapstructure:"attribute"`
	// Name is the label, metadata or field name written out. Empty means the
	// attribute key, turned into a valid Loki label name for labels and
	// structured metadata (dots and dashes become underscores).
	Name string `mapstructure:"name"`
}

// UnmarshalText lets a list element be just the attribute key.
func (m *AttributeMapping) UnmarshalText(text []byte) error {
	m.Attribute = string(text)
	m.Name = ""
	return nil
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration; every error names the YAML key at fault.
func (cfg *Config) Validate() error {
	var errs []error
	errs = append(errs, cfg.validateEndpoint())

	switch cfg.Encoding {
	case EncodingProtobuf:
		if cfg.ClientConfig.Compression.IsCompressed() {
			errs = append(errs, fmt.Errorf("compression must be empty with encoding %q: the payload is already compressed with snappy (got %q)", cfg.Encoding, cfg.ClientConfig.Compression))
		}
	case EncodingJSON:
	default:
		errs = append(errs, fmt.Errorf("encoding must be %q or %q, got %q", EncodingProtobuf, EncodingJSON, cfg.Encoding))
	}

	if header, ok := cfg.staticTenantHeader(); ok {
		if cfg.Tenant.FromResourceAttribute != "" || cfg.Tenant.ID != "" {
			errs = append(errs, fmt.Errorf("headers::%s (%q) and tenant::id / tenant::from_resource_attribute both set the tenant; use tenant only", tenantHeader, header))
		}
	}
	if cfg.Tenant.FromResourceAttribute != "" && strings.TrimSpace(cfg.Tenant.FromResourceAttribute) == "" {
		errs = append(errs, errors.New("tenant::from_resource_attribute must not be blank"))
	}

	_, err := cfg.encoderOptions()
	errs = append(errs, err)

	switch cfg.Line.Format {
	case lokipush.LineText:
		if len(cfg.Line.Attributes) > 0 {
			errs = append(errs, errors.New("line::attributes is only used with line::format json or logfmt"))
		}
	case lokipush.LineJSON, lokipush.LineLogfmt:
	default:
		errs = append(errs, fmt.Errorf("line::format must be text, json or logfmt, got %q", cfg.Line.Format))
	}
	return errors.Join(errs...)
}

func (cfg *Config) validateEndpoint() error {
	if cfg.ClientConfig.Endpoint == "" {
		return errors.New("endpoint must be set to Loki's push URL, e.g. http://loki:3100/loki/api/v1/push")
	}
	u, err := url.Parse(cfg.ClientConfig.Endpoint)
	if err != nil {
		return fmt.Errorf("endpoint %q is not a valid URL: %w", cfg.ClientConfig.Endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("endpoint %q must start with http:// or https://", cfg.ClientConfig.Endpoint)
	}
	if u.Host == "" {
		return fmt.Errorf("endpoint %q has no host", cfg.ClientConfig.Endpoint)
	}
	return nil
}

// staticTenantHeader returns a non-empty X-Scope-OrgID set through headers.
func (cfg *Config) staticTenantHeader() (string, bool) {
	for name, value := range cfg.ClientConfig.Headers.Iter {
		if strings.EqualFold(name, tenantHeader) && value != "" {
			return string(value), true
		}
	}
	return "", false
}

// encoderOptions turns the label, metadata, line and tenant settings into the
// encoder's options, checking every rule on the way.
func (cfg *Config) encoderOptions() (lokipush.Options, error) {
	var errs []error
	opts := lokipush.Options{
		LineFormat:      cfg.Line.Format,
		Tenant:          cfg.Tenant.ID,
		TenantAttribute: cfg.Tenant.FromResourceAttribute,
	}

	producedBy := map[string]string{}
	addLabel := func(key string, l lokipush.Label) {
		if prev, dup := producedBy[l.Name]; dup {
			errs = append(errs, fmt.Errorf("%s: label %q is already produced by %s; give one of them another name", key, l.Name, prev))
			return
		}
		producedBy[l.Name] = key
		opts.Labels = append(opts.Labels, l)
	}
	for _, list := range []struct {
		key     string
		source  lokipush.Source
		entries []AttributeMapping
	}{
		{"labels::resource_attributes", lokipush.FromResource, cfg.Labels.ResourceAttributes},
		{"labels::record_attributes", lokipush.FromRecord, cfg.Labels.RecordAttributes},
	} {
		for i, m := range list.entries {
			key := fmt.Sprintf("%s[%d]", list.key, i)
			name, err := labelName(key, m)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if lokipush.IsHighCardinality(m.Attribute) || lokipush.IsHighCardinality(name) {
				errs = append(errs, fmt.Errorf("%s: %q has a new value for every request or span; as a label it would create one Loki stream per request. Send it as structured metadata (structured_metadata::attributes) instead", key, m.Attribute))
				continue
			}
			addLabel(key, lokipush.Label{Name: name, Source: list.source, Attribute: m.Attribute})
		}
	}
	if cfg.Labels.Severity != "" {
		if err := checkLabelName("labels::severity", cfg.Labels.Severity); err != nil {
			errs = append(errs, err)
		} else {
			addLabel("labels::severity", lokipush.Label{Name: cfg.Labels.Severity, Source: lokipush.FromSeverity})
		}
	}

	seen := map[string]bool{}
	for i, m := range cfg.StructuredMetadata.Attributes {
		key := fmt.Sprintf("structured_metadata::attributes[%d]", i)
		name, err := labelName(key, m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[name] {
			errs = append(errs, fmt.Errorf("%s: name %q is listed twice", key, name))
			continue
		}
		seen[name] = true
		opts.StructuredMetadata = append(opts.StructuredMetadata, lokipush.Field{Attribute: m.Attribute, Name: name})
	}

	seen = map[string]bool{"body": true}
	for i, m := range cfg.Line.Attributes {
		key := fmt.Sprintf("line::attributes[%d]", i)
		if m.Attribute == "" {
			errs = append(errs, fmt.Errorf("%s::attribute must not be empty", key))
			continue
		}
		name := m.Name
		if name == "" {
			name = m.Attribute
		}
		if cfg.Line.Format == lokipush.LineLogfmt && strings.ContainsAny(name, " =\"\t\n") {
			errs = append(errs, fmt.Errorf("%s: %q cannot be a logfmt key (no spaces, '=' or quotes); set %s::name", key, name, key))
			continue
		}
		if seen[name] {
			errs = append(errs, fmt.Errorf("%s: name %q is already used in the line", key, name))
			continue
		}
		seen[name] = true
		opts.LineAttributes = append(opts.LineAttributes, lokipush.Field{Attribute: m.Attribute, Name: name})
	}
	return opts, errors.Join(errs...)
}

// labelName is the Loki name of a label or structured metadata entry.
func labelName(key string, m AttributeMapping) (string, error) {
	if m.Attribute == "" {
		return "", fmt.Errorf("%s::attribute must not be empty", key)
	}
	if m.Name == "" {
		name := lokipush.SanitizeLabelName(m.Attribute)
		if strings.HasPrefix(name, "__") {
			return "", fmt.Errorf("%s: %q would become the reserved label name %q; set %s::name", key, m.Attribute, name, key)
		}
		return name, nil
	}
	return m.Name, checkLabelName(key+"::name", m.Name)
}

func checkLabelName(key, name string) error {
	if lokipush.SanitizeLabelName(name) != name {
		return fmt.Errorf("%s %q is not a valid Loki label name ([a-zA-Z_][a-zA-Z0-9_]*)", key, name)
	}
	if strings.HasPrefix(name, "__") {
		return fmt.Errorf("%s %q starts with __, which Loki reserves", key, name)
	}
	return nil
}
