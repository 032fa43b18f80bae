package dynamoprocessor

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"

	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/metadata"
)

var queueStorageID = component.MustNewIDWithName("file_storage", "queue")

// storageHost offers extensions to the processors.
type storageHost struct {
	exts map[component.ID]component.Component
}

func (h *storageHost) GetExtensions() map[component.ID]component.Component { return h.exts }

// countingStorage wraps a real storage extension and counts the Batch
// operations of its clients.
type countingStorage struct {
	storage.Extension
	batches atomic.Int64
}

func (c *countingStorage) GetClient(ctx context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	client, err := c.Extension.GetClient(ctx, kind, id, name)
	if err != nil {
		return nil, err
	}
	return &countingClient{Client: client, walker: client.(storage.Walker), n: &c.batches}, nil
}

type countingClient struct {
	storage.Client
	walker storage.Walker
	n      *atomic.Int64
}

func (c *countingClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	c.n.Add(1)
	return c.Client.Batch(ctx, ops...)
}

func (c *countingClient) Walk(ctx context.Context, fn storage.WalkFunc) error {
	return c.walker.Walk(ctx, fn)
}

// startFileStorage starts a real file_storage extension on dir (a second one
// on the same dir stands for the restarted process's).
func startFileStorage(t testing.TB, dir string) (*storageHost, *countingStorage) {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	set := extension.Settings{ID: queueStorageID, TelemetrySettings: componenttest.NewNopTelemetrySettings(), BuildInfo: component.NewDefaultBuildInfo()}
	ext, err := f.Create(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, ext.Shutdown(context.Background())) })
	cs := &countingStorage{Extension: ext.(storage.Extension)}
	return &storageHost{exts: map[component.ID]component.Component{queueStorageID: cs}}, cs
}

// storedProcessors is a traces and a logs dynamo processor (one component
// ID) with propagation.storage.
type storedProcessors struct {
	id  component.ID
	tp  processor.Traces
	lp  processor.Logs
	ts  *consumertest.TracesSink
	ls  *consumertest.LogsSink
	h   *harness
	sh  *shared
	ext *countingStorage
}

func startStored(t *testing.T, host *storageHost, id component.ID, wait time.Duration) *storedProcessors {
	t.Helper()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Propagation.Wait = wait
	sid := queueStorageID
	cfg.Propagation.Storage = &sid
	require.NoError(t, cfg.Validate())
	sp := &storedProcessors{id: id, ts: &consumertest.TracesSink{}, ls: &consumertest.LogsSink{},
		h: &harness{tel: componenttest.NewTelemetry()}, ext: host.exts[queueStorageID].(*countingStorage)}
	t.Cleanup(func() { assert.NoError(t, sp.h.tel.Shutdown(context.Background())) })
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = id
	set.TelemetrySettings = sp.h.tel.NewTelemetrySettings()
	var err error
	sp.tp, err = NewFactory().CreateTraces(context.Background(), set, cfg, sp.ts)
	require.NoError(t, err)
	sp.lp, err = NewFactory().CreateLogs(context.Background(), set, cfg, sp.ls)
	require.NoError(t, err)
	require.NoError(t, sp.tp.Start(context.Background(), host))
	require.NoError(t, sp.lp.Start(context.Background(), host))
	processors.mu.Lock()
	sp.sh = processors.m[id]
	processors.mu.Unlock()
	require.NotNil(t, sp.sh)
	require.NotNil(t, sp.sh.persist)
	return sp
}

func (sp *storedProcessors) shutdown(t *testing.T) {
	t.Helper()
	require.NoError(t, sp.tp.Shutdown(context.Background()))
	require.NoError(t, sp.lp.Shutdown(context.Background()))
}

// crash stands for kill -9: nothing held is delivered, nothing is cleaned
// up; the releasing goroutine stops and the database file is let go, as the
// end of the process would.
func (sp *storedProcessors) crash(t *testing.T) {
	t.Helper()
	sp.sh.store.Stop()
	require.NoError(t, sp.sh.persist.client.Close(context.Background()))
	processors.mu.Lock()
	delete(processors.m, sp.id)
	processors.mu.Unlock()
}

// keys lists the entries in the processor's storage (through its own client
// while it runs).
func (sp *storedProcessors) keys(t *testing.T) []string {
	t.Helper()
	return walkKeys(t, sp.sh.persist.walker)
}

