package normalize

// The rules as they were before the single scan kept the values they read: a
// reference for FuzzMatchesReference, which checks that the Normalizer makes
// exactly the same changes, attribute order included.

import (
	"encoding/hex"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
)

// refNormalizer applies the rules. It is safe for concurrent use.
type refNormalizer struct {
	s        Settings
	aliases  []string
	numeric  map[string]dynamo.NumberKind
	numMinL  int
	numMaxL  int
	numFirst [256]bool
	limiter  *nameLimiter
	idents   *identityCache
	rules    []refCompiledRule
}

// refCompiledRule is a user rule with the literal every match contains, so
// names that cannot match skip the regular expression.
type refCompiledRule struct {
	Rule
	literal string
}

// newRef returns a refNormalizer for s.
func newRef(s Settings) *refNormalizer {
	n := &refNormalizer{s: s}
	n.aliases = append([]string(nil), dynamo.XRequestIDAliases...)
	for _, a := range s.ExtraXRequestIDAliases {
		switch a {
		case dynamo.XRequestID, dynamo.DynamoRequestID, dynamo.RequestID, dynamo.MethodField, dynamo.URIField,
			dynamo.VersionField, dynamo.OtelStatusCodeField, dynamo.ErrorTypeField, dynamo.OutcomeField,
			dynamo.ComponentField, dynamo.DisaggRoleField, dynamo.TraceIDField, dynamo.SpanIDField, dynamo.SpanNameField:
			// read by other rules, never an alias
		default:
			n.aliases = append(n.aliases, a)
		}
	}
	n.numeric = make(map[string]dynamo.NumberKind, len(dynamo.NumericFields)+len(s.ExtraNumericFields))
	for k, v := range dynamo.NumericFields {
		n.numeric[k] = v
	}
	for k, v := range s.ExtraNumericFields {
		n.numeric[k] = v
	}
	n.numMinL = 1 << 30
	for k := range n.numeric {
		if len(k) == 0 {
			continue
		}
		n.numFirst[k[0]] = true
		n.numMinL = min(n.numMinL, len(k))
		n.numMaxL = max(n.numMaxL, len(k))
	}
	for _, r := range s.Rules {
		lit, _ := r.Pattern.LiteralPrefix()
		n.rules = append(n.rules, refCompiledRule{Rule: r, literal: lit})
	}
	n.limiter = newNameLimiter(s.MaxNamesPerSvc)
	n.idents = newIdentityCache(s.ServiceMappings)
	return n
}

// Keys of interest found in one attribute map, as bits.
const (
	refHasXRID uint32 = 1 << iota
	refHasAlias
	refHasDynamoRID
	refHasRID
	refHasMethod
	refHasURI
	refHasVersion
	refHasStatusCode
	refHasErrorType
	refHasOutcome
	refHasComponent
	refHasDisaggRole
	refHasTraceIDField
	refHasSpanIDField
	refHasSpanNameField
)

// scan makes one pass over attrs: it converts the numeric fields in place and
// returns which keys of interest are present. It does not allocate.
func (n *refNormalizer) scan(attrs pcommon.Map, st *Stats) (mask uint32, changed bool) {
	for k, v := range attrs.All() {
		switch k {
		case dynamo.XRequestID:
			mask |= refHasXRID
			continue
		case dynamo.DynamoRequestID:
			mask |= refHasDynamoRID
			continue
		case dynamo.RequestID:
			mask |= refHasRID
			continue
		case dynamo.MethodField:
			mask |= refHasMethod
			continue
		case dynamo.URIField:
			mask |= refHasURI
			continue
		case dynamo.VersionField:
			mask |= refHasVersion
			continue
		case dynamo.OtelStatusCodeField:
			mask |= refHasStatusCode
			continue
		case dynamo.ErrorTypeField:
			mask |= refHasErrorType
			continue
		case dynamo.OutcomeField:
			mask |= refHasOutcome
			continue
		case dynamo.ComponentField:
			mask |= refHasComponent
			continue
		case dynamo.DisaggRoleField:
			mask |= refHasDisaggRole
			continue
		case dynamo.TraceIDField:
			mask |= refHasTraceIDField
			continue
		case dynamo.SpanIDField:
			mask |= refHasSpanIDField
			continue
		case dynamo.SpanNameField:
			mask |= refHasSpanNameField
			continue
		}
		if n.isAlias(k) {
			mask |= refHasAlias
			continue
		}
		if n.s.Numeric && len(k) >= n.numMinL && len(k) <= n.numMaxL && n.numFirst[k[0]] {
			if kind, ok := n.numeric[k]; ok && n.convertNumber(v, kind, st) {
				changed = true
			}
		}
	}
	return mask, changed
}

