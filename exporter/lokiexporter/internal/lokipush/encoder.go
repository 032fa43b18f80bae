package lokipush

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/loki/pkg/push"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Source says where a label takes its value from.
type Source uint8

const (
	// FromResource takes the value of a resource attribute.
	FromResource Source = iota
	// FromRecord takes the value of a log record attribute.
	FromRecord
	// FromSeverity takes the record's severity, normalised to one of trace,
	// debug, info, warn, error, fatal, critical or unknown.
	FromSeverity
)

// Label is one label of the stream selector.
type Label struct {
	// Name is the Loki label name; it must already be valid (see
	// SanitizeLabelName).
	Name string
	// Source says where the value comes from.
	Source Source
	// Attribute is the attribute key for FromResource and FromRecord.
	Attribute string
}

// Field is one attribute copied into structured metadata or into a json or
// logfmt line.
type Field struct {
	// Attribute is the key looked up on the record, then on its resource.
	// `trace_id` and `span_id` are taken from the record's trace context
	// first.
	Attribute string
	// Name is the key written out.
	Name string
}

// LineFormat is how the log line is written.
type LineFormat string

const (
	// LineText writes the body as text; non-string bodies as JSON.
	LineText LineFormat = "text"
	// LineJSON writes {"body": <body>, <attribute>: <value>, ...}.
	LineJSON LineFormat = "json"
	// LineLogfmt writes body=<body> <attribute>=<value> ...
	LineLogfmt LineFormat = "logfmt"
)

// Fallback label of records that carry none of the configured labels: Loki
// refuses a stream without labels, and this is what Loki's own OTLP endpoint
// uses for a record without service.name.
const (
	FallbackLabelName  = "service_name"
	FallbackLabelValue = "unknown_service"
)

// Options configure an Encoder.
type Options struct {
	// Labels of the stream selector. Names must be valid and unique.
	Labels []Label
	// StructuredMetadata lists the attributes sent as structured metadata of
	// each entry.
	StructuredMetadata []Field
	// LineFormat is the format of the line; empty means LineText.
	LineFormat LineFormat
	// LineAttributes are added to json and logfmt lines next to the body.
	LineAttributes []Field
	// TenantAttribute, when set, names the resource attribute whose value is
	// the tenant (X-Scope-OrgID) of the resource's records.
	TenantAttribute string
	// Tenant is the tenant of records whose resource has no TenantAttribute
	// (or all records when TenantAttribute is empty); empty means none.
	Tenant string
}

// Stream is one Loki stream: a label set and its entries, in timestamp order
// after Group returns.
type Stream struct {
	// Labels are the label pairs, sorted by name.
	Labels []push.LabelAdapter
	// LabelString is Labels in Loki's selector syntax: {a="x", b="y"}.
	LabelString string
	// Entries are the stream's log entries.
	Entries []push.Entry

	// values are the label values by slot, to tell streams apart.
	values []string
}

// Batch holds the streams of one tenant: what one push request carries.
type Batch struct {
	// Tenant is the X-Scope-OrgID of the request; empty means no header.
	Tenant string
	// Streams in order of first appearance.
	Streams []*Stream
	// Entries is the number of entries over all streams.
	Entries int
	// Resources are the indexes, in the input plog.Logs, of the resources
	// whose records are in this batch (see Subset).
	Resources []int

	index map[uint64][]*Stream
}

// Result is what Group made of one plog.Logs.
type Result struct {
	// Batches, one per tenant, in order of first appearance.
	Batches []*Batch
	// MissingTenant counts records left out because a TenantAttribute was
	// configured, their resource did not have it, and no Tenant was set.
	MissingTenant int
	// MissingTenantResources are the indexes of those records' resources.
	MissingTenantResources []int
	// Unlabelled counts records that carried none of the configured labels
	// and were given the fallback label.
	Unlabelled int
}

// Encoder groups log records into Loki streams. It is safe for concurrent use.
type Encoder struct {
	opts Options
	// labels sorted by name; slot i of a value vector belongs to labels[i].
	labels []Label
	// The slots of resource labels and of record labels: the resource part
	// of the values and of their hash is computed once per resource.
	resourceSlots []int
	recordSlots   []int
}

// NewEncoder checks opts and returns an Encoder.
func NewEncoder(opts Options) (*Encoder, error) {
	if opts.LineFormat == "" {
		opts.LineFormat = LineText
	}
	switch opts.LineFormat {
	case LineText, LineJSON, LineLogfmt:
	default:
		return nil, fmt.Errorf("unknown line format %q", opts.LineFormat)
	}
	e := &Encoder{opts: opts, labels: slices.Clone(opts.Labels)}
	slices.SortStableFunc(e.labels, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
	for i, l := range e.labels {
		if l.Name == "" || SanitizeLabelName(l.Name) != l.Name {
			return nil, fmt.Errorf("invalid label name %q", l.Name)
		}
		if i > 0 && e.labels[i-1].Name == l.Name {
			return nil, fmt.Errorf("label name %q used twice", l.Name)
		}
		switch l.Source {
		case FromResource:
			e.resourceSlots = append(e.resourceSlots, i)
		case FromRecord, FromSeverity:
			e.recordSlots = append(e.recordSlots, i)
		default:
			return nil, errors.New("unknown label source")
		}
	}
	return e, nil
}

// FNV-1a, written out so the hash of the resource part can be resumed per
// record without allocating.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	// A separator, so that ("ab", "c") and ("a", "bc") hash differently.
	// Collisions are settled by comparing the values (Batch.find).
	h ^= 0xff
	h *= fnvPrime
	return h
}