func walkKeys(t *testing.T, w storage.Walker) []string {
	t.Helper()
	var keys []string
	require.NoError(t, w.Walk(context.Background(), func(key string, _ []byte) ([]*storage.Operation, error) {
		keys = append(keys, key)
		return nil, nil
	}))
	sort.Strings(keys)
	return keys
}

// keysAfterStop lists the entries left once the processors stopped, with a
// fresh client on the same file.
func keysAfterStop(t *testing.T, ext *countingStorage, id component.ID) []string {
	t.Helper()
	c, err := ext.GetClient(context.Background(), component.KindProcessor, id, "")
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close(context.Background())) }()
	return walkKeys(t, c.(storage.Walker))
}

func waitKeys(t *testing.T, sp *storedProcessors, want int) []string {
	t.Helper()
	var keys []string
	waitCount(t, "entries in storage", want, func() int {
		keys = sp.keys(t)
		return len(keys)
	})
	return keys
}

// Held chunks are written (one Batch per incoming batch, before the call
// returns) and deleted once delivered; items that are not held touch no
// storage; a clean shutdown leaves no entry behind.
func TestStorageKeepsHeldChunksUntilDelivered(t *testing.T) {
	host, ext := startFileStorage(t, t.TempDir())
	id := component.NewIDWithName(metadata.Type, t.Name())
	sp := startStored(t, host, id, time.Minute)
	ctx := context.Background()

	// One batch holding two traces' records: two chunks, one write.
	ld := logs(t, 1, "request received", "Handling request")
	logs(t, 2, "other request").ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
	before := ext.batches.Load()
	require.NoError(t, sp.lp.ConsumeLogs(ctx, ld))
	assert.Equal(t, before+1, ext.batches.Load(), "one storage operation for the batch")
	keys := sp.keys(t)
	require.Len(t, keys, 2, "persisted before ConsumeLogs returned")
	assert.True(t, strings.HasPrefix(keys[0], "logs/"+traceID(1).String()+"/"), keys[0])
	assert.True(t, strings.HasPrefix(keys[1], "logs/"+traceID(2).String()+"/"), keys[1])
	require.NoError(t, sp.tp.ConsumeTraces(ctx, traces(t, workerSpan(3, 2))))
	require.Len(t, sp.keys(t), 3)
	assert.Zero(t, sp.ts.SpanCount()+sp.ls.LogRecordCount())

	// Items that are not held (no trace id; a trace whose id is known) touch
	// no storage.
	before = ext.batches.Load()
	require.NoError(t, sp.lp.ConsumeLogs(ctx, logs(t, 0, "VllmWorker has been initialized")))
	require.NoError(t, sp.tp.ConsumeTraces(ctx, traces(t, frontendRoot(4), workerSpan(4, 2))))
	require.NoError(t, sp.lp.ConsumeLogs(ctx, logs(t, 4, "request completed")))
	assert.Equal(t, before, ext.batches.Load())
	assert.Equal(t, 2, sp.ls.LogRecordCount())
	assert.Equal(t, 2, sp.ts.SpanCount())

	// The root of trace 1 arrives: its records go on annotated, their entry
	// is deleted.
	require.NoError(t, sp.tp.ConsumeTraces(ctx, traces(t, frontendRoot(1))))
	waitCount(t, "log records delivered", 4, sp.ls.LogRecordCount)
	for _, lr := range allRecords(sp.ls) {
		if lr.TraceID() == traceID(1) {
			assert.Equal(t, xrid, attr(lr.Attributes(), "x_request_id"))
		}
	}
	keys = waitKeys(t, sp, 2)
	assert.NotContains(t, strings.Join(keys, " "), traceID(1).String())

	// A clean shutdown delivers the rest and leaves nothing behind.
	sp.shutdown(t)
	assert.Equal(t, 4, sp.ts.SpanCount())
	assert.Equal(t, 5, sp.ls.LogRecordCount())
	assert.Empty(t, keysAfterStop(t, ext, id))
	assert.Zero(t, sp.h.metric(t, "otelcol_processor_dynamo_storage_errors"))
}

