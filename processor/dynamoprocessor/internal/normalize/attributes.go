package normalize

import (
	"math"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
)

// Slots of the keys the rules read: scan keeps the value of each one it
// finds, so that the rules read them without another look-up (each
// pcommon.Map.Get is a linear search).
const (
	sXRID = iota
	sDynamoRID
	sRID
	sMethod
	sURI
	sVersion
	sStatusCode
	sErrorType
	sOutcome
	sComponent
	sDisaggRole
	sTraceIDField
	sSpanIDField
	sSpanNameField
	// scan takes the keys above for nothing else, even if they are
	// configured as request-id aliases or numeric fields; the keys below may
	// also be either.
	sContextID
	sHTTPMethod
	sURLPath
	sNetVersion
	sStatusDesc
	numSlots
)

// slotKeys are the keys of the slots.
var slotKeys = [numSlots]string{
	sXRID:          dynamo.XRequestID,
	sDynamoRID:     dynamo.DynamoRequestID,
	sRID:           dynamo.RequestID,
	sMethod:        dynamo.MethodField,
	sURI:           dynamo.URIField,
	sVersion:       dynamo.VersionField,
	sStatusCode:    dynamo.OtelStatusCodeField,
	sErrorType:     dynamo.ErrorTypeField,
	sOutcome:       dynamo.OutcomeField,
	sComponent:     dynamo.ComponentField,
	sDisaggRole:    dynamo.DisaggRoleField,
	sTraceIDField:  dynamo.TraceIDField,
	sSpanIDField:   dynamo.SpanIDField,
	sSpanNameField: dynamo.SpanNameField,
	sContextID:     dynamo.ContextID,
	sHTTPMethod:    HTTPRequestMethodKey,
	sURLPath:       URLPathKey,
	sNetVersion:    NetworkProtocolVersionKey,
	sStatusDesc:    dynamo.OtelStatusDescriptionField,
}

// slotOf returns the slot of key k, -1 if it has none.
func slotOf(k string) int {
	switch k {
	case dynamo.XRequestID:
		return sXRID
	case dynamo.DynamoRequestID:
		return sDynamoRID
	case dynamo.RequestID:
		return sRID
	case dynamo.MethodField:
		return sMethod
	case dynamo.URIField:
		return sURI
	case dynamo.VersionField:
		return sVersion
	case dynamo.OtelStatusCodeField:
		return sStatusCode
	case dynamo.ErrorTypeField:
		return sErrorType
	case dynamo.OutcomeField:
		return sOutcome
	case dynamo.ComponentField:
		return sComponent
	case dynamo.DisaggRoleField:
		return sDisaggRole
	case dynamo.TraceIDField:
		return sTraceIDField
	case dynamo.SpanIDField:
		return sSpanIDField
	case dynamo.SpanNameField:
		return sSpanNameField
	case dynamo.ContextID:
		return sContextID
	case HTTPRequestMethodKey:
		return sHTTPMethod
	case URLPathKey:
		return sURLPath
	case NetworkProtocolVersionKey:
		return sNetVersion
	case dynamo.OtelStatusDescriptionField:
		return sStatusDesc
	}
	return -1
}

// Keys of interest found in one attribute map, as bits: one per slot, and
// one for any request-id alias.
const (
	hasXRID          uint32 = 1 << sXRID
	hasDynamoRID     uint32 = 1 << sDynamoRID
	hasRID           uint32 = 1 << sRID
	hasMethod        uint32 = 1 << sMethod
	hasURI           uint32 = 1 << sURI
	hasVersion       uint32 = 1 << sVersion
	hasStatusCode    uint32 = 1 << sStatusCode
	hasErrorType     uint32 = 1 << sErrorType
	hasOutcome       uint32 = 1 << sOutcome
	hasComponent     uint32 = 1 << sComponent
	hasDisaggRole    uint32 = 1 << sDisaggRole
	hasTraceIDField  uint32 = 1 << sTraceIDField
	hasSpanIDField   uint32 = 1 << sSpanIDField
	hasSpanNameField uint32 = 1 << sSpanNameField
	hasContextID     uint32 = 1 << sContextID
	hasHTTPMethod    uint32 = 1 << sHTTPMethod
	hasURLPath       uint32 = 1 << sURLPath
	hasNetVersion    uint32 = 1 << sNetVersion
	hasStatusDesc    uint32 = 1 << sStatusDesc
	hasAlias         uint32 = 1 << 31
)

// maxAliases is the number of request-id aliases whose values scan keeps.
const maxAliases = 8

