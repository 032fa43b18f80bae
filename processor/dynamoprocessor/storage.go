package dynamoprocessor // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"

	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/propagate"
)

// Held chunks in propagation.storage.
//
// Each chunk (one trace's held items from one batch) is one entry. Its key
// says what it is, its value is the items as OTLP protobuf (ptrace/plog
// ProtoMarshaler):
//
//	<signal>/<trace id, 32 hex>/<hold start, unix ns, 16 hex>/<run>-<seq>
//
// <run> (the start time of the process's processor, hex) and <seq> (a counter)
// keep keys of different runs apart. A batch's held chunks are written in one
// Batch operation before ConsumeTraces/ConsumeLogs returns; a chunk's entry is
// deleted once it was delivered downstream (accepted, or finally refused and
// counted). Entries left by a crash are read back at start (restore).

// Storage operations, the self-telemetry's operation attribute.
const (
	opWrite  = "write"
	opDelete = "delete"
	opRead   = "read"
)

// persister is one processor's (one component ID's) storage client.
type persister struct {
	client storage.Client
	walker storage.Walker
	run    string
	seq    atomic.Uint64
}

// storageClient obtains the client of the storage extension named by
// propagation::storage, as exporterhelper's persistent queue does.
func storageClient(ctx context.Context, host component.Host, storageID, owner component.ID) (*persister, error) {
	ext, ok := host.GetExtensions()[storageID]
	if !ok {
		return nil, fmt.Errorf("propagation::storage: extension %q not found; declare it under extensions and list it in service::extensions", storageID)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("propagation::storage: extension %q is not a storage extension", storageID)
	}
	client, err := se.GetClient(ctx, component.KindProcessor, owner, "")
	if err != nil {
		return nil, fmt.Errorf("propagation::storage: extension %q: %w", storageID, err)
	}
	walker, ok := client.(storage.Walker)
	if !ok {
		_ = client.Close(ctx)
		return nil, fmt.Errorf("propagation::storage: extension %q cannot list its entries, which restoring held items after a crash needs (file_storage can)", storageID)
	}
	return &persister{client: client, walker: walker, run: strconv.FormatInt(time.Now().UnixNano(), 16)}, nil
}

// key returns the storage key of a chunk held now.
func (p *persister) key(signal string, tid pcommon.TraceID, heldAt time.Time) string {
	var b strings.Builder
	b.Grow(len(signal) + 1 + 32 + 1 + 16 + 1 + len(p.run) + 1 + 16)
	b.WriteString(signal)
	b.WriteByte('/')
	b.WriteString(tid.String())
	b.WriteByte('/')
	var num [16]byte
	b.Write(strconv.AppendUint(num[:0], uint64(heldAt.UnixNano()), 16))
	b.WriteByte('/')
	b.WriteString(p.run)
	b.WriteByte('-')
	b.Write(strconv.AppendUint(num[:0], p.seq.Add(1), 16))
	return b.String()
}

// parseKey reads a key written by key.
func parseKey(key string) (signal string, tid pcommon.TraceID, heldAt time.Time, err error) {
	parts := strings.Split(key, "/")
	if len(parts) != 4 {
		return "", tid, heldAt, errors.New("not signal/trace/time/id")
	}
	var b [16]byte
	if len(parts[1]) != 2*len(b) {
		return "", tid, heldAt, errors.New("trace id is not 32 hex digits")
	}
	if _, err := hex.Decode(b[:], []byte(parts[1])); err != nil {
		return "", tid, heldAt, fmt.Errorf("trace id: %w", err)
	}
	ns, err := strconv.ParseUint(parts[2], 16, 64)
	if err != nil {
		return "", tid, heldAt, fmt.Errorf("hold start: %w", err)
	}
	return parts[0], pcommon.TraceID(b), time.Unix(0, int64(ns)), nil
}

// batchWrite is one incoming batch's write of its held chunks. Delivery of
// a chunk waits for it: the chunk's data is read while it is marshalled, and
// its entry must exist before it is deleted.
type batchWrite struct {
	done chan struct{}
	err  error
}

// persisted is the Ext of a chunk written to storage.
type persisted struct {
	key string
	w   *batchWrite // nil: read back from storage (restored)
}

// stored waits until the chunk's write is over and says whether its entry
// exists.
func (p *persisted) stored() bool {
	if p.w == nil {
		return true
	}
	<-p.w.done
	return p.w.err == nil
}

// pendingWrite is a held chunk to write once the Txn has ended.
type pendingWrite struct {
	key   string
	data  any
	items int
}

// prepareWrite gives the chunk held by this batch its key; the caller holds
// the Txn.
func (b *base) prepareWrite(w **batchWrite, pw *[]pendingWrite, c *propagate.Chunk, now time.Time) {
	if *w == nil {
		*w = &batchWrite{done: make(chan struct{})}
	}
	key := b.sh.persist.key(b.signal, c.TraceID, now)
	c.Ext = &persisted{key: key, w: *w}
	*pw = append(*pw, pendingWrite{key: key, data: c.Data, items: c.Items})
}

