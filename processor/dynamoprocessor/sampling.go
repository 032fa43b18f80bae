package dynamoprocessor // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
)

// A log record of a trace that is not sampled is not held: the trace's spans
// are not exported, so no root span comes to teach its id. OTLP gives the
// sampled bit in the record's flags, but a flags field of 0 means "not
// sampled" only from an SDK that sets the flags at all; others leave it 0
// on every record. So a record counts as not sampled when its sampled bit is
// clear and either its source, the service and instrumentation scope it
// came from, has sent records with the bit set and no trace_flags field
// (flags an SDK set: flagSources), or the record says so itself (a JSONL
// line's trace_flags field, which the jsonl receiver keeps as an
// attribute). The scope keeps apart the sources of one service: its SDK's
// records and the JSONL lines a jsonl receiver reads from its stderr, whose
// field speaks for each line only (older versions write none).

// maxFlagSources bounds the sources remembered as setting trace flags;
// records of sources beyond it are held as before.
const maxFlagSources = 10000

// flagSource is a service.name and an instrumentation scope name.
type flagSource struct{ service, scope string }

// flagSources remembers the sources whose log records have had the sampled
// bit set. It is safe for concurrent use: readers load the current map
// without a lock; a writer replaces it with a copy that has one more source
// (the sources of a fleet are few, and each is added once).
//
// Nothing is looked up until a record with the bit clear has been seen
// (active): traffic whose traces are all sampled pays one flag read per
// scope.
type flagSources struct {
	active atomic.Bool
	m      atomic.Pointer[map[flagSource]struct{}]
	mu     sync.Mutex // writers
}

func newFlagSources() *flagSources {
	s := &flagSources{}
	s.m.Store(&map[flagSource]struct{}{})
	return s
}

// note takes in what one scope of a batch (its records lrs) showed:
// whether any of its records with a trace id had the sampled bit set, and
// whether any that would wait had it clear. It reports whether the source
// is known to set the flags, so that the latter are of traces that are not
// sampled.
func (s *flagSources) note(service string, scope pcommon.InstrumentationScope, lrs plog.LogRecordSlice, sampled, unsampled bool) bool {
	if unsampled {
		if !s.active.Load() {
			s.active.Store(true)
		}
	} else if !sampled || !s.active.Load() {
		return false
	}
	src := flagSource{service, scope.Name()}
	if s.has(src) {
		return true
	}
	if sampled && setsFlags(lrs) {
		s.add(src)
		return true
	}
	return false
}

// setsFlags reports whether a record of lrs with a trace id has the sampled
// bit set without a trace_flags field: flags an SDK set. A JSONL line's
// trace_flags field speaks for that line only: the same source may write
// lines of versions without it, whose flags are 0 whatever the sampling.
func setsFlags(lrs plog.LogRecordSlice) bool {
	for i := 0; i < lrs.Len(); i++ {
		lr := lrs.At(i)
		if lr.Flags().IsSampled() && !lr.TraceID().IsEmpty() {
			if _, ok := lr.Attributes().Get(dynamo.TraceFlagsField); !ok {
				return true
			}
		}
	}
	return false
}

// has reports whether src's records have set the sampled bit.
func (s *flagSources) has(src flagSource) bool {
	_, ok := (*s.m.Load())[src]
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
	old := *s.m.Load()
	if _, ok := old[src]; ok || len(old) >= maxFlagSources {
		return
	}
	m := make(map[flagSource]struct{}, len(old)+1)
	for k := range old {
		m[k] = struct{}{}
	}
	m[flagSource{strings.Clone(src.service), strings.Clone(src.scope)}] = struct{}{}
	s.m.Store(&m)
}

// notSampled reports whether lr, a record with a trace id and the sampled
// bit clear, is of a trace that is not sampled: its source sets the flags
// (sourceSetsFlags: an SDK's records, which carry no trace_flags field), or
// its trace_flags field (a JSONL line's) says so, two hex digits with the
// sampled bit clear.
func notSampled(lr plog.LogRecord, sourceSetsFlags bool) bool {
	if sourceSetsFlags {
		return true
	}
	v, ok := lr.Attributes().Get(dynamo.TraceFlagsField)
	if !ok || v.Type() != pcommon.ValueTypeStr {
		return false
	}
	str := v.Str()
	if len(str) != 2 {
		return false
	}
	flags, err := strconv.ParseUint(str, 16, 8)
	return err == nil && flags&1 == 0
}
