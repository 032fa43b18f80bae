package normalize

import (
	"encoding/hex"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
)

// Semantic-convention keys written on the root http-request span.
const (
	HTTPRequestMethodKey      = "http.request.method"
	URLPathKey                = "url.path"
	NetworkProtocolVersionKey = "network.protocol.version"
)

// ResourceState carries what is known about one resource while its items are
// normalized: the service name and the component identity, and whether an
// item's component field is still needed to complete it.
//
// One ResourceState serves every resource of a batch in turn (BeginResource
// resets it): its item scratch is about 500 bytes, which a fresh value per
// resource would clear and copy each time.
type ResourceState struct {
	Service  string
	identity dynamo.Identity
	preset   bool // the resource already had dynamo.component
	// hasComponent and hasRole say whether the resource has the keys
	// dynamo.component (of any type) and dynamo.role.
	hasComponent, hasRole bool
	hint                  dynamo.Identity
	f                     found // scratch of the item being normalized
}

// BeginResource resets rs for the items of resource res: it reads the
// resource's service name and derives its identity, in one pass over the
// resource's attributes.
func (n *Normalizer) BeginResource(rs *ResourceState, res pcommon.Resource) {
	rs.Service, rs.identity, rs.preset, rs.hint = "", dynamo.Identity{}, false, dynamo.Identity{}
	rs.hasComponent, rs.hasRole = false, false
	component := ""
	seen := 0
	for k, v := range res.Attributes().All() {
		switch k {
		case "service.name":
			if seen&1 != 0 {
				continue // the first one counts, as with Get
			}
			seen |= 1
			if v.Type() == pcommon.ValueTypeStr {
				rs.Service = v.Str()
			}
		case dynamo.ComponentAttribute:
			if seen&2 != 0 {
				continue
			}
			seen |= 2
			rs.hasComponent = true
			if v.Type() == pcommon.ValueTypeStr {
				component = v.Str()
			}
		case dynamo.RoleAttribute:
			rs.hasRole = true
		}
	}
	if !n.s.Components || component != "" {
		rs.preset = true
		return
	}
	rs.identity = n.idents.get(rs.Service)
}

func (rs *ResourceState) needsHint() bool {
	return !rs.preset && (rs.identity.Component == "" || (rs.identity.Component == dynamo.ComponentWorker && rs.identity.Role == "")) &&
		(rs.hint.Component == "" || rs.hint.Role == "")
}

