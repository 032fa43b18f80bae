package jsonlreceiver // import "github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver"

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/ackstore"
	"github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/metadata"
	"github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/parser"
)

// Attribute names the receiver adds to records.
const (
	attrLogFilePath = "log.file.path"
	attrLogIOStream = "log.iostream"
	attrTruncated   = "jsonl.truncated"
)

const (
	// Back-off between offers of a batch the next consumer refused with a
	// retryable error.
	initialBackoff = 50 * time.Millisecond
	maxBackoff     = 5 * time.Second

	// stateIdleTimeout is how long the state of a file nothing was read from
	// is kept.
	stateIdleTimeout = 10 * time.Minute
)

// partialFlushTimeout is how long a partial container line waits for its
// continuation before it is sent on its own, and housekeeping how often
// that is checked (variables for tests).
var (
	partialFlushTimeout = 5 * time.Second
	housekeeping        = time.Second
)

var errShuttingDown = errors.New("receiver is shutting down; batch not delivered")

// tailer turns the line batches fileconsumer hands over into log records,
// delivers them and acknowledges their position.
type tailer struct {
	ctx       context.Context
	cfg       *Config
	logger    *zap.Logger
	next      consumer.Logs
	telemetry *metadata.TelemetryBuilder
	obsrecv   *receiverhelper.ObsReport
	acks      *ackstore.Store
	maxLine   int
	format    parser.Format

	parsers sync.Pool

	mu    sync.Mutex
	files map[string]*fileState
}

// fileState is what the tailer remembers about the file being read at a
// path between batches.
type fileState struct {
	mu       sync.Mutex
	path     string
	resource pcommon.Resource
	format   parser.Format
	lastUsed time.Time

	// next is the offset after the last line handed over; a batch that does
	// not start there comes from another file at this path (rotation) or
	// from a reader restarted elsewhere.
	next int64
	// lastTruncated is set when the last line handed over was cut at
	// max_line_size (fileconsumer then skips its remainder).
	lastTruncated bool
	// fp is the fingerprint of the file, known once verified against the
	// bytes of a batch.
	fp []byte

	dockerBuf []byte

	// A partial container line waiting for its continuation.
	pending          bool
	pendingBuf       []byte
	pendingStart     int64
	pendingEnd       int64
	pendingTime      int64
	pendingStream    string
	pendingTruncated bool
	pendingSince     time.Time
}

func newTailer(ctx context.Context, cfg *Config, set receiver.Settings, next consumer.Logs,
	tb *metadata.TelemetryBuilder, obsrecv *receiverhelper.ObsReport, acks *ackstore.Store,
) *tailer {
	t := &tailer{
		ctx:       ctx,
		cfg:       cfg,
		logger:    set.Logger,
		next:      next,
		telemetry: tb,
		obsrecv:   obsrecv,
		acks:      acks,
		maxLine:   int(cfg.MaxLineSize),
		files:     map[string]*fileState{},
	}
	t.parsers.New = func() any { return new(parser.Parser) }
	switch cfg.Format {
	case FormatRaw:
		t.format = parser.FormatRaw
	case FormatCRI:
		t.format = parser.FormatCRI
	case FormatDocker:
		t.format = parser.FormatDocker
	default:
		t.format = parser.FormatUnknown
	}
	return t
}

// splitLines splits on '\n' only and keeps every other byte ('\r' is
// dropped by the parser, not here, so CRI partial lines stay exact). An
// unterminated last line is handed over by fileconsumer's flush timer.
func splitLines(data []byte, _ bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	return 0, nil, nil
}

func (t *tailer) state(path string) *fileState {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.files[path]
	if st == nil {
		st = &fileState{path: path, next: -1, format: t.format, resource: t.resourceFor(path)}
		t.files[path] = st
	}
	st.lastUsed = time.Now()
	return st
}

// resourceFor builds the resource of the records read from path.
func (t *tailer) resourceFor(path string) pcommon.Resource {
	res := pcommon.NewResource()
	attrs := res.Attributes()
	for k, v := range t.cfg.Resource {
		attrs.PutStr(k, v)
	}
	attrs.PutStr("service.name", t.cfg.ServiceName)
	if k, ok := podLogPath(path); ok {
		attrs.PutStr("k8s.namespace.name", k.namespace)
		attrs.PutStr("k8s.pod.name", k.pod)
		attrs.PutStr("k8s.pod.uid", k.uid)
		attrs.PutStr("k8s.container.name", k.container)
	}
	return res
}

type podRef struct{ namespace, pod, uid, container string }