// writeHeld writes a batch's held chunks in one storage operation, after
// the Txn ended. On failure they stay held in memory only (counted, logged):
// nothing is dropped, but a crash before their release would lose them.
func (b *base) writeHeld(ctx context.Context, w *batchWrite, pw []pendingWrite) {
	defer close(w.done)
	ops := make([]*storage.Operation, 0, len(pw))
	items := 0
	for _, x := range pw {
		buf, err := b.marshal(x.data)
		if err != nil {
			w.err = err
			break
		}
		ops = append(ops, storage.SetOperation(x.key, buf))
		items += x.items
	}
	if w.err == nil {
		w.err = b.sh.persist.client.Batch(ctx, ops...)
	}
	if w.err != nil {
		b.sh.tel.ProcessorDynamoStorageErrors.Add(ctx, 1, b.sh.opWrite...)
		b.logger.Warn("Could not write held items to propagation.storage; they are held in memory only",
			zap.String("signal", b.signal), zap.Int("items", items), zap.Error(w.err))
	}
}

// storedKeys waits for the writes of chunks about to be delivered and
// returns the delete operations of their entries.
func storedKeys(chunks []*propagate.Chunk) []*storage.Operation {
	var ops []*storage.Operation
	for _, c := range chunks {
		if p, ok := c.Ext.(*persisted); ok && p.stored() {
			ops = append(ops, storage.DeleteOperation(p.key))
		}
	}
	return ops
}

// deleteStored deletes the entries of delivered chunks, in one operation.
func (b *base) deleteStored(ctx context.Context, ops []*storage.Operation) {
	if len(ops) == 0 {
		return
	}
	if err := b.sh.persist.client.Batch(context.WithoutCancel(ctx), ops...); err != nil {
		b.sh.tel.ProcessorDynamoStorageErrors.Add(ctx, 1, b.sh.opDelete...)
		b.logger.Warn("Could not delete delivered held items from propagation.storage; a restart would deliver them again",
			zap.String("signal", b.signal), zap.Int("chunks", len(ops)), zap.Error(err))
	}
}

// restored is one entry read back from storage.
type restored struct {
	key    string
	tid    pcommon.TraceID
	heldAt time.Time
	data   any
	items  int
}

// restore reads back this signal's chunks a crash left in storage and holds
// them again with a fresh wait (or releases them when their trace's id is
// known). It runs once per signal, at the first Start of that signal's
// instances.
func (b *base) restore(ctx context.Context) error {
	s := b.sh
	s.mu.Lock()
	done := s.restored[b.signal]
	s.restored[b.signal] = true
	s.mu.Unlock()
	if done {
		return nil
	}
	var entries []restored
	unreadable := 0
	err := s.persist.walker.Walk(ctx, func(key string, value []byte) ([]*storage.Operation, error) {
		signal, tid, heldAt, err := parseKey(key)
		if err == nil && signal != b.signal {
			return nil, nil
		}
		var data any
		var items int
		if err == nil {
			data, items, err = b.unmarshal(bytes.Clone(value))
		}
		if err == nil && items == 0 {
			err = errors.New("no items")
		}
		if err != nil {
			unreadable++
			b.logger.Error("Unreadable entry in propagation.storage; removed",
				zap.String("signal", b.signal), zap.String("key", key), zap.Error(err))
			return []*storage.Operation{storage.DeleteOperation(key)}, nil
		}
		entries = append(entries, restored{key: key, tid: tid, heldAt: heldAt, data: data, items: items})
		return nil, nil
	})
	if err != nil {
		return fmt.Errorf("propagation::storage: reading held items: %w", err)
	}
	if unreadable > 0 {
		s.tel.ProcessorDynamoStorageErrors.Add(ctx, int64(unreadable), s.opRead...)
	}
	if len(entries) == 0 {
		return nil
	}
	slices.SortStableFunc(entries, func(a, b restored) int { return a.heldAt.Compare(b.heldAt) })
	items, held := 0, 0
	txn := s.store.Begin()
	for _, e := range entries {
		if txn.Restore(b.owner, e.tid, e.data, e.items, &persisted{key: e.key}) {
			held += e.items
		}
		items += e.items
	}
	txn.End()
	s.tel.ProcessorDynamoHeldRestored.Add(ctx, int64(items), b.sigOpt...)
	s.tel.ProcessorDynamoHeldItems.Add(ctx, int64(items), b.sigOpt...)
	b.logger.Info("Restored held items a crash left in propagation.storage",
		zap.String("signal", b.signal), zap.Int("items", items), zap.Int("chunks", len(entries)),
		zap.Int("held_again", held), zap.Int("released", items-held))
	return nil
}