// found is what scan found in one attribute map: which keys of interest are
// there and their values (the first occurrence of each, the one Get finds).
// The values stay valid until an attribute is added or removed; the rules
// that do so set stale, and fresh takes the values again.
//
// Only the values whose bit is set (in mask for v, in aliases for av) are
// the map's: a found is reused for every item of a resource (reset), and
// the value arrays, about 430 bytes, are not cleared in between. Clearing
// them was a tenth of the processor's time per log record. Every read of a
// value therefore checks its bit first.
type found struct {
	attrs   pcommon.Map
	mask    uint32
	aliases uint32 // bit i: n.aliases[i] is present (with fastAliases)
	// byKey: the request-id rules look their keys up one by one, as they
	// did before scan kept values: the aliases are not fastAliases, a key
	// of interest is repeated, or an alias beyond maxAliases is present.
	byKey bool
	stale bool
	v     [numSlots]pcommon.Value
	av    [maxAliases]pcommon.Value
}

// reset makes f describe attrs, with nothing found yet.
func (f *found) reset(attrs pcommon.Map) {
	f.attrs, f.mask, f.aliases, f.byKey, f.stale = attrs, 0, 0, false, false
}

// fresh takes the values again if an attribute was added or removed since
// they were taken.
func (f *found) fresh(n *Normalizer) {
	if f.stale {
		n.refresh(f)
	}
}

// candidate reports whether k may be a key of interest: a slot's key, a
// request-id alias or (with Numeric) a numeric field. Most keys are ruled
// out by their length and first byte alone.
func (n *Normalizer) candidate(k string) bool {
	if l := len(k); l > 0 && l < 64 {
		return n.byFirst[k[0]]&(1<<l) != 0
	}
	return n.oddKeys
}

// scan makes one pass over f.attrs: it converts the numeric fields in place
// and records which keys of interest are present, with their values. It does
// not allocate.
func (n *Normalizer) scan(f *found, st *Stats) (changed bool) {
	for k, v := range f.attrs.All() {
		if !n.candidate(k) {
			continue
		}
		if s := slotOf(k); s >= 0 {
			bit := uint32(1) << s
			if f.mask&bit != 0 {
				f.byKey = true
			} else {
				f.mask |= bit
				f.v[s] = v
			}
			if s < sContextID {
				continue
			}
		}
		if i := n.aliasIndex(k); i >= 0 {
			f.mask |= hasAlias
			if i >= maxAliases {
				f.byKey = true
				continue
			}
			bit := uint32(1) << i
			if f.aliases&bit != 0 {
				f.byKey = true
			} else {
				f.aliases |= bit
				f.av[i] = v
			}
			continue
		}
		if n.s.Numeric {
			if kind, ok := n.numberKind(k); ok && n.convertNumber(v, kind, st) {
				changed = true
			}
		}
	}
	if !n.fastAliases {
		f.byKey = true
	}
	return changed
}

// refresh takes the values of the slots again, after attributes were added
// or removed.
func (n *Normalizer) refresh(f *found) {
	f.mask &= hasAlias
	for k, v := range f.attrs.All() {
		if !n.candidate(k) {
			continue
		}
		if s := slotOf(k); s >= 0 && f.mask&(1<<s) == 0 {
			f.mask |= 1 << s
			f.v[s] = v
		}
	}
	f.stale = false
}

// aliasIndex returns the index of k in n.aliases, -1 if k is not an alias.
func (n *Normalizer) aliasIndex(k string) int {
	for i, a := range n.aliases {
		if k == a {
			return i
		}
	}
	return -1
}

// numField is a numeric field and the type it becomes.
type numField struct {
	key  string
	kind dynamo.NumberKind
}

