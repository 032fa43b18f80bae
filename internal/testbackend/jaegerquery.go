package testbackend

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// JaegerTrace is one trace as Jaeger's query API (/api/traces) returns it.
type JaegerTrace struct {
	TraceID   string                   `json:"traceID"`
	Spans     []JaegerSpan             `json:"spans"`
	Processes map[string]JaegerProcess `json:"processes"`
}

// JaegerSpan is one span of a JaegerTrace. Span attributes are tags; the
// span kind is the tag span.kind and an error status the tag error.
type JaegerSpan struct {
	TraceID       string         `json:"traceID"`
	SpanID        string         `json:"spanID"`
	OperationName string         `json:"operationName"`
	References    []JaegerRef    `json:"references"`
	StartTime     int64          `json:"startTime"` // microseconds since the epoch
	Duration      int64          `json:"duration"`  // microseconds
	Tags          []JaegerKeyVal `json:"tags"`
	ProcessID     string         `json:"processID"`
}

// JaegerRef is a span reference (CHILD_OF the parent).
type JaegerRef struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// JaegerProcess is a span's resource: the service name and the other
// resource attributes as tags.
type JaegerProcess struct {
	ServiceName string         `json:"serviceName"`
	Tags        []JaegerKeyVal `json:"tags"`
}

// JaegerKeyVal is a tag.
type JaegerKeyVal struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Tag returns the value of the span's tag key.
func (s *JaegerSpan) Tag(key string) (any, bool) {
	for _, kv := range s.Tags {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

// Service returns the service name of span s of trace t.
func (t *JaegerTrace) Service(s *JaegerSpan) string {
	return t.Processes[s.ProcessID].ServiceName
}

// TraceQuery is a search of Jaeger's /api/traces, the search Grafana runs
// against a trace store: by service (required by Jaeger), operation (span
// name) and tags.
type TraceQuery struct {
	Service   string
	Operation string
	Tags      map[string]string
	// Limit is the most traces to return; 0 means 100 000.
	Limit int
	// Start and End bound the traces' start times; zero means the last two
	// days up to now.
	Start, End time.Time
}

// FindTraces runs a trace search. Traces come back raw: Jaeger's adjusters
// (which would, for example, rename duplicate span ids) are off.
func (j *Jaeger) FindTraces(q TraceQuery) ([]JaegerTrace, error) {
	v := url.Values{"service": {q.Service}, "raw": {"true"}}
	if q.Operation != "" {
		v.Set("operation", q.Operation)
	}
	if len(q.Tags) > 0 {
		b, err := json.Marshal(q.Tags)
		if err != nil {
			return nil, err
		}
		v.Set("tags", string(b))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100000
	}
	v.Set("limit", strconv.Itoa(limit))
	if !q.Start.IsZero() {
		v.Set("start", strconv.FormatInt(q.Start.UnixMicro(), 10))
	}
	if !q.End.IsZero() {
		v.Set("end", strconv.FormatInt(q.End.UnixMicro(), 10))
	}
	var resp struct {
		Data   []JaegerTrace `json:"data"`
		Errors []any         `json:"errors"`
	}
	if err := j.GetJSON("/api/traces?"+v.Encode(), &resp); err != nil {
		return nil, err
	}
	if len(resp.Errors) > 0 {
		return nil, fmt.Errorf("trace search %v: %v", v, resp.Errors)
	}
	return resp.Data, nil
}

// Trace fetches one trace by id; it returns nil and no error when Jaeger
// does not have it.
func (j *Jaeger) Trace(traceID string) (*JaegerTrace, error) {
	var resp struct {
		Data []JaegerTrace `json:"data"`
	}
	err := j.GetJSON("/api/traces/"+traceID+"?raw=true", &resp)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	if len(resp.Data) == 0 {
		return nil, nil
	}
	return &resp.Data[0], nil
}

// Services lists the service names Jaeger has seen.
func (j *Jaeger) Services() ([]string, error) {
	var resp struct {
		Data []string `json:"data"`
	}
	if err := j.GetJSON("/api/services", &resp); err != nil {
		return nil, err
	}
	return resp.Data, nil
}
