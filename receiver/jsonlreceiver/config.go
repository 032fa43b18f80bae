package jsonlreceiver // import "github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver"

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator/helper"
	"go.opentelemetry.io/collector/component"
)

// Values of start_at.
const (
	StartAtBeginning = "beginning"
	StartAtEnd       = "end"
)

// Values of format.
const (
	FormatAuto   = "auto"
	FormatRaw    = "raw"
	FormatCRI    = "cri"
	FormatDocker = "docker"
)

// maxMaxLineSize bounds max_line_size: one line is held in memory whole.
const maxMaxLineSize = 64 << 20

// Config defines the configuration of the jsonl receiver.
type Config struct {
	// Include lists the glob patterns of the files to read (doublestar syntax,
	// `**` matches across directories). Required.
	Include []string `mapstructure:"include"`

	// Exclude lists glob patterns of files not to read, even when Include
	// matches them.
	Exclude []string `mapstructure:"exclude"`

	// StartAt is where a file seen for the first time is read from when no
	// read position was persisted: `beginning` or `end`. Files that appear
	// after the first poll are always read from their beginning.
	StartAt string `mapstructure:"start_at"`

	// PollInterval is how often the include patterns are matched and the files
	// read to their end.
	PollInterval time.Duration `mapstructure:"poll_interval"`

	// Format is how lines are wrapped: `raw` (Dynamo's stderr redirected to a
	// file), `cri` (containerd / CRI-O: `<time> <stream> <P|F> <line>`),
	// `docker` (Docker json-file: `{"log":"…","stream":"…","time":"…"}`), or
	// `auto`, which detects it per file from its first line.
	Format string `mapstructure:"format"`

	// MaxLineSize is the largest line kept, in bytes (e.g. `1MiB`). A longer
	// line is truncated to this size and marked; the rest of it is discarded,
	// never turned into another record.
	MaxLineSize helper.ByteSize `mapstructure:"max_line_size"`

	// Storage is the ID of a storage extension (e.g. `file_storage`). With it,
	// read positions survive restarts, including kill -9.
	Storage *component.ID `mapstructure:"storage"`

	// ServiceName is the `service.name` resource attribute of every record.
	ServiceName string `mapstructure:"service_name"`

	// Resource holds static resource attributes added to every record's
	// resource. They do not override `service.name` or the k8s.* attributes
	// taken from pod-log paths.
	Resource map[string]string `mapstructure:"resource"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration; each error names the YAML key at fault.
func (cfg *Config) Validate() error {
	var errs []error
	if len(cfg.Include) == 0 {
		errs = append(errs, errors.New("include: at least one glob pattern is required"))
	}
	for _, p := range cfg.Include {
		if !doublestar.ValidatePattern(p) {
			errs = append(errs, fmt.Errorf("include: %q is not a valid glob pattern", p))
		}
	}
	for _, p := range cfg.Exclude {
		if !doublestar.ValidatePattern(p) {
			errs = append(errs, fmt.Errorf("exclude: %q is not a valid glob pattern", p))
		}
	}
	switch cfg.StartAt {
	case StartAtBeginning, StartAtEnd:
	default:
		errs = append(errs, fmt.Errorf("start_at: must be %q or %q, got %q", StartAtBeginning, StartAtEnd, cfg.StartAt))
	}
	if cfg.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("poll_interval: must be positive, got %s", cfg.PollInterval))
	}
	switch cfg.Format {
	case FormatAuto, FormatRaw, FormatCRI, FormatDocker:
	default:
		errs = append(errs, fmt.Errorf("format: must be one of %q, %q, %q, %q, got %q",
			FormatAuto, FormatRaw, FormatCRI, FormatDocker, cfg.Format))
	}
	if cfg.MaxLineSize <= 0 {
		errs = append(errs, fmt.Errorf("max_line_size: must be positive, got %d", int64(cfg.MaxLineSize)))
	} else if cfg.MaxLineSize > maxMaxLineSize {
		errs = append(errs, fmt.Errorf("max_line_size: must be at most %d bytes (64MiB), got %d", maxMaxLineSize, int64(cfg.MaxLineSize)))
	}
	if strings.TrimSpace(cfg.ServiceName) == "" {
		errs = append(errs, errors.New("service_name: must not be empty"))
	}
	for k := range cfg.Resource {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, errors.New("resource: attribute names must not be empty"))
		}
	}
	return errors.Join(errs...)
}