// numberKind returns the type numeric field k becomes, and false if k is not
// one. The fields are grouped by first byte: a few string comparisons
// instead of a map look-up (a hash of the key).
func (n *Normalizer) numberKind(k string) (dynamo.NumberKind, bool) {
	if k == "" {
		return 0, false // scan never converts an empty key
	}
	for _, f := range n.numByFirst[k[0]] {
		if f.key == k {
			return f.kind, true
		}
	}
	return 0, false
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
		if i, ok := parseShortDecimal(s); ok {
			v.SetInt(i)
			return true
		}
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

// parseShortDecimal parses what numeric fields hold, 1 to 19 decimal digits
// without a sign, in a plain loop; ok is false for anything else and for
// values above int64's range, which strconv.ParseInt then reads (and
// refuses) with all its checks. Token counts and instance ids are converted
// on every span that carries them, and ParseInt's general path was most of
// the conversion's time.
func parseShortDecimal(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 19 {
		return 0, false
	}
	var n uint64 // 19 digits fit
	for i := 0; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		n = n*10 + uint64(d)
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
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

// ownXRID reads the item's own x_request_id value: an id written as a
// number becomes a string; a value that is no id is counted.
func ownXRID(v pcommon.Value, st *Stats) (xrid string, changed bool) {
	if s, ok := idString(v); ok {
		if v.Type() != pcommon.ValueTypeStr {
			v.SetStr(s)
			changed = true
		}
		return s, changed
	}
	if v.Type() != pcommon.ValueTypeStr || v.Str() != "" {
		st.UnexpectedType++
	}
	return "", false
}

// requestIDs applies the request-id rules to f.attrs and returns the
// caller's request id (x_request_id) the item carries after them, "" if
// none.
func (n *Normalizer) requestIDs(f *found, st *Stats) (xrid string, changed bool) {
	if f.byKey {
		return n.requestIDsByKey(f, st)
	}
	attrs := f.attrs
	if f.mask&hasXRID != 0 {
		xrid, changed = ownXRID(f.v[sXRID], st)
	}
	// Everything the rules below read is read before the first attribute
	// is added or removed: removing one moves another into its place.
	var uuid, cur string
	var uuidOK, curOK bool
	if f.mask&hasDynamoRID != 0 {
		uuid, uuidOK = idString(f.v[sDynamoRID])
		if uuidOK && f.mask&hasRID != 0 {
			cur, curOK = idString(f.v[sRID])
		}
	}
	if f.aliases != 0 {
		var ids [maxAliases]string
		var valid uint32
		for i := range n.aliases[:min(len(n.aliases), maxAliases)] {
			if f.aliases&(1<<i) != 0 {
				var ok bool
				if ids[i], ok = idString(f.av[i]); ok {
					valid |= 1 << i
				}
			}
		}
		for i, a := range n.aliases[:min(len(n.aliases), maxAliases)] {
			if f.aliases&(1<<i) == 0 {
				continue
			}
			if valid&(1<<i) == 0 {
				// Left in place, under its own key: nothing is lost.
				st.UnexpectedType++
				continue
			}
			if xrid == "" {
				xrid = ids[i]
				if f.mask&hasXRID != 0 {
					// Nothing was added or removed yet: the first valid
					// alias is the first to change the map.
					f.v[sXRID].SetStr(xrid)
				} else {
					attrs.PutStr(dynamo.XRequestID, xrid)
					f.stale = true
				}
				changed = true
			}
			if n.s.RemoveAliases {
				attrs.Remove(a)
				f.stale = true
				changed = true
			}
		}
	}
	if f.mask&hasDynamoRID != 0 {
		if !uuidOK {
			st.UnexpectedType++
			return xrid, changed
		}
		if f.mask&hasRID != 0 {
			if !curOK || cur != uuid {
				// request_id next to x_dynamo_request_id is the internal
				// context id (mid version's client_request and route spans):
				// its value moves to dynamo.context_id.
				var ctx, rv pcommon.Value
				if !f.stale && f.mask&hasContextID != 0 {
					ctx, rv = f.v[sContextID], f.v[sRID]
				} else {
					ctx = attrs.PutEmpty(dynamo.ContextID)
					rv, _ = attrs.Get(dynamo.RequestID)
					f.stale = true
				}
				rv.MoveTo(ctx)
				rv.SetStr(uuid)
				changed = true
			}
		} else {
			attrs.PutStr(dynamo.RequestID, uuid)
			f.stale = true
			changed = true
		}
		if n.s.RemoveAliases {
			attrs.Remove(dynamo.DynamoRequestID)
			f.stale = true
			changed = true
		}
	}
	return xrid, changed
}

// requestIDsByKey is requestIDs looking every key up when it is needed: for
// aliases that are also keys of interest or repeat each other, and for maps
// that repeat a key (removing an attribute may then change which of the
// repeats Get finds).
func (n *Normalizer) requestIDsByKey(f *found, st *Stats) (xrid string, changed bool) {
	attrs, mask := f.attrs, f.mask
	// Whatever happens below, the values are taken again before they are
	// read.
	f.stale = true
	if mask&hasXRID != 0 {
		v, _ := attrs.Get(dynamo.XRequestID)
		xrid, changed = ownXRID(v, st)
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