// Group sorts the records of ld into batches (one per tenant) of streams (one
// per distinct label set). now is the timestamp of records that have neither
// a timestamp nor an observed timestamp.
func (e *Encoder) Group(ld plog.Logs, now time.Time) Result {
	var res Result
	var mem arena
	byTenant := map[string]*Batch{}
	values := make([]string, len(e.labels))
	rls := ld.ResourceLogs()
	for ri := 0; ri < rls.Len(); ri++ {
		rl := rls.At(ri)
		resAttrs := rl.Resource().Attributes()

		tenant := e.opts.Tenant
		if e.opts.TenantAttribute != "" {
			if v := attrString(resAttrs, e.opts.TenantAttribute); v != "" {
				tenant = v
			} else if tenant == "" {
				n := 0
				for si := 0; si < rl.ScopeLogs().Len(); si++ {
					n += rl.ScopeLogs().At(si).LogRecords().Len()
				}
				if n > 0 {
					res.MissingTenant += n
					res.MissingTenantResources = append(res.MissingTenantResources, ri)
				}
				continue
			}
		}
		batch := byTenant[tenant]

		// The resource part of the label values and of their hash.
		hRes := uint64(fnvOffset)
		for _, slot := range e.resourceSlots {
			values[slot] = attrString(resAttrs, e.labels[slot].Attribute)
			hRes = hashString(hRes, values[slot])
		}

		addedResource := false
		sls := rl.ScopeLogs()
		for si := 0; si < sls.Len(); si++ {
			lrs := sls.At(si).LogRecords()
			for li := 0; li < lrs.Len(); li++ {
				lr := lrs.At(li)
				if batch == nil {
					batch = &Batch{Tenant: tenant, index: map[uint64][]*Stream{}}
					byTenant[tenant] = batch
					res.Batches = append(res.Batches, batch)
				}
				if !addedResource {
					batch.Resources = append(batch.Resources, ri)
					addedResource = true
				}
				h := hRes
				for _, slot := range e.recordSlots {
					l := &e.labels[slot]
					if l.Source == FromSeverity {
						values[slot] = SeverityLevel(lr)
					} else {
						values[slot] = attrString(lr.Attributes(), l.Attribute)
					}
					h = hashString(h, values[slot])
				}
				s := batch.find(h, values)
				if s == nil {
					s = e.newStream(values)
					batch.index[h] = append(batch.index[h], s)
					batch.Streams = append(batch.Streams, s)
				}
				if allEmpty(values) {
					res.Unlabelled++
				}
				s.Entries = append(s.Entries, e.entry(&mem, lr, resAttrs, now))
				batch.Entries++
			}
		}
	}
	for _, b := range res.Batches {
		for _, s := range b.Streams {
			sortEntries(s.Entries)
		}
	}
	return res
}

func (b *Batch) find(h uint64, values []string) *Stream {
	for _, s := range b.index[h] {
		if slices.Equal(s.values, values) {
			return s
		}
	}
	return nil
}

func allEmpty(values []string) bool {
	for _, v := range values {
		if v != "" {
			return false
		}
	}
	return true
}

func (e *Encoder) newStream(values []string) *Stream {
	s := &Stream{values: slices.Clone(values)}
	for i, v := range values {
		// Loki treats a label with an empty value as absent.
		if v != "" {
			s.Labels = append(s.Labels, push.LabelAdapter{Name: e.labels[i].Name, Value: v})
		}
	}
	if len(s.Labels) == 0 {
		s.Labels = []push.LabelAdapter{{Name: FallbackLabelName, Value: FallbackLabelValue}}
	}
	s.LabelString = LabelString(s.Labels)
	return s
}

// LabelString writes sorted label pairs in Loki's selector syntax.
func LabelString(labels []push.LabelAdapter) string {
	b := make([]byte, 0, 64)
	b = append(b, '{')
	for i, l := range labels {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, l.Name...)
		b = append(b, '=')
		b = strconv.AppendQuote(b, l.Value)
	}
	b = append(b, '}')
	return string(b)
}

func sortEntries(entries []push.Entry) {
	cmp := func(a, b push.Entry) int { return a.Timestamp.Compare(b.Timestamp) }
	if !slices.IsSortedFunc(entries, cmp) {
		slices.SortStableFunc(entries, cmp)
	}
}

