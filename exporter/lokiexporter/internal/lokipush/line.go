package lokipush

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// jsonLine writes {"body": <body>, <name>: <value>, ...} with the body and the
// attributes in their JSON types; absent attributes are left out.
func jsonLine(mem *arena, lr plog.LogRecord, resAttrs pcommon.Map, fields []Field) string {
	b := append(mem.scratch[:0], `{"body":`...)
	b = appendJSONValue(b, lr.Body())
	for _, f := range fields {
		v, ok := lineField(lr, resAttrs, f.Attribute)
		if !ok {
			continue
		}
		b = append(b, ',')
		b = appendJSONString(b, f.Name)
		b = append(b, ':')
		b = appendJSONValue(b, v)
	}
	b = append(b, '}')
	mem.scratch = b
	return mem.str(b)
}

// logfmtLine writes body=<body> <name>=<value> ..., quoting values that need
// it; absent attributes are left out.
func logfmtLine(mem *arena, lr plog.LogRecord, resAttrs pcommon.Map, fields []Field) string {
	b := append(mem.scratch[:0], "body="...)
	b = appendLogfmtValue(b, bodyText(lr.Body()))
	for _, f := range fields {
		v, ok := lineField(lr, resAttrs, f.Attribute)
		if !ok {
			continue
		}
		b = append(b, ' ')
		b = append(b, f.Name...)
		b = append(b, '=')
		b = appendLogfmtValue(b, bodyText(v))
	}
	mem.scratch = b
	return mem.str(b)
}

// lineField is fieldValue with trace_id and span_id taken from the trace
// context first.
func lineField(lr plog.LogRecord, resAttrs pcommon.Map, key string) (pcommon.Value, bool) {
	switch key {
	case "trace_id", "span_id":
		if s := fieldString(lr, resAttrs, key); s != "" {
			return pcommon.NewValueStr(s), true
		}
		return pcommon.Value{}, false
	}
	return fieldValue(lr, resAttrs, key)
}

func appendLogfmtValue(b []byte, s string) []byte {
	if s == "" {
		return append(b, `""`...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == '=' || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return strconv.AppendQuote(b, s)
		}
	}
	return append(b, s...)
}

func appendJSONValue(b []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendJSONString(b, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(b, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			// JSON has no NaN or infinity: write them as strings.
			return appendJSONString(b, strconv.FormatFloat(f, 'g', -1, 64))
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(b, v.Bool())
	case pcommon.ValueTypeBytes:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.Bytes().AsRaw())
		return append(b, '"')
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		if raw, err := json.Marshal(v.AsRaw()); err == nil {
			return append(b, raw...)
		}
		// A map holding NaN or infinity: keep it, as a string.
		return appendJSONString(b, v.AsString())
	default:
		return append(b, "null"...)
	}
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
