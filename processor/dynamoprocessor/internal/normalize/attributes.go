package normalize

import (
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
)

// Keys of interest found in one attribute map, as bits.
const (
	hasXRID uint32 = 1 << iota
	hasAlias
	hasDynamoRID
	hasRID
	hasMethod
	hasURI
	hasVersion
	hasStatusCode
	hasErrorType
	hasOutcome
	hasComponent
	hasDisaggRole
	hasTraceIDField
	hasSpanIDField
	hasSpanNameField
)

// scan makes one pass over attrs: it converts the numeric fields in place and
// returns which keys of interest are present. It does not allocate.
func (n *Normalizer) scan(attrs pcommon.Map, st *Stats) (mask uint32, changed bool) {
	for k, v := range attrs.All() {
		switch k {
		case dynamo.XRequestID:
			mask |= hasXRID
			continue
		case dynamo.DynamoRequestID:
			mask |= hasDynamoRID
			continue
		case dynamo.RequestID:
			mask |= hasRID
			continue
		case dynamo.MethodField:
			mask |= hasMethod
			continue
		case dynamo.URIField:
			mask |= hasURI
			continue
		case dynamo.VersionField:
			mask |= hasVersion
			continue
		case dynamo.OtelStatusCodeField:
			mask |= hasStatusCode
			continue
		case dynamo.ErrorTypeField:
			mask |= hasErrorType
			continue
		case dynamo.OutcomeField:
			mask |= hasOutcome
			continue
		case dynamo.ComponentField:
			mask |= hasComponent
			continue
		case dynamo.DisaggRoleField:
			mask |= hasDisaggRole
			continue
		case dynamo.TraceIDField:
			mask |= hasTraceIDField
			continue
		case dynamo.SpanIDField:
			mask |= hasSpanIDField
			continue
		case dynamo.SpanNameField:
			mask |= hasSpanNameField
			continue
		}
		if n.isAlias(k) {
			mask |= hasAlias
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

func (n *Normalizer) isAlias(k string) bool {
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
func (n *Normalizer) convertNumber(v pcommon.Value, kind dynamo.NumberKind, st *Stats) bool {
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
func idString(v pcommon.Value) (string, bool) {
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
		return idString(first)
	}
	return "", false
}

// requestIDs applies the request-id rules to attrs and returns the caller's
// request id (x_request_id) the item carries after them, "" if none.
func (n *Normalizer) requestIDs(attrs pcommon.Map, mask uint32, st *Stats) (xrid string, changed bool) {
	if mask&hasXRID != 0 {
		v, _ := attrs.Get(dynamo.XRequestID)
		if s, ok := idString(v); ok {
			xrid = s
			if v.Type() != pcommon.ValueTypeStr {
				v.SetStr(s)
				changed = true
			}
		} else if v.Type() != pcommon.ValueTypeStr || v.Str() != "" {
			st.UnexpectedType++
		}
	}
	if mask&hasAlias != 0 {
		for _, a := range n.aliases {
			v, ok := attrs.Get(a)
			if !ok {
				continue
			}
			s, valid := idString(v)
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
	if mask&hasDynamoRID != 0 {
		v, _ := attrs.Get(dynamo.DynamoRequestID)
		uuid, valid := idString(v)
		if !valid {
			st.UnexpectedType++
			return xrid, changed
		}
		if mask&hasRID != 0 {
			rv, _ := attrs.Get(dynamo.RequestID)
			if cur, ok := idString(rv); !ok || cur != uuid {
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