// A crash leaves the held chunks in storage; the restarted processor holds
// them again and annotates them when the trace's root arrives.
func TestStorageCrashRestoresAndAnnotates(t *testing.T) {
	dir := t.TempDir()
	host, _ := startFileStorage(t, dir)
	id := component.NewIDWithName(metadata.Type, t.Name())
	sp := startStored(t, host, id, time.Minute)
	ctx := context.Background()
	require.NoError(t, sp.lp.ConsumeLogs(ctx, logs(t, 1, "request received", "Handling request")))
	require.NoError(t, sp.tp.ConsumeTraces(ctx, traces(t, workerSpan(1, 2))))
	require.Len(t, sp.keys(t), 2)
	sp.crash(t)
	assert.Zero(t, sp.ts.SpanCount()+sp.ls.LogRecordCount(), "nothing delivered by the crashed processor")

	again := startStored(t, host, id, time.Minute)
	t.Cleanup(func() { again.shutdown(t) })
	assert.Equal(t, int64(2), again.h.metric(t, "otelcol_processor_dynamo_held_restored", attribute.String("signal", "logs")))
	assert.Equal(t, int64(1), again.h.metric(t, "otelcol_processor_dynamo_held_restored", attribute.String("signal", "traces")))
	assert.Equal(t, int64(3), again.h.metric(t, "otelcol_processor_dynamo_held_items"))
	assert.Equal(t, 3, again.sh.store.Held(), "held again, waiting for the root")
	assert.Zero(t, again.ts.SpanCount()+again.ls.LogRecordCount())

	// The client retries the root span after the crash.
	require.NoError(t, again.tp.ConsumeTraces(ctx, traces(t, frontendRoot(1))))
	waitCount(t, "log records delivered", 2, again.ls.LogRecordCount)
	waitCount(t, "spans delivered", 2, again.ts.SpanCount)
	for _, lr := range allRecords(again.ls) {
		assert.Equal(t, xrid, attr(lr.Attributes(), "x_request_id"))
		assert.Equal(t, traceID(1), lr.TraceID())
	}
	for _, s := range allSpans(again.ts) {
		assert.Equal(t, xrid, attr(s.Attributes(), "x_request_id"), s.Name())
	}
	assert.Equal(t, "dynamo-worker-vllm-prefill", attr(again.ls.AllLogs()[0].ResourceLogs().At(0).Resource().Attributes(), "service.name"),
		"the resource survives the round trip")
	waitKeys(t, again, 0)
	assert.Equal(t, int64(3), again.h.metric(t, "otelcol_processor_dynamo_held_released", attribute.String("reason", "request_id")))
}

// Restored chunks whose root never comes go on unchanged when the (fresh)
// wait is over.
func TestStorageCrashThenTimeoutReleasesUnchanged(t *testing.T) {
	dir := t.TempDir()
	host, ext := startFileStorage(t, dir)
	id := component.NewIDWithName(metadata.Type, t.Name())
	sp := startStored(t, host, id, time.Minute)
	ctx := context.Background()
	require.NoError(t, sp.lp.ConsumeLogs(ctx, logs(t, 1, "a", "b")))
	require.NoError(t, sp.lp.ConsumeLogs(ctx, logs(t, 2, "c")))
	sp.crash(t)

	again := startStored(t, host, id, 20*time.Millisecond)
	waitCount(t, "log records delivered", 3, again.ls.LogRecordCount)
	bodies := []string{}
	for _, lr := range allRecords(again.ls) {
		assert.Nil(t, attr(lr.Attributes(), "x_request_id"))
		bodies = append(bodies, lr.Body().Str())
	}
	assert.ElementsMatch(t, []string{"a", "b", "c"}, bodies)
	waitKeys(t, again, 0)
	assert.Equal(t, int64(3), again.h.metric(t, "otelcol_processor_dynamo_held_released", attribute.String("reason", "timeout")))
	again.shutdown(t)
	assert.Empty(t, keysAfterStop(t, ext, id))
}