// EndResource writes dynamo.component and dynamo.role on the resource when
// they are known and not already set. It reports whether it changed anything.
func (n *Normalizer) EndResource(rs *ResourceState, res pcommon.Resource) bool {
	if rs.preset {
		return false
	}
	id := rs.identity
	if id.Component == "" {
		id.Component = rs.hint.Component
	}
	if id.Component == dynamo.ComponentWorker && id.Role == "" {
		id.Role = rs.hint.Role
	}
	if id.Component == "" {
		return false
	}
	attrs := res.Attributes()
	// The array grows once, by exactly what is added (see httpSemantics).
	// dynamo.component is absent or not a non-empty string (the resource is
	// not preset); the role is added only if absent. BeginResource saw
	// which of the two keys the resource has.
	putRole := id.Role != "" && !rs.hasRole
	if n := b2i(!rs.hasComponent) + b2i(putRole); n > 0 {
		attrs.EnsureCapacity(attrs.Len() + n)
	}
	attrs.PutStr(dynamo.ComponentAttribute, id.Component)
	if putRole {
		attrs.PutStr(dynamo.RoleAttribute, id.Role)
	}
	return true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// isWorkerSpan reports whether a span's component field describes the
// component that emitted it: the worker's own spans. (A caller-side span may
// name the component it calls.)
func isWorkerSpan(name string) bool {
	if name == dynamo.SpanHandlePayload || name == dynamo.SpanEngineGenerate {
		return true
	}
	if c, ok := dynamo.CanonicalSpanName(name); ok {
		return c == dynamo.SpanHandlePayload || c == dynamo.SpanEngineGenerate
	}
	return false
}

// workerLogLine reports whether a JSONL line's component field describes the
// component that wrote it: lines inside a worker span, or outside any span.
func workerLogLine(f *found) bool {
	if f.mask&hasSpanNameField == 0 {
		return true
	}
	v := f.v[sSpanNameField]
	return v.Type() == pcommon.ValueTypeStr && isWorkerSpan(v.Str())
}

// learnHint takes the component and role from a worker span's or line's
// component and disagg_role fields.
func (n *Normalizer) learnHint(rs *ResourceState, f *found) {
	f.fresh(n)
	if f.mask&hasComponent != 0 && rs.hint.Component == "" {
		if v := f.v[sComponent]; v.Type() == pcommon.ValueTypeStr {
			h := dynamo.IdentityFromComponentField(v.Str())
			rs.hint.Component = h.Component
			if rs.hint.Role == "" {
				rs.hint.Role = h.Role
			}
		}
	}
	if f.mask&hasDisaggRole != 0 && rs.hint.Role == "" {
		if v := f.v[sDisaggRole]; v.Type() == pcommon.ValueTypeStr {
			rs.hint.Role = dynamo.RoleFromDisaggRole(v.Str())
			if rs.hint.Role != "" && rs.hint.Component == "" {
				rs.hint.Component = dynamo.ComponentWorker
			}
		}
	}
}

// SpanResult is what Span found out about one span.
type SpanResult struct {
	// XRequestID is the caller's request id on the span after the rules, ""
	// if it has none.
	XRequestID string
	// Drop is true for a system-endpoint span when those are dropped.
	Drop bool
	// Changed is true when a rule changed the span.
	Changed bool
}

// Span applies every rule to one span of the resource rs describes.
func (n *Normalizer) Span(rs *ResourceState, span ptrace.Span, st *Stats) SpanResult {
	var res SpanResult
	f := &rs.f
	f.reset(span.Attributes())
	changed := n.scan(f, st)
	if n.s.RequestIDs {
		var c bool
		res.XRequestID, c = n.requestIDs(f, st)
		changed = changed || c
	} else if f.mask&hasXRID != 0 {
		res.XRequestID, _ = idString(f.v[sXRID])
	}

	name := span.Name()
	orig := name
	for _, r := range n.rules {
		if r.literal != "" && !strings.Contains(name, r.literal) {
			continue
		}
		if r.Pattern.MatchString(name) {
			name = r.Pattern.ReplaceAllString(name, r.Replacement)
		}
	}
	// Most names are known ones, spelled canonically: one look-up.
	known := dynamo.IsKnownSpanName(name)
	if !known && n.s.Canonicalize {
		if c, ok := dynamo.CanonicalSpanName(name); ok {
			name, known = c, true
		}
	}
	if f.mask&(hasComponent|hasDisaggRole) != 0 && rs.needsHint() && isWorkerSpan(name) {
		n.learnHint(rs, f)
	}
	// The status rule reads its fields before the HTTP rule adds attributes
	// (which would make the values stale); it applies after the system rule.
	failed, desc := false, ""
	if n.s.Status && f.mask&(hasStatusCode|hasErrorType|hasOutcome) != 0 && span.Status().Code() == ptrace.StatusCodeUnset {
		failed, desc = failure(f, n)
	}
	system := false
	if name == dynamo.SpanHTTPRequest {
		f.fresh(n)
		system = n.s.System != SystemKeep && isSystemSpan(f)
		if n.s.HTTPSemantics && span.ParentSpanID().IsEmpty() && n.httpSemantics(span, f) {
			changed = true
		}
		if system {
			if n.s.System == SystemDrop {
				st.SystemDropped++
				res.Drop = true
				return res
			}
			name = n.s.SystemSpanName
			st.SystemRenamed++
		}
	}
	if failed {
		status := span.Status()
		status.SetCode(ptrace.StatusCodeError)
		status.SetMessage(desc)
		changed = true
	}
	if n.s.Template && !system && !(known && knownNamesFixed) {
		if t, ok := Template(name); ok {
			name = t
			known = dynamo.IsKnownSpanName(name)
			st.Templated++
		}
	}
	if n.s.MaxNamesPerSvc > 0 && !system && !known && !n.limiter.admit(rs.Service, name) {
		f.attrs.PutStr(dynamo.OriginalSpanNameAttribute, name)
		name = n.s.OverflowSpanName
		st.Overflow++
	}
	if name != orig {
		span.SetName(name)
		changed = true
	}
	if changed {
		st.Changed++
	}
	res.Changed = changed
	return res
}

// knownNamesFixed is true when Template leaves every known span name as it
// is (none has a digit or a query string), so that known names skip it.
var knownNamesFixed = func() bool {
	for _, k := range dynamo.KnownSpanNames {
		if _, ok := Template(k); ok {
			return false
		}
	}
	return true
}()

// isSystemSpan reports whether an http-request span is a request to a
// system endpoint, by its uri (or url.path) field.
func isSystemSpan(f *found) bool {
	if f.mask&hasURI != 0 {
		if v := f.v[sURI]; v.Type() == pcommon.ValueTypeStr {
			return dynamo.IsSystemEndpoint(v.Str())
		}
	}
	if f.mask&hasURLPath != 0 {
		if v := f.v[sURLPath]; v.Type() == pcommon.ValueTypeStr {
			return dynamo.IsSystemEndpoint(v.Str())
		}
	}
	return false
}

// httpSemantics gives the root http-request span kind SERVER and the HTTP
// semantic-convention attributes from Dynamo's method, uri and version. It
// leaves attributes that are already there alone. f must be fresh.
func (n *Normalizer) httpSemantics(span ptrace.Span, f *found) bool {
	changed := false
	if k := span.Kind(); k == ptrace.SpanKindUnspecified || k == ptrace.SpanKindInternal {
		span.SetKind(ptrace.SpanKindServer)
		changed = true
	}
	// Every value is read before the first attribute is added.
	var method, path, version string
	var putMethod, putPath, putVersion bool
	if f.mask&(hasMethod|hasHTTPMethod) == hasMethod {
		if v := f.v[sMethod]; v.Type() == pcommon.ValueTypeStr {
			method, putMethod = v.Str(), true
		}
	}
	if f.mask&(hasURI|hasURLPath) == hasURI {
		if v := f.v[sURI]; v.Type() == pcommon.ValueTypeStr {
			path, putPath = uriPath(v.Str()), true
		}
	}
	if f.mask&(hasVersion|hasNetVersion) == hasVersion {
		if v := f.v[sVersion]; v.Type() == pcommon.ValueTypeStr {
			version = protocolVersion(v.Str())
			putVersion = version != ""
		}
	}
	// The scan found none of the three keys, so each Put adds one (they
	// cannot be added without a search: pcommon.Map has no append). The
	// array grows once, by exactly what is added: appending to a full one
	// would double it, and the spare half would live as long as the span.
	if n := b2i(putMethod) + b2i(putPath) + b2i(putVersion); n > 0 {
		f.attrs.EnsureCapacity(f.attrs.Len() + n)
	}
	if putMethod {
		f.attrs.PutStr(HTTPRequestMethodKey, method)
		changed = true
	}
	if putPath {
		f.attrs.PutStr(URLPathKey, path)
		changed = true
	}
	if putVersion {
		f.attrs.PutStr(NetworkProtocolVersionKey, version)
		changed = true
	}
	if putMethod || putPath || putVersion {
		f.stale = true
	}
	return changed
}

// uriPath returns the path of a request URI: no query string, no fragment,
// no scheme and host.
func uriPath(uri string) string {
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	if i := strings.Index(uri, "://"); i >= 0 {
		rest := uri[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			return rest[j:]
		}
		return "/"
	}
	return uri
}

// protocolVersion turns Dynamo's version field (HTTP/1.1, HTTP/2.0) into the
// semantic-convention value (1.1, 2).
func protocolVersion(v string) string {
	if len(v) >= 5 && strings.EqualFold(v[:5], "HTTP/") {
		v = v[5:]
	}
	switch v {
	case "2.0":
		return "2"
	case "3.0":
		return "3"
	}
	return v
}

// failure reports whether Dynamo recorded a failure on an item, and its
// description: otel.status_code=error, an error.type, or a request.outcome
// other than success and cancelled. Span gives a span whose status is unset
// status ERROR with the description; one that has a status keeps it.
func failure(f *found, n *Normalizer) (failed bool, desc string) {
	f.fresh(n)
	if f.mask&hasOutcome != 0 {
		o := f.v[sOutcome].AsString()
		if o != "" && !strings.EqualFold(o, dynamo.OutcomeSuccess) && !strings.EqualFold(o, dynamo.OutcomeCancelled) {
			desc, failed = o, true
		}
	}
	if f.mask&hasErrorType != 0 {
		failed = true
		if desc == "" {
			desc = f.v[sErrorType].AsString()
		}
	}
	if f.mask&hasStatusCode != 0 && strings.EqualFold(f.v[sStatusCode].AsString(), "error") {
		failed = true
		if desc == "" && f.mask&hasStatusDesc != 0 {
			desc = f.v[sStatusDesc].AsString()
		}
	}
	return failed, desc
}

// LogResult is what LogRecord found out about one log record.
type LogResult struct {
	// XRequestID is the caller's request id on the record after the rules.
	XRequestID string
	// Changed is true when a rule changed the record.
	Changed bool
}

// LogRecord applies the request-id, numeric-field and component rules to one
// log record, and spells its JSONL span_name field canonically. A record without a trace context that carries Dynamo's JSONL
// trace_id and span_id fields gets them as its trace context.
func (n *Normalizer) LogRecord(rs *ResourceState, lr plog.LogRecord, st *Stats) LogResult {
	var res LogResult
	f := &rs.f
	f.reset(lr.Attributes())
	changed := n.scan(f, st)
	if f.mask&(hasComponent|hasDisaggRole) != 0 && rs.needsHint() && workerLogLine(f) {
		n.learnHint(rs, f)
	}
	if n.s.RequestIDs {
		var c bool
		res.XRequestID, c = n.requestIDs(f, st)
		changed = changed || c
	} else if f.mask&hasXRID != 0 {
		res.XRequestID, _ = idString(f.v[sXRID])
	}
	if n.s.Canonicalize && f.mask&hasSpanNameField != 0 {
		// JSONL lines name their span: spell it as the span is spelled.
		f.fresh(n)
		if v := f.v[sSpanNameField]; f.mask&hasSpanNameField != 0 && v.Type() == pcommon.ValueTypeStr {
			if c, ok := dynamo.CanonicalSpanName(v.Str()); ok {
				v.SetStr(c)
				changed = true
			}
		}
	}
	if f.mask&hasTraceIDField != 0 && lr.TraceID().IsEmpty() {
		f.fresh(n)
		if tid, ok := traceIDField(f); ok {
			lr.SetTraceID(tid)
			if f.mask&hasSpanIDField != 0 {
				if sid, ok := spanIDField(f); ok {
					lr.SetSpanID(sid)
				}
			}
			changed = true
		}
	}
	if changed {
		st.Changed++
	}
	res.Changed = changed
	return res
}

// traceIDField parses a JSONL trace_id (32 lowercase hex). Dynamo's fallback
// ids (decimal, when the trace context is missing) are not trace ids.
func traceIDField(f *found) (pcommon.TraceID, bool) {
	var tid pcommon.TraceID
	if f.mask&hasTraceIDField == 0 {
		return tid, false
	}
	v := f.v[sTraceIDField]
	if v.Type() != pcommon.ValueTypeStr || len(v.Str()) != 32 {
		return tid, false
	}
	if _, err := hex.Decode(tid[:], []byte(v.Str())); err != nil || tid.IsEmpty() {
		return pcommon.TraceID{}, false
	}
	return tid, true
}

func spanIDField(f *found) (pcommon.SpanID, bool) {
	var sid pcommon.SpanID
	v := f.v[sSpanIDField]
	if v.Type() != pcommon.ValueTypeStr || len(v.Str()) != 16 {
		return sid, false
	}
	if _, err := hex.Decode(sid[:], []byte(v.Str())); err != nil || sid.IsEmpty() {
		return pcommon.SpanID{}, false
	}
	return sid, true
}