func (n *refNormalizer) isAlias(k string) bool {
	if len(k) < 12 { // shortest alias: "x-request-id"
		for _, a := range n.s.ExtraXRequestIDAliases {
			if k == a {
				return true
			}
		}
		return false
	}
	for _, a := range n.aliases {
		if k == a {
			return true
		}
	}
	return false
}

// convertNumber turns a string value of a numeric field into a number. Values
// that are not numbers, or integers too large for int64 (an instance id above
// 2^63-1), stay strings and are counted.
func (n *refNormalizer) convertNumber(v pcommon.Value, kind dynamo.NumberKind, st *Stats) bool {
	switch v.Type() {
	case pcommon.ValueTypeInt, pcommon.ValueTypeDouble:
		return false
	case pcommon.ValueTypeStr:
	default:
		st.UnexpectedType++
		return false
	}
	s := v.Str()
	switch kind {
	case dynamo.Int:
		i, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			v.SetInt(i)
			return true
		}
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			st.OutOfRange++
		} else {
			st.NotANumber++
		}
	case dynamo.Double:
		f, err := strconv.ParseFloat(s, 64)
		if err == nil {
			v.SetDouble(f)
			return true
		}
		st.NotANumber++
	}
	return false
}

// idString returns the request id a value holds: a string, an integer written
// as decimal, or the first element of a list (the semantic-convention header
// form). ok is false for any other type, for an empty list and for an empty
// string.
func refIDString(v pcommon.Value) (string, bool) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		s := v.Str()
		return s, s != ""
	case pcommon.ValueTypeInt:
		return strconv.FormatInt(v.Int(), 10), true
	case pcommon.ValueTypeSlice:
		sl := v.Slice()
		if sl.Len() == 0 {
			return "", false
		}
		first := sl.At(0)
		if first.Type() == pcommon.ValueTypeSlice {
			return "", false // no lists of lists
		}
		return refIDString(first)
	}
	return "", false
}

// requestIDs applies the request-id rules to attrs and returns the caller's
// request id (x_request_id) the item carries after them, "" if none.
func (n *refNormalizer) requestIDs(attrs pcommon.Map, mask uint32, st *Stats) (xrid string, changed bool) {
	if mask&refHasXRID != 0 {
		v, _ := attrs.Get(dynamo.XRequestID)
		if s, ok := refIDString(v); ok {
			xrid = s
			if v.Type() != pcommon.ValueTypeStr {
				v.SetStr(s)
				changed = true
			}
		} else if v.Type() != pcommon.ValueTypeStr || v.Str() != "" {
			st.UnexpectedType++
		}
	}
	if mask&refHasAlias != 0 {
		for _, a := range n.aliases {
			v, ok := attrs.Get(a)
			if !ok {
				continue
			}
			s, valid := refIDString(v)
			if !valid {
				// Left in place, under its own key: nothing is lost.
				st.UnexpectedType++
				continue
			}
			if xrid == "" {
				xrid = s
				attrs.PutStr(dynamo.XRequestID, s)
				changed = true
			}
			if n.s.RemoveAliases {
				attrs.Remove(a)
				changed = true
			}
		}
	}
	if mask&refHasDynamoRID != 0 {
		v, _ := attrs.Get(dynamo.DynamoRequestID)
		uuid, valid := refIDString(v)
		if !valid {
			st.UnexpectedType++
			return xrid, changed
		}
		if mask&refHasRID != 0 {
			rv, _ := attrs.Get(dynamo.RequestID)
			if cur, ok := refIDString(rv); !ok || cur != uuid {
				// request_id next to x_dynamo_request_id is the internal
				// context id (mid version's client_request and route spans).
				ctx := pcommon.NewValueEmpty()
				rv.CopyTo(ctx)
				ctx.CopyTo(attrs.PutEmpty(dynamo.ContextID))
				attrs.PutStr(dynamo.RequestID, uuid)
				changed = true
			}
		} else {
			attrs.PutStr(dynamo.RequestID, uuid)
			changed = true
		}
		if n.s.RemoveAliases {
			attrs.Remove(dynamo.DynamoRequestID)
			changed = true
		}
	}
	return xrid, changed
}

