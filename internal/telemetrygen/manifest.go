package telemetrygen // import "github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"

import (
	"encoding/json"
	"os"
	"time"
)

// Manifest records what a run sent, so that a test can check that everything
// arrived and nothing extra did.
type Manifest struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Seed     uint64    `json:"seed"`
	// RequestIDPrefix starts every x_request_id of the run.
	RequestIDPrefix string `json:"request_id_prefix"`
	// Endpoint and Protocol ("grpc", "http") of the OTLP exports; empty when
	// nothing was sent over OTLP.
	Endpoint string `json:"endpoint,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	// JSONLFormat and JSONLFiles describe the JSONL files written (rotated
	// files included).
	JSONLFormat Format   `json:"jsonl_format,omitempty"`
	JSONLFiles  []string `json:"jsonl_files,omitempty"`
	// Requests lists every generated request, in order.
	Requests []RequestRecord `json:"requests"`
	Totals   Totals          `json:"totals"`
	// SendErrors counts exports that failed for good; the requests they held
	// are marked Unsent.
	SendErrors int `json:"send_errors"`
	// Errors holds the first few of those failures.
	Errors []string `json:"errors,omitempty"`
}

// RequestRecord is one request of a Manifest.
type RequestRecord struct {
	Seq        int    `json:"seq"`
	XRequestID string `json:"x_request_id,omitempty"`
	// XRequestIDKey is the root span's spelling of it, when not x_request_id.
	XRequestIDKey string `json:"x_request_id_key,omitempty"`
	// RequestID is Dynamo's own request UUID (mid and new versions).
	RequestID string   `json:"request_id,omitempty"`
	TraceID   string   `json:"trace_id"`
	Version   Version  `json:"version"`
	Topology  Topology `json:"topology,omitempty"`
	System    bool     `json:"system,omitempty"`
	Failed    bool     `json:"failed,omitempty"`
	// RootService is the service of the root http-request span.
	RootService    string         `json:"root_service"`
	Spans          int            `json:"spans"`
	SpansByService map[string]int `json:"spans_by_service"`
	SpansByName    map[string]int `json:"spans_by_name"`
	OTLPLogs       int            `json:"otlp_logs"`
	JSONLLines     int            `json:"jsonl_lines"`
	// Unsent marks a request whose OTLP export failed for good.
	Unsent bool `json:"unsent,omitempty"`
	// Unsampled marks a request whose trace was not sampled: Spans is 0,
	// none was exported.
	Unsampled bool `json:"unsampled,omitempty"`
}

// Totals sums a Manifest's requests (unsent ones excluded from the OTLP
// counts).
type Totals struct {
	Requests       int `json:"requests"`
	SystemRequests int `json:"system_requests"`
	FailedRequests int `json:"failed_requests"`
	UnsentRequests int `json:"unsent_requests"`
	// UnsampledRequests are requests whose trace was not sampled.
	UnsampledRequests int `json:"unsampled_requests,omitempty"`
	Spans             int `json:"spans"`
	OTLPLogs          int `json:"otlp_logs"`
	JSONLLines        int `json:"jsonl_lines"`
	// JSONLNoiseLines are lines written next to the requests' JSONL that
	// belong to no request (Config.NoiseEvery); not in JSONLLines.
	JSONLNoiseLines     int              `json:"jsonl_noise_lines"`
	SpansByService      map[string]int   `json:"spans_by_service"`
	SpansByName         map[string]int   `json:"spans_by_name"`
	OTLPLogsByService   map[string]int   `json:"otlp_logs_by_service"`
	JSONLLinesByService map[string]int   `json:"jsonl_lines_by_service"`
	RequestsByVersion   map[Version]int  `json:"requests_by_version"`
	RequestsByTopology  map[Topology]int `json:"requests_by_topology"`
}

func newTotals() Totals {
	return Totals{
		SpansByService:      map[string]int{},
		SpansByName:         map[string]int{},
		OTLPLogsByService:   map[string]int{},
		JSONLLinesByService: map[string]int{},
		RequestsByVersion:   map[Version]int{},
		RequestsByTopology:  map[Topology]int{},
	}
}

// recordOf summarizes r for the manifest.
func recordOf(r *Request) RequestRecord {
	rec := RequestRecord{
		Seq:            r.Seq,
		XRequestID:     r.XRequestID,
		RequestID:      r.DynamoRequestID,
		TraceID:        r.TraceID.String(),
		Version:        r.Version,
		System:         r.System,
		Failed:         r.Failed,
		RootService:    r.Root().Service,
		Spans:          len(r.Spans),
		SpansByService: map[string]int{},
		SpansByName:    map[string]int{},
		OTLPLogs:       len(r.Logs),
		JSONLLines:     len(r.JSONL),
	}
	if !r.System {
		rec.Topology = r.Topology
	}
	if r.XRequestIDKey != XRequestIDKey {
		rec.XRequestIDKey = r.XRequestIDKey
	}
	if r.Unsampled {
		// No span of it is exported.
		rec.Unsampled, rec.Spans = true, 0
		return rec
	}
	for i := range r.Spans {
		rec.SpansByService[r.Spans[i].Service]++
		rec.SpansByName[r.Spans[i].Name]++
	}
	return rec
}

// add counts rec (a summary of r) into the totals.
func (t *Totals) add(rec RequestRecord, r *Request) {
	t.Requests++
	if rec.System {
		t.SystemRequests++
	}
	if rec.Failed {
		t.FailedRequests++
	}
	if rec.Unsampled {
		t.UnsampledRequests++
	}
	t.RequestsByVersion[rec.Version]++
	if rec.Topology != "" {
		t.RequestsByTopology[rec.Topology]++
	}
	if rec.JSONLLines > 0 {
		t.JSONLLines += rec.JSONLLines
		for i := range r.JSONL {
			t.JSONLLinesByService[r.JSONL[i].Service]++
		}
	}
	if rec.Unsent {
		t.UnsentRequests++
		return
	}
	t.Spans += rec.Spans
	for k, v := range rec.SpansByService {
		t.SpansByService[k] += v
	}
	for k, v := range rec.SpansByName {
		t.SpansByName[k] += v
	}
	if rec.OTLPLogs > 0 {
		t.OTLPLogs += rec.OTLPLogs
		for i := range r.Logs {
			t.OTLPLogsByService[r.Logs[i].Service]++
		}
	}
}

// WriteFile writes the manifest as indented JSON.
func (m *Manifest) WriteFile(path string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadManifest reads a manifest written by WriteFile.
func ReadManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := &Manifest{}
	return m, json.Unmarshal(b, m)
}
