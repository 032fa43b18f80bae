package lokipush

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"go.opentelemetry.io/collector/pdata/plog"
)

// FuzzEncode feeds arbitrary label values, bodies, severity texts and
// attributes through grouping and both encodings, and checks that what Loki
// would decode is what went in.
func FuzzEncode(f *testing.F) {
	f.Add("dynamo-frontend", "request received", "INFO", "test-trace-001", int64(1))
	f.Add("a \"b\" \\ c\n", "multi\nline\ttraceback \x00 \xff", "WARNING", "", int64(0))
	f.Add("", "", "", "é✓", int64(-5))
	f.Fuzz(func(t *testing.T, service, body, severity, requestID string, ts int64) {
		for _, format := range []LineFormat{LineText, LineJSON, LineLogfmt} {
			e, err := NewEncoder(Options{
				Labels:             defaultLabels,
				StructuredMetadata: defaultMetadata,
				LineFormat:         format,
				LineAttributes:     []Field{{Attribute: "x_request_id", Name: "x_request_id"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			ld := plog.NewLogs()
			sl := newResource(ld, map[string]any{"service.name": service})
			lr := addRecord(sl, ts, 0, body, map[string]any{"x_request_id": requestID})
			lr.SetSeverityText(severity)
			res := e.Group(ld, time.Unix(0, 1))
			if len(res.Batches) != 1 || len(res.Batches[0].Streams) != 1 {
				t.Fatalf("one record, %d batches", len(res.Batches))
			}
			s := res.Batches[0].Streams[0]

			// The label string parses back to the label pairs.
			checkLabelString(t, s)
			if format == LineJSON && !json.Valid([]byte(s.Entries[0].Line)) {
				t.Fatalf("invalid JSON line %q", s.Entries[0].Line)
			}

			body, err := EncodeProtobuf(nil, res.Batches[0].Streams)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := snappy.Decode(nil, body)
			if err != nil {
				t.Fatal(err)
			}
			var req push.PushRequest
			if err := req.Unmarshal(raw); err != nil {
				t.Fatal(err)
			}
			if req.Streams[0].Labels != s.LabelString || req.Streams[0].Entries[0].Line != s.Entries[0].Line {
				t.Fatalf("protobuf round trip changed the stream")
			}

			js := AppendJSON(nil, res.Batches[0].Streams)
			if !json.Valid(js) {
				t.Fatalf("invalid JSON body %q", js)
			}
		}
	})
}

// checkLabelString parses {a="x", b="y"} the way Loki's selector parser
// does and compares it with the stream's pairs.
func checkLabelString(t *testing.T, s *Stream) {
	t.Helper()
	rest := strings.TrimSuffix(strings.TrimPrefix(s.LabelString, "{"), "}")
	for i, l := range s.Labels {
		if i > 0 {
			rest = strings.TrimPrefix(rest, ", ")
		}
		rest = strings.TrimPrefix(rest, l.Name+"=")
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			t.Fatalf("%s: %v", s.LabelString, err)
		}
		v, _ := strconv.Unquote(q)
		if v != l.Value {
			t.Fatalf("%s: label %s is %q, want %q", s.LabelString, l.Name, v, l.Value)
		}
		rest = rest[len(q):]
	}
	if rest != "" {
		t.Fatalf("%s: trailing %q", s.LabelString, rest)
	}
}
