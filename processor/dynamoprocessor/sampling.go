package dynamoprocessor // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"

import (
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
)

// A log record of a trace that is not sampled is not held: the trace's spans
// are not exported, so no root span comes to teach its id. OTLP gives the
// sampled bit in the record's flags, but a flags field of 0 means "not
// sampled" only from an SDK that sets the flags at all; others leave it 0
// on every record. So a record counts as not sampled when its sampled bit is
// clear and either the record says so explicitly (a JSONL line's
// trace_flags field, which the jsonl receiver keeps as an attribute) or its
// source, the service and instrumentation scope it came from, has sent
// records with the bit set (flagSources). The scope keeps apart the
// sources of one service: its SDK's records and, say, the JSONL lines a
// jsonl receiver reads from its stderr (of versions without trace_flags).

// maxFlagSources bounds the sources remembered as setting trace flags;
// records of sources beyond it are held as before.
const maxFlagSources = 10000

// flagSource is a service.name and an instrumentation scope name.
type flagSource struct{ service, scope string }

// flagSources remembers the sources whose log records have had the sampled
// bit set. It is safe for concurrent use.
type flagSources struct {
	mu sync.RWMutex
	m  map[flagSource]struct{}
}

func newFlagSources() *flagSources { return &flagSources{m: map[flagSource]struct{}{}} }

// has reports whether src's records have set the sampled bit.
func (s *flagSources) has(src flagSource) bool {
	s.mu.RLock()
	_, ok := s.m[src]
	s.mu.RUnlock()
	return ok
}

// add remembers that src's records set the sampled bit. A resource without
// a service name is not remembered: unrelated SDKs share that name.
func (s *flagSources) add(src flagSource) {
	if src.service == "" || s.has(src) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) < maxFlagSources {
		s.m[flagSource{strings.Clone(src.service), strings.Clone(src.scope)}] = struct{}{}
	}
}

// explicitlyUnsampled reports whether lr carries a trace_flags attribute of
// two hex digits with the sampled bit clear (a JSONL line of the new
// version outside a sampled trace).
func explicitlyUnsampled(lr plog.LogRecord) bool {
	v, ok := lr.Attributes().Get(dynamo.TraceFlagsField)
	if !ok || v.Type() != pcommon.ValueTypeStr {
		return false
	}
	str := v.Str()
	if len(str) != 2 {
		return false
	}
	lo, ok := hexDigit(str[1])
	if _, hiOK := hexDigit(str[0]); !ok || !hiOK {
		return false
	}
	return lo&1 == 0
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