// A write that fails drops nothing: the batch is held in memory only,
// counted, and delivered as usual.
func TestStorageWriteFailureHoldsInMemory(t *testing.T) {
	host, _ := startFileStorage(t, t.TempDir())
	id := component.NewIDWithName(metadata.Type, t.Name())
	sp := startStored(t, host, id, time.Minute)
	t.Cleanup(func() { sp.shutdown(t) })
	ctx := context.Background()
	require.NoError(t, sp.sh.persist.client.Close(ctx)) // every write fails from now on
	require.NoError(t, sp.lp.ConsumeLogs(ctx, logs(t, 1, "a", "b")))
	assert.Equal(t, int64(1), sp.h.metric(t, "otelcol_processor_dynamo_storage_errors", attribute.String("operation", "write")))
	assert.Equal(t, 2, sp.sh.store.Held(), "held in memory")
	require.NoError(t, sp.tp.ConsumeTraces(ctx, traces(t, frontendRoot(1))))
	waitCount(t, "log records delivered", 2, sp.ls.LogRecordCount)
	for _, lr := range allRecords(sp.ls) {
		assert.Equal(t, xrid, attr(lr.Attributes(), "x_request_id"))
	}
	assert.Zero(t, sp.h.metric(t, "otelcol_processor_dynamo_storage_errors", attribute.String("operation", "delete")),
		"nothing to delete for a chunk that was never written")
}

// An entry that cannot be read back is removed and counted; the others are
// restored.
func TestStorageUnreadableEntryIsRemoved(t *testing.T) {
	host, ext := startFileStorage(t, t.TempDir())
	id := component.NewIDWithName(metadata.Type, t.Name())
	sp := startStored(t, host, id, time.Minute)
	ctx := context.Background()
	require.NoError(t, sp.lp.ConsumeLogs(ctx, logs(t, 1, "a")))
	key := fmt.Sprintf("logs/%s/%016x/x-1", traceID(2), time.Now().UnixNano())
	require.NoError(t, sp.sh.persist.client.Set(ctx, key, []byte("not protobuf \xff\xff\xff")))
	require.NoError(t, sp.sh.persist.client.Set(ctx, "logs/short", []byte{1}))
	sp.crash(t)

	again := startStored(t, host, id, time.Minute)
	assert.Equal(t, int64(2), again.h.metric(t, "otelcol_processor_dynamo_storage_errors", attribute.String("operation", "read")))
	assert.Equal(t, int64(1), again.h.metric(t, "otelcol_processor_dynamo_held_restored"))
	assert.Len(t, again.keys(t), 1)
	again.shutdown(t)
	assert.Equal(t, 1, again.ls.LogRecordCount())
	assert.Empty(t, keysAfterStop(t, ext, id))
}

// A missing or unsuitable extension is an error at Start naming the key.
func TestStorageExtensionErrors(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	sid := queueStorageID
	cfg.Propagation.Storage = &sid
	for want, host := range map[string]component.Host{
		`propagation::storage: extension "file_storage/queue" not found`: &storageHost{exts: map[component.ID]component.Component{}},
		`propagation::storage: extension "file_storage/queue" is not a storage extension`: &storageHost{exts: map[component.ID]component.Component{
			queueStorageID: notStorage{},
		}},
	} {
		set := processortest.NewNopSettings(metadata.Type)
		set.ID = component.NewIDWithName(metadata.Type, t.Name())
		lp, err := NewFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
		require.NoError(t, err)
		err = lp.Start(context.Background(), host)
		require.Error(t, err)
		assert.Contains(t, err.Error(), want)
		require.NoError(t, lp.Shutdown(context.Background()))
		processors.mu.Lock()
		delete(processors.m, set.ID)
		processors.mu.Unlock()
	}
}

// notStorage is an extension that is not a storage extension.
type notStorage struct {
	component.StartFunc
	component.ShutdownFunc
}