// podLogPath reads the pod and container from a kubelet pod-log path,
// …/pods/<namespace>_<pod>_<uid>/<container>/<n>.log.
func podLogPath(path string) (podRef, bool) {
	containerDir := filepath.Dir(path)
	podDir := filepath.Dir(containerDir)
	if filepath.Base(filepath.Dir(podDir)) != "pods" {
		return podRef{}, false
	}
	parts := strings.Split(filepath.Base(podDir), "_")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return podRef{}, false
	}
	return podRef{namespace: parts[0], pod: parts[1], uid: parts[2], container: filepath.Base(containerDir)}, true
}

// emit is fileconsumer's callback. It returns only once the batch was
// accepted, refused permanently, or the receiver is shutting down
// (fileconsumer advances its offset whatever is returned; the acknowledged
// position is what a restart resumes from).
//
// Each token is a buffer of its own: fileconsumer copies every line out of
// its read buffer (while decoding it, even with the nop encoding) and never
// writes it again. So a record may keep long values as views of its token
// (parser.Parser.Owned) instead of copying them once more;
// TestRetainedRecordsKeepTheirLines checks this still holds.
func (t *tailer) emit(_ context.Context, tokens [][]byte, attrs map[string]any, _ int64, offsets []int64) error {
	if len(tokens) == 0 {
		return nil
	}
	path, _ := attrs[attrLogFilePath].(string)
	st := t.state(path)
	st.mu.Lock()
	defer st.mu.Unlock()

	now := time.Now()
	ld := plog.NewLogs()
	lrs := newBatch(ld, st)
	lrs.EnsureCapacity(len(tokens))
	p := t.parsers.Get().(*parser.Parser)
	defer t.parsers.Put(p)

	if st.next != offsets[0] {
		// Another file, or this one read again from elsewhere: a held
		// partial line cannot continue here.
		if st.pending {
			t.takePending(p, st, lrs, now)
		}
		st.fp = nil
		st.lastTruncated = false
		if offsets[0] == 0 {
			// A new file at this path: detect its format afresh.
			st.format = t.format
		}
	}
	prevTruncated := st.lastTruncated

	var lines, truncatedLines int64
	for i, tok := range tokens {
		lines++
		start, end := offsets[i], offsets[i+1]
		truncated := len(tok) > t.maxLine
		if truncated {
			tok = tok[:t.maxLine]
		}
		if st.format == parser.FormatUnknown {
			if isBlank(tok) {
				t.telemetry.ReceiverJsonlEmptyLines.Add(t.ctx, 1)
				continue
			}
			st.format = parser.Detect(tok)
		}
		var e parser.Entry
		ok := false
		// owned: the content is (a part of) the token, not a reused buffer.
		owned := true
		switch st.format {
		case parser.FormatCRI:
			e, ok = parser.UnwrapCRI(tok)
		case parser.FormatDocker:
			e, ok = parser.UnwrapDocker(tok, &st.dockerBuf)
			owned = !ok
		}
		if !ok {
			e = parser.Entry{Content: tok}
		}
		if e.Partial {
			if !st.pending {
				st.pending, st.pendingStart, st.pendingTime, st.pendingStream = true, start, e.Time, e.Stream
				st.pendingBuf, st.pendingTruncated, st.pendingSince = st.pendingBuf[:0], false, now
			}
			st.pendingEnd = end
			st.appendPending(e.Content, t.maxLine, truncated)
			continue
		}
		content, rtTime, stream := e.Content, e.Time, e.Stream
		if st.pending {
			st.appendPending(content, t.maxLine, truncated)
			content, truncated, rtTime, stream = st.pendingBuf, st.pendingTruncated, st.pendingTime, st.pendingStream
			st.pending, owned = false, false
		}
		if truncated {
			truncatedLines++
		}
		t.record(p, lrs, content, owned, truncated, rtTime, stream, path, now)
	}
	t.telemetry.ReceiverJsonlLinesRead.Add(t.ctx, lines)
	if truncatedLines > 0 {
		t.telemetry.ReceiverJsonlTruncatedLines.Add(t.ctx, truncatedLines)
	}
	st.next = offsets[len(tokens)]
	st.lastTruncated = len(tokens[len(tokens)-1]) > t.maxLine

	ackAt := st.next
	if st.pending {
		ackAt = st.pendingStart
	}
	if err := t.deliver(ld); err != nil {
		return err
	}
	t.ack(st, tokens, offsets, prevTruncated, ackAt)
	return nil
}

func newBatch(ld plog.Logs, st *fileState) plog.LogRecordSlice {
	rl := ld.ResourceLogs().AppendEmpty()
	st.resource.CopyTo(rl.Resource())
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	return sl.LogRecords()
}

