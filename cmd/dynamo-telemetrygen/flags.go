package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
)

// options are the command's flags, turned into a telemetrygen.Config.
type options struct {
	cfg          telemetrygen.Config
	manifestPath string
	quiet        bool
}

type headerFlag map[string]string

func (h headerFlag) String() string {
	var parts []string
	for k, v := range h {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (h headerFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	h[k] = v
	return nil
}

// parseFlags parses the command line.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("dynamo-telemetrygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `dynamo-telemetrygen sends telemetry shaped like NVIDIA Dynamo's: the spans of
aggregated and disaggregated inference requests, OTLP log records, and JSONL log
files, in the spellings of Dynamo's old, mid and new versions.

Usage: dynamo-telemetrygen [flags]

Flags:
`)
		fs.PrintDefaults()
	}
	o := &options{}
	c := &o.cfg
	headers := headerFlag{}
	var version, topology, format string
	var utcOffset time.Duration

	fs.StringVar(&c.OTLP.Endpoint, "otlp-endpoint", "", "OTLP endpoint: host:port for gRPC, a base URL or host:port for HTTP (default localhost:4317, or localhost:4318 with --otlp-http; none when only --jsonl-dir is given)")
	fs.BoolVar(&c.OTLP.HTTP, "otlp-http", false, "send OTLP/HTTP (protobuf) to <endpoint>/v1/traces and /v1/logs instead of gRPC")
	fs.BoolVar(&c.OTLP.Insecure, "otlp-insecure", false, "plaintext instead of TLS (implied by an http:// endpoint)")
	fs.Var(headers, "otlp-header", "header sent with every export, key=value (repeatable), e.g. X-Scope-OrgID=team-a")
	fs.Float64Var(&c.Rate, "rate", 0, "requests per second; 0 sends as fast as the receiver accepts")
	fs.IntVar(&c.Requests, "requests", 1, "number of requests to send (ignored when only --duration is given)")
	fs.DurationVar(&c.Duration, "duration", 0, "how long to send for, e.g. 30s (overrides the default --requests)")
	fs.StringVar(&topology, "topology", "mix", "agg (one worker), disagg (prefill and decode workers) or mix")
	fs.StringVar(&version, "version", "mix", "Dynamo version whose spellings to use: old, mid, new or mix")
	fs.Float64Var(&c.Generator.SystemShare, "system-share", 0, "share of requests to system endpoints (/health, /live, /metrics, /v1/models), 0..1")
	fs.Float64Var(&c.Generator.FailureShare, "failure-share", 0, "share of inference requests that fail, 0..1")
	fs.Float64Var(&c.Generator.AliasShare, "alias-share", 0, "share of inference requests whose root span spells x_request_id as x-request-id or http.request.header.x-request-id, 0..1")
	fs.Float64Var(&c.Generator.UnsampledShare, "unsampled-share", 0, "share of requests whose trace is not sampled (as OTEL_TRACES_SAMPLE_RATIO below 1): no spans exported, log records with the sampled flag clear, 0..1")
	fs.IntVar(&c.Generator.LogsPerRequest, "logs", 0, "OTLP log records per request (only the new version exports OTLP logs)")
	fs.BoolVar(&c.Generator.SpanEvents, "span-events", false, "add the JSONL span-event lines (SPAN_CREATED/SPAN_FIRST_ENTRY, SPAN_CLOSED)")
	fs.StringVar(&c.JSONL.Dir, "jsonl-dir", "", "write each service's JSONL lines to <dir>/<service>.log")
	fs.StringVar(&format, "jsonl-format", "raw", "JSONL file wrapping: raw, cri (containerd/CRI-O) or docker (json-file)")
	fs.Int64Var(&c.JSONL.RotateBytes, "rotate-bytes", 0, "rotate a JSONL file to <service>.log.<n> before it grows past this size; 0 never")
	fs.IntVar(&c.NoiseEvery, "noise-every", 0, "after every N-th request, add lines without trace context (Python, vLLM's coloured text, decimal fallback span ids); 0 never")
	fs.DurationVar(&utcOffset, "jsonl-utc-offset", 0, "write JSONL times with this UTC offset, e.g. 2h (DYN_LOG_USE_LOCAL_TZ); 0 writes UTC with a Z")
	fs.IntVar(&c.JSONL.CRISplit, "cri-split", telemetrygen.DefaultCRISplit, "longest CRI record; longer lines are split into partial (P) records")
	fs.StringVar(&o.manifestPath, "manifest", "", "write a JSON manifest of everything sent to this file")
	fs.Uint64Var(&c.Generator.Seed, "seed", 0, "random seed for reproducible output; 0 picks one")
	fs.StringVar(&c.Generator.RequestIDPrefix, "request-id-prefix", "", "prefix of every x_request_id (default derived from the seed)")
	fs.StringVar(&c.Generator.Model, "model", telemetrygen.DefaultModel, "served model name")
	fs.IntVar(&c.BatchRequests, "batch", 0, "requests per export; 0 = a tenth of a second's worth at --rate (200 flat out)")
	fs.DurationVar(&c.RootDelay, "root-delay", 0, "hold each batch's root spans back this long after their children")
	fs.DurationVar(&c.SendTimeout, "send-timeout", 30*time.Second, "how long to retry an export the receiver refuses or cannot take")
	fs.DurationVar(&c.ProgressInterval, "progress", 5*time.Second, "interval of the progress line on stderr")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line")

	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var err error
	if c.Generator.Versions, err = telemetrygen.ParseVersions(version); err != nil {
		return nil, fmt.Errorf("--version: %w", err)
	}
	if c.Generator.Topologies, err = telemetrygen.ParseTopologies(topology); err != nil {
		return nil, fmt.Errorf("--topology: %w", err)
	}
	if c.JSONL.Format, err = telemetrygen.ParseFormat(format); err != nil {
		return nil, fmt.Errorf("--jsonl-format: %w", err)
	}
	for name, v := range map[string]float64{
		"system-share": c.Generator.SystemShare, "failure-share": c.Generator.FailureShare, "alias-share": c.Generator.AliasShare, "unsampled-share": c.Generator.UnsampledShare,
	} {
		if v < 0 || v > 1 {
			return nil, fmt.Errorf("--%s must be between 0 and 1", name)
		}
	}
	if c.Rate < 0 {
		return nil, errors.New("--rate must not be negative")
	}
	if c.Requests < 0 || c.Generator.LogsPerRequest < 0 || c.JSONL.RotateBytes < 0 {
		return nil, errors.New("--requests, --logs and --rotate-bytes must not be negative")
	}
	if utcOffset != 0 {
		c.Generator.JSONLZone = time.FixedZone("", int(utcOffset.Seconds()))
	}
	if c.Duration > 0 && !set["requests"] {
		c.Requests = 0
	}
	if c.OTLP.Endpoint == "" && c.JSONL.Dir == "" {
		c.OTLP.Endpoint = "localhost:4317"
		if c.OTLP.HTTP {
			c.OTLP.Endpoint = "localhost:4318"
		}
	}
	if strings.HasPrefix(c.OTLP.Endpoint, "http://") {
		c.OTLP.Insecure = true
	}
	if len(headers) > 0 {
		c.OTLP.Headers = headers
	}
	return o, nil
}