func (e *Encoder) entry(mem *arena, lr plog.LogRecord, resAttrs pcommon.Map, now time.Time) push.Entry {
	ent := push.Entry{Timestamp: Timestamp(lr, now)}
	switch e.opts.LineFormat {
	case LineJSON:
		ent.Line = jsonLine(mem, lr, resAttrs, e.opts.LineAttributes)
	case LineLogfmt:
		ent.Line = logfmtLine(mem, lr, resAttrs, e.opts.LineAttributes)
	default:
		ent.Line = bodyText(lr.Body())
	}
	if len(e.opts.StructuredMetadata) == 0 {
		return ent
	}
	md := mem.labels(len(e.opts.StructuredMetadata))
	for _, f := range e.opts.StructuredMetadata {
		if v := metadataString(mem, lr, resAttrs, f.Attribute); v != "" {
			md = append(md, push.LabelAdapter{Name: f.Name, Value: v})
		}
	}
	if len(md) > 0 {
		ent.StructuredMetadata = md
	}
	return ent
}

// Timestamp is the time of a record: its timestamp, else its observed
// timestamp, else now.
func Timestamp(lr plog.LogRecord, now time.Time) time.Time {
	if ts := lr.Timestamp(); ts != 0 {
		return ts.AsTime()
	}
	if ts := lr.ObservedTimestamp(); ts != 0 {
		return ts.AsTime()
	}
	return now
}

// SeverityLevel normalises a record's severity to one of the values Grafana
// recognises: trace, debug, info, warn, error, fatal, critical; unknown for
// severity text it does not recognise; "" when the record has no severity.
// The severity number wins over the text. The set of values is bounded, so the
// level is safe as a label.
func SeverityLevel(lr plog.LogRecord) string {
	if n := lr.SeverityNumber(); n != plog.SeverityNumberUnspecified {
		switch {
		case n <= plog.SeverityNumberTrace4:
			return "trace"
		case n <= plog.SeverityNumberDebug4:
			return "debug"
		case n <= plog.SeverityNumberInfo4:
			return "info"
		case n <= plog.SeverityNumberWarn4:
			return "warn"
		case n <= plog.SeverityNumberError4:
			return "error"
		default:
			return "fatal"
		}
	}
	text := lr.SeverityText()
	if text == "" {
		return ""
	}
	for _, lv := range severityTexts {
		for _, spelling := range lv.spellings {
			if strings.EqualFold(text, spelling) {
				return lv.level
			}
		}
	}
	return "unknown"
}

var severityTexts = []struct {
	level     string
	spellings []string
}{
	{"trace", []string{"trace"}},
	{"debug", []string{"debug", "dbg"}},
	{"info", []string{"info", "information", "informational", "notice"}},
	{"warn", []string{"warn", "warning"}},
	{"error", []string{"error", "err"}},
	{"critical", []string{"critical", "crit"}},
	{"fatal", []string{"fatal", "panic", "emergency", "alert"}},
}

func attrString(m pcommon.Map, key string) string {
	v, ok := m.Get(key)
	if !ok {
		return ""
	}
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return v.AsString()
}

// fieldValue finds an attribute on the record, then on its resource.
func fieldValue(lr plog.LogRecord, resAttrs pcommon.Map, key string) (pcommon.Value, bool) {
	if v, ok := lr.Attributes().Get(key); ok {
		return v, true
	}
	return resAttrs.Get(key)
}

func fieldString(lr plog.LogRecord, resAttrs pcommon.Map, key string) string {
	switch key {
	case "trace_id":
		if id := lr.TraceID(); !id.IsEmpty() {
			return id.String()
		}
	case "span_id":
		if id := lr.SpanID(); !id.IsEmpty() {
			return id.String()
		}
	}
	v, ok := fieldValue(lr, resAttrs, key)
	if !ok {
		return ""
	}
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return v.AsString()
}

// metadataString is fieldString with the trace context written into mem.
func metadataString(mem *arena, lr plog.LogRecord, resAttrs pcommon.Map, key string) string {
	switch key {
	case "trace_id":
		if id := lr.TraceID(); !id.IsEmpty() {
			return mem.hex(id[:])
		}
	case "span_id":
		if id := lr.SpanID(); !id.IsEmpty() {
			return mem.hex(id[:])
		}
	}
	return fieldString(lr, resAttrs, key)
}

func bodyText(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeEmpty:
		return ""
	default:
		return v.AsString()
	}
}

// Subset returns a copy of the resources of ld with the given indexes, to
// hand back to the exporter helper the part of a request that must be retried.
func Subset(ld plog.Logs, resources []int) plog.Logs {
	out := plog.NewLogs()
	rls := ld.ResourceLogs()
	out.ResourceLogs().EnsureCapacity(len(resources))
	for _, i := range resources {
		rls.At(i).CopyTo(out.ResourceLogs().AppendEmpty())
	}
	return out
}