// appendPending adds a part of a partial line, keeping at most max bytes.
func (st *fileState) appendPending(part []byte, maxLen int, truncated bool) {
	if truncated {
		st.pendingTruncated = true
	}
	room := maxLen - len(st.pendingBuf)
	if room <= 0 {
		if len(part) > 0 {
			st.pendingTruncated = true
		}
		return
	}
	if len(part) > room {
		part = part[:room]
		st.pendingTruncated = true
	}
	st.pendingBuf = append(st.pendingBuf, part...)
}

// takePending turns a held partial line into a record on its own.
func (t *tailer) takePending(p *parser.Parser, st *fileState, lrs plog.LogRecordSlice, now time.Time) {
	st.pending = false
	if st.pendingTruncated {
		t.telemetry.ReceiverJsonlTruncatedLines.Add(t.ctx, 1)
	}
	t.record(p, lrs, st.pendingBuf, false, st.pendingTruncated, st.pendingTime, st.pendingStream, st.path, now)
}

// record parses one line into a record appended to lrs, and removes it
// again when the line is empty. owned says whether content's bytes are
// never written again (parser.Parser.Owned).
func (t *tailer) record(p *parser.Parser, lrs plog.LogRecordSlice, content []byte, owned,
	truncated bool, rtTime int64, stream, path string, now time.Time,
) {
	p.Owned = owned
	// The attributes added below, so that the parser sizes them all at once.
	p.Reserve = 1
	if stream != "" {
		p.Reserve++
	}
	if truncated {
		p.Reserve++
	}
	rec := lrs.AppendEmpty()
	var res parser.Result
	if truncated {
		res = p.ParseTruncated(content, rec)
	} else {
		res = p.Parse(content, rec)
	}
	if res&parser.Repaired != 0 {
		t.telemetry.ReceiverJsonlRepairedLines.Add(t.ctx, 1)
	}
	if res&parser.Empty != 0 {
		t.telemetry.ReceiverJsonlEmptyLines.Add(t.ctx, 1)
		dropLast(lrs)
		return
	}
	if res&parser.NonJSON != 0 {
		t.telemetry.ReceiverJsonlNonJSONLines.Add(t.ctx, 1)
	}
	if rec.Timestamp() == 0 && rtTime != 0 {
		rec.SetTimestamp(pcommon.Timestamp(rtTime))
	}
	rec.SetObservedTimestamp(pcommon.NewTimestampFromTime(now))
	attrs := rec.Attributes()
	attrs.PutStr(attrLogFilePath, path)
	if stream != "" {
		attrs.PutStr(attrLogIOStream, stream)
	}
	if truncated {
		attrs.PutBool(attrTruncated, true)
	}
}

// dropLast removes the last record of lrs.
func dropLast(lrs plog.LogRecordSlice) {
	last, i := lrs.Len()-1, -1
	lrs.RemoveIf(func(plog.LogRecord) bool {
		i++
		return i == last
	})
}

func isBlank(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n', '\v', '\f':
		default:
			return false
		}
	}
	return true
}

// deliver offers ld to the next consumer until it is accepted. Retryable
// refusals are retried with exponential back-off (reading of this file waits
// meanwhile); a permanent refusal is counted, logged and the batch skipped.
// It gives up only when the receiver shuts down.
func (t *tailer) deliver(ld plog.Logs) error {
	n := ld.LogRecordCount()
	if n == 0 {
		return nil
	}
	obsCtx := t.obsrecv.StartLogsOp(t.ctx)
	wait := initialBackoff
	// A pipeline that changes data may have changed a batch before refusing
	// it: offer a copy each time, so a retry sends what was read.
	mutates := t.next.Capabilities().MutatesData
	for attempt := 1; ; attempt++ {
		offer := ld
		if mutates {
			offer = plog.NewLogs()
			ld.CopyTo(offer)
		}
		err := t.next.ConsumeLogs(t.ctx, offer)
		switch {
		case err == nil:
			t.obsrecv.EndLogsOp(obsCtx, "jsonl", n, nil)
			t.telemetry.ReceiverJsonlRecordsEmitted.Add(t.ctx, int64(n))
			return nil
		case consumererror.IsPermanent(err):
			t.obsrecv.EndLogsOp(obsCtx, "jsonl", n, err)
			t.telemetry.ReceiverJsonlDeliveryFailures.Add(t.ctx, int64(n))
			t.logger.Error("Next consumer refused log records permanently; they are skipped",
				zap.Int("records", n), zap.Error(err))
			return nil
		case t.ctx.Err() != nil:
			t.obsrecv.EndLogsOp(obsCtx, "jsonl", n, err)
			return errShuttingDown
		}
		t.telemetry.ReceiverJsonlDeliveryRetries.Add(t.ctx, 1)
		if attempt == 1 {
			t.logger.Warn("Next consumer refused log records; retrying with back-off while reading waits",
				zap.Int("records", n), zap.Error(err))
		} else {
			t.logger.Debug("Retrying refused log records", zap.Int("attempt", attempt), zap.Duration("wait", wait), zap.Error(err))
		}
		timer := time.NewTimer(wait)
		select {
		case <-t.ctx.Done():
			timer.Stop()
			t.obsrecv.EndLogsOp(obsCtx, "jsonl", n, t.ctx.Err())
			return errShuttingDown
		case <-timer.C:
		}
		wait = min(wait*2, maxBackoff)
	}
}