// Concurrent batches in both pipelines with storage: every item arrives
// exactly once, annotated, and no entry is left (a chunk released while its
// batch is still being written is deleted after the write).
func TestStorageConcurrentPipelines(t *testing.T) {
	host, _ := startFileStorage(t, t.TempDir())
	sp := startStored(t, host, component.NewIDWithName(metadata.Type, t.Name()), time.Minute)
	t.Cleanup(func() { sp.shutdown(t) })
	const requests = 40
	var work []func()
	for r := 1; r <= requests; r++ {
		tr := byte(r)
		root := frontendRoot(tr)
		root.attrs["x_request_id"] = fmt.Sprintf("req-%d", r)
		td := traces(t, root)
		work = append(work, func() { assert.NoError(t, sp.tp.ConsumeTraces(context.Background(), td)) })
		for c := byte(2); c <= 3; c++ {
			td := traces(t, workerSpan(tr, c))
			work = append(work, func() { assert.NoError(t, sp.tp.ConsumeTraces(context.Background(), td)) })
		}
		ld := logs(t, tr, "a", "b")
		work = append(work, func() { assert.NoError(t, sp.lp.ConsumeLogs(context.Background(), ld)) })
	}
	for i := range work {
		j := (i*7919 + 13) % len(work)
		work[i], work[j] = work[j], work[i]
	}
	done := make(chan struct{})
	for w := 0; w < 4; w++ {
		go func(w int) {
			defer func() { done <- struct{}{} }()
			for i := w; i < len(work); i += 4 {
				work[i]()
			}
		}(w)
	}
	for w := 0; w < 4; w++ {
		<-done
	}
	waitCount(t, "spans delivered", requests*3, sp.ts.SpanCount)
	waitCount(t, "log records delivered", requests*2, sp.ls.LogRecordCount)
	seen := map[string]int{}
	for _, s := range allSpans(sp.ts) {
		assert.Equal(t, fmt.Sprintf("req-%d", int(s.TraceID()[15])), attr(s.Attributes(), "x_request_id"))
		seen[s.TraceID().String()+s.SpanID().String()]++
	}
	for _, lr := range allRecords(sp.ls) {
		assert.Equal(t, fmt.Sprintf("req-%d", int(lr.TraceID()[15])), attr(lr.Attributes(), "x_request_id"))
		seen[lr.TraceID().String()+lr.SpanID().String()]++
	}
	assert.Len(t, seen, requests*5)
	for k, n := range seen {
		assert.Equal(t, 1, n, k)
	}
	waitKeys(t, sp, 0)
}

// A batch holding several traces across resources and scopes: each trace's
// items are persisted (under their own resource and scope) and survive a
// crash; before the crash the held items themselves are left as they were.
func TestStorageCrashRestoresAMixedBatch(t *testing.T) {
	items := mixedItems()
	for _, signal := range []string{"logs", "traces"} {
		t.Run(signal, func(t *testing.T) {
			dir := t.TempDir()
			host, _ := startFileStorage(t, dir)
			id := component.NewIDWithName(metadata.Type, t.Name())
			sp := startStored(t, host, id, time.Minute)
			ctx := context.Background()
			require.NoError(t, sp.tp.ConsumeTraces(ctx, traces(t, rootWithID(4, "rid-4"))))
			consume := func(sp *storedProcessors) {
				if signal == "logs" {
					require.NoError(t, sp.lp.ConsumeLogs(ctx, mixedLogs(items)))
				} else {
					require.NoError(t, sp.tp.ConsumeTraces(ctx, mixedTraces(items)))
				}
			}
			seen := func(sp *storedProcessors) map[string]seenItem {
				if signal == "logs" {
					return seenLogs(t, sp.ls)
				}
				return seenSpans(t, sp.ts)
			}
			consume(sp)
			require.Len(t, sp.keys(t), 3, "one entry per held trace")
			// Released before the crash (the entry written, the items back
			// in place): trace 2.
			require.NoError(t, sp.tp.ConsumeTraces(ctx, traces(t, rootWithID(2, "rid-2"))))
			xrids := map[byte]string{0: "", 2: "rid-2", 4: "rid-4"}
			want := 0
			for _, it := range items {
				if _, ok := xrids[it.trace]; ok {
					want++
				}
			}
			waitCount(t, "items delivered", want, func() int { return len(seen(sp)) })
			checkSeen(t, items, seen(sp), xrids)
			waitKeys(t, sp, 2)
			sp.crash(t)

			again := startStored(t, host, id, time.Minute)
			t.Cleanup(func() { again.shutdown(t) })
			require.NoError(t, again.tp.ConsumeTraces(ctx, traces(t, rootWithID(1, "rid-1"), rootWithID(3, ""))))
			var restored []mixedItem
			for _, it := range items {
				if it.trace == 1 || it.trace == 3 {
					restored = append(restored, it)
				}
			}
			waitCount(t, "items delivered", len(restored), func() int { return len(seen(again)) })
			checkSeen(t, restored, seen(again), map[byte]string{1: "rid-1", 3: ""})
			waitKeys(t, again, 0)
		})
	}
}