// refResourceState carries what is known about one resource while its items are
// normalized: the service name and the component identity, and whether an
// item's component field is still needed to complete it.
type refResourceState struct {
	Service  string
	identity dynamo.Identity
	preset   bool // the resource already had dynamo.component
	hint     dynamo.Identity
}

// BeginResource reads the resource's service name and derives its identity.
func (n *refNormalizer) BeginResource(res pcommon.Resource) refResourceState {
	var rs refResourceState
	attrs := res.Attributes()
	if v, ok := attrs.Get("service.name"); ok && v.Type() == pcommon.ValueTypeStr {
		rs.Service = v.Str()
	}
	if !n.s.Components {
		rs.preset = true
		return rs
	}
	if v, ok := attrs.Get(dynamo.ComponentAttribute); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
		rs.preset = true
		return rs
	}
	rs.identity = n.idents.get(rs.Service)
	return rs
}

func (rs *refResourceState) needsHint() bool {
	return !rs.preset && (rs.identity.Component == "" || (rs.identity.Component == dynamo.ComponentWorker && rs.identity.Role == "")) &&
		(rs.hint.Component == "" || rs.hint.Role == "")
}

// EndResource writes dynamo.component and dynamo.role on the resource when
// they are known and not already set. It reports whether it changed anything.
func (n *refNormalizer) EndResource(rs *refResourceState, res pcommon.Resource) bool {
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
	attrs.PutStr(dynamo.ComponentAttribute, id.Component)
	if id.Role != "" {
		if _, ok := attrs.Get(dynamo.RoleAttribute); !ok {
			attrs.PutStr(dynamo.RoleAttribute, id.Role)
		}
	}
	return true
}