// ack persists the acknowledged position of the file, once the file's
// fingerprint is known and verified against the batch it just read. It
// does not use the receiver's context: a batch accepted just before shutdown
// must still be recorded.
func (t *tailer) ack(st *fileState, tokens [][]byte, offsets []int64, prevTruncated bool, at int64) {
	if t.acks == nil {
		return
	}
	if len(st.fp) < fingerprintSize {
		st.fp = t.fingerprint(st.path, tokens, offsets, prevTruncated)
	}
	if st.fp == nil {
		// Not verifiable: fileconsumer's per-poll checkpoint covers this batch.
		return
	}
	if err := t.acks.Ack(context.Background(), st.fp, at); err != nil {
		t.telemetry.ReceiverJsonlCheckpointErrors.Add(t.ctx, 1)
		t.logger.Warn("Persist read position", zap.String("path", st.path), zap.Error(err))
	}
}

// fingerprint reads the first bytes of the file at the state's path, as
// fileconsumer computes its fingerprint, after checking that this file is
// the one the batch came from: one line of the batch must be found at its
// offset. It returns nil when that cannot be checked. prevTruncated tells
// whether the line before the batch was cut at max_line_size.
func (t *tailer) fingerprint(path string, tokens [][]byte, offsets []int64, prevTruncated bool) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	// A line's recorded offset is exact unless the line before it was cut
	// at max_line_size (its skipped remainder lies in between).
	probe := -1
	for i := len(tokens) - 1; i >= 0; i-- {
		if len(tokens[i]) == 0 {
			continue
		}
		before := prevTruncated
		if i > 0 {
			before = len(tokens[i-1]) > t.maxLine
		}
		if !before {
			probe = i
			break
		}
	}
	if probe < 0 {
		return nil
	}
	got := make([]byte, len(tokens[probe]))
	if _, err := f.ReadAt(got, offsets[probe]); err != nil || !bytes.Equal(got, tokens[probe]) {
		return nil
	}
	fp := make([]byte, fingerprintSize)
	n, err := f.ReadAt(fp, 0)
	if err != nil && !errors.Is(err, io.EOF) || n == 0 {
		return nil
	}
	return fp[:n]
}

// flushLoop sends partial container lines whose continuation did not come
// within partialFlushTimeout, and forgets files nothing was read from for a
// while.
func (t *tailer) flushLoop() {
	ticker := time.NewTicker(housekeeping)
	defer ticker.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-ticker.C:
		}
		now := time.Now()
		t.mu.Lock()
		states := make([]*fileState, 0, len(t.files))
		for path, st := range t.files {
			if now.Sub(st.lastUsed) > stateIdleTimeout && st.mu.TryLock() {
				if !st.pending {
					delete(t.files, path)
				}
				st.mu.Unlock()
				continue
			}
			states = append(states, st)
		}
		t.mu.Unlock()
		for _, st := range states {
			t.flushStale(st, now)
		}
	}
}

func (t *tailer) flushStale(st *fileState, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.pending || now.Sub(st.pendingSince) < partialFlushTimeout {
		return
	}
	ld := plog.NewLogs()
	lrs := newBatch(ld, st)
	p := t.parsers.Get().(*parser.Parser)
	defer t.parsers.Put(p)
	t.takePending(p, st, lrs, now)
	if err := t.deliver(ld); err != nil {
		// Shutting down: hold it again, unacknowledged.
		st.pending = true
		return
	}
	if t.acks != nil && st.fp != nil && st.next == st.pendingEnd {
		if err := t.acks.Ack(context.Background(), st.fp, st.pendingEnd); err != nil {
			t.telemetry.ReceiverJsonlCheckpointErrors.Add(t.ctx, 1)
		}
	}
}