// isWorkerSpan reports whether a span's component field describes the
// component that emitted it: the worker's own spans. (A caller-side span may
// name the component it calls.)
func refIsWorkerSpan(name string) bool {
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
func refWorkerLogLine(attrs pcommon.Map, mask uint32) bool {
	if mask&refHasSpanNameField == 0 {
		return true
	}
	v, ok := attrs.Get(dynamo.SpanNameField)
	return ok && v.Type() == pcommon.ValueTypeStr && refIsWorkerSpan(v.Str())
}

// learnHint takes the component and role from a worker span's or line's
// component and disagg_role fields.
func (n *refNormalizer) learnHint(rs *refResourceState, attrs pcommon.Map, mask uint32) {
	if mask&refHasComponent != 0 && rs.hint.Component == "" {
		if v, ok := attrs.Get(dynamo.ComponentField); ok && v.Type() == pcommon.ValueTypeStr {
			h := dynamo.IdentityFromComponentField(v.Str())
			rs.hint.Component = h.Component
			if rs.hint.Role == "" {
				rs.hint.Role = h.Role
			}
		}
	}
	if mask&refHasDisaggRole != 0 && rs.hint.Role == "" {
		if v, ok := attrs.Get(dynamo.DisaggRoleField); ok && v.Type() == pcommon.ValueTypeStr {
			rs.hint.Role = dynamo.RoleFromDisaggRole(v.Str())
			if rs.hint.Role != "" && rs.hint.Component == "" {
				rs.hint.Component = dynamo.ComponentWorker
			}
		}
	}
}

// Span applies every rule to one span of the resource rs describes.
func (n *refNormalizer) Span(rs *refResourceState, span ptrace.Span, st *Stats) SpanResult {
	var res SpanResult
	attrs := span.Attributes()
	mask, changed := n.scan(attrs, st)
	if n.s.RequestIDs {
		var c bool
		res.XRequestID, c = n.requestIDs(attrs, mask, st)
		changed = changed || c
	} else if mask&refHasXRID != 0 {
		v, _ := attrs.Get(dynamo.XRequestID)
		res.XRequestID, _ = refIDString(v)
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
	if n.s.Canonicalize {
		name, _ = dynamo.CanonicalSpanName(name)
	}
	if mask&(refHasComponent|refHasDisaggRole) != 0 && rs.needsHint() && refIsWorkerSpan(name) {
		n.learnHint(rs, attrs, mask)
	}
	system := false
	if name == dynamo.SpanHTTPRequest {
		if n.s.HTTPSemantics && span.ParentSpanID().IsEmpty() && n.httpSemantics(span, attrs, mask) {
			changed = true
		}
		if n.s.System != SystemKeep && refIsSystemSpan(attrs, mask) {
			system = true
			if n.s.System == SystemDrop {
				st.SystemDropped++
				res.Drop = true
				return res
			}
			name = n.s.SystemSpanName
			st.SystemRenamed++
		}
	}
	if n.s.Status && mask&(refHasStatusCode|refHasErrorType|refHasOutcome) != 0 && refSetStatus(span, attrs, mask) {
		changed = true
	}
	if n.s.Template && !system {
		if t, ok := Template(name); ok {
			name = t
			st.Templated++
		}
	}
	if n.s.MaxNamesPerSvc > 0 && !system && !dynamo.IsKnownSpanName(name) && !n.limiter.admit(rs.Service, name) {
		attrs.PutStr(dynamo.OriginalSpanNameAttribute, name)
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

func refIsSystemSpan(attrs pcommon.Map, mask uint32) bool {
	if mask&refHasURI != 0 {
		if v, ok := attrs.Get(dynamo.URIField); ok && v.Type() == pcommon.ValueTypeStr {
			return dynamo.IsSystemEndpoint(v.Str())
		}
	}
	if v, ok := attrs.Get(URLPathKey); ok && v.Type() == pcommon.ValueTypeStr {
		return dynamo.IsSystemEndpoint(v.Str())
	}
	return false
}

// httpSemantics gives the root http-request span kind SERVER and the HTTP
// semantic-convention attributes from Dynamo's method, uri and version. It
// leaves attributes that are already there alone.
func (n *refNormalizer) httpSemantics(span ptrace.Span, attrs pcommon.Map, mask uint32) bool {
	changed := false
	if k := span.Kind(); k == ptrace.SpanKindUnspecified || k == ptrace.SpanKindInternal {
		span.SetKind(ptrace.SpanKindServer)
		changed = true
	}
	if mask&refHasMethod != 0 {
		if _, ok := attrs.Get(HTTPRequestMethodKey); !ok {
			if v, ok := attrs.Get(dynamo.MethodField); ok && v.Type() == pcommon.ValueTypeStr {
				attrs.PutStr(HTTPRequestMethodKey, v.Str())
				changed = true
			}
		}
	}
	if mask&refHasURI != 0 {
		if _, ok := attrs.Get(URLPathKey); !ok {
			if v, ok := attrs.Get(dynamo.URIField); ok && v.Type() == pcommon.ValueTypeStr {
				attrs.PutStr(URLPathKey, refURIPath(v.Str()))
				changed = true
			}
		}
	}
	if mask&refHasVersion != 0 {
		if _, ok := attrs.Get(NetworkProtocolVersionKey); !ok {
			if v, ok := attrs.Get(dynamo.VersionField); ok && v.Type() == pcommon.ValueTypeStr {
				if pv := refProtocolVersion(v.Str()); pv != "" {
					attrs.PutStr(NetworkProtocolVersionKey, pv)
					changed = true
				}
			}
		}
	}
	return changed
}

// uriPath returns the path of a request URI: no query string, no fragment,
// no scheme and host.
func refURIPath(uri string) string {
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
func refProtocolVersion(v string) string {
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

// setStatus makes the span's status ERROR where Dynamo recorded a failure:
// otel.status_code=error, an error.type, or a request.outcome other than
// success and cancelled. A span that already has a status keeps it.
func refSetStatus(span ptrace.Span, attrs pcommon.Map, mask uint32) bool {
	status := span.Status()
	if status.Code() != ptrace.StatusCodeUnset {
		return false
	}
	desc, failed := "", false
	if mask&refHasOutcome != 0 {
		if v, ok := attrs.Get(dynamo.OutcomeField); ok {
			o := v.AsString()
			if o != "" && !strings.EqualFold(o, dynamo.OutcomeSuccess) && !strings.EqualFold(o, dynamo.OutcomeCancelled) {
				desc, failed = o, true
			}
		}
	}
	if mask&refHasErrorType != 0 {
		if v, ok := attrs.Get(dynamo.ErrorTypeField); ok {
			failed = true
			if desc == "" {
				desc = v.AsString()
			}
		}
	}
	if mask&refHasStatusCode != 0 {
		if v, ok := attrs.Get(dynamo.OtelStatusCodeField); ok && strings.EqualFold(v.AsString(), "error") {
			failed = true
			if desc == "" {
				if d, ok := attrs.Get(dynamo.OtelStatusDescriptionField); ok {
					desc = d.AsString()
				}
			}
		}
	}
	if !failed {
		return false
	}
	status.SetCode(ptrace.StatusCodeError)
	status.SetMessage(desc)
	return true
}

// LogRecord applies the request-id, numeric-field and component rules to one
// log record, and spells its JSONL span_name field canonically. A record without a trace context that carries Dynamo's JSONL
// trace_id and span_id fields gets them as its trace context.
func (n *refNormalizer) LogRecord(rs *refResourceState, lr plog.LogRecord, st *Stats) LogResult {
	var res LogResult
	attrs := lr.Attributes()
	mask, changed := n.scan(attrs, st)
	if mask&(refHasComponent|refHasDisaggRole) != 0 && rs.needsHint() && refWorkerLogLine(attrs, mask) {
		n.learnHint(rs, attrs, mask)
	}
	if n.s.RequestIDs {
		var c bool
		res.XRequestID, c = n.requestIDs(attrs, mask, st)
		changed = changed || c
	} else if mask&refHasXRID != 0 {
		v, _ := attrs.Get(dynamo.XRequestID)
		res.XRequestID, _ = refIDString(v)
	}
	if n.s.Canonicalize && mask&refHasSpanNameField != 0 {
		// JSONL lines name their span: spell it as the span is spelled.
		if v, ok := attrs.Get(dynamo.SpanNameField); ok && v.Type() == pcommon.ValueTypeStr {
			if c, ok := dynamo.CanonicalSpanName(v.Str()); ok {
				v.SetStr(c)
				changed = true
			}
		}
	}
	if mask&refHasTraceIDField != 0 && lr.TraceID().IsEmpty() {
		if tid, ok := refTraceIDField(attrs); ok {
			lr.SetTraceID(tid)
			if mask&refHasSpanIDField != 0 {
				if sid, ok := refSpanIDField(attrs); ok {
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
func refTraceIDField(attrs pcommon.Map) (pcommon.TraceID, bool) {
	var tid pcommon.TraceID
	v, ok := attrs.Get(dynamo.TraceIDField)
	if !ok || v.Type() != pcommon.ValueTypeStr || len(v.Str()) != 32 {
		return tid, false
	}
	if _, err := hex.Decode(tid[:], []byte(v.Str())); err != nil || tid.IsEmpty() {
		return pcommon.TraceID{}, false
	}
	return tid, true
}

func refSpanIDField(attrs pcommon.Map) (pcommon.SpanID, bool) {
	var sid pcommon.SpanID
	v, ok := attrs.Get(dynamo.SpanIDField)
	if !ok || v.Type() != pcommon.ValueTypeStr || len(v.Str()) != 16 {
		return sid, false
	}
	if _, err := hex.Decode(sid[:], []byte(v.Str())); err != nil || sid.IsEmpty() {
		return pcommon.SpanID{}, false
	}
	return sid, true
}
