// Package ackstore keeps, per file, the read position up to which the next
// consumer has accepted every line, and persists it after each accepted
// batch.
//
// pkg/stanza/fileconsumer saves its own checkpoint ("knownFiles") once per
// poll cycle, after every file was read to its end, and advances a file's
// offset even when the emit callback fails. Store wraps the storage client
// handed to fileconsumer: when fileconsumer loads its checkpoint at start,
// Store rewrites each file's offset to the acknowledged one (adding files
// fileconsumer had not saved yet), so a restart after kill -9 resumes at the
// last accepted batch, and when fileconsumer saves, Store drops positions of
// files fileconsumer no longer tracks. Files are identified as fileconsumer
// does: by the first bytes of their content (the fingerprint), compared by
// prefix because a small file's fingerprint grows with it.
package ackstore // import "github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/ackstore"

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// Key is the storage key holding the acknowledged positions.
const Key = "jsonl.acknowledged"

// KnownFilesKey is the key fileconsumer saves its checkpoint under.
const KnownFilesKey = "knownFiles"

// Entry is the acknowledged position in one file.
type Entry struct {
	Fingerprint []byte `json:"fp"`
	Offset      int64  `json:"offset"`
}

// Store holds the acknowledged positions and writes them to storage.
type Store struct {
	client storage.Client

	mu      sync.Mutex
	entries []Entry
}

// ErrCorrupt is returned by Load, together with an empty but usable Store,
// when the saved positions cannot be decoded.
var ErrCorrupt = errors.New("acknowledged positions unreadable; resuming from the file checkpoint alone")

// Load reads the acknowledged positions saved by a previous run. When they
// cannot be decoded it returns an empty Store and an error wrapping
// ErrCorrupt: reading then resumes from fileconsumer's own checkpoint.
func Load(ctx context.Context, client storage.Client) (*Store, error) {
	s := &Store{client: client}
	b, err := client.Get(ctx, Key)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", Key, err)
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &s.entries); err != nil {
			s.entries = nil
			return s, fmt.Errorf("decode %s: %w (%w)", Key, err, ErrCorrupt)
		}
	}
	return s, nil
}

// related reports whether two fingerprints can belong to the same file: one
// is a prefix of the other.
func related(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	return bytes.HasPrefix(b, a)
}

// Ack records that every line of the file with fingerprint fp before offset
// was accepted, and persists it.
func (s *Store) Ack(ctx context.Context, fp []byte, offset int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := false
	for i := range s.entries {
		e := &s.entries[i]
		if related(e.Fingerprint, fp) {
			if len(fp) > len(e.Fingerprint) {
				e.Fingerprint = append([]byte(nil), fp...)
			}
			e.Offset = offset
			found = true
			break
		}
	}
	if !found {
		s.entries = append(s.entries, Entry{Fingerprint: append([]byte(nil), fp...), Offset: offset})
	}
	return s.persistLocked(ctx)
}

func (s *Store) persistLocked(ctx context.Context) error {
	b, err := json.Marshal(s.entries)
	if err != nil {
		return err
	}
	if err := s.client.Set(ctx, Key, b); err != nil {
		return fmt.Errorf("write %s: %w", Key, err)
	}
	return nil
}

// Entries returns a copy of the acknowledged positions.
func (s *Store) Entries() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Entry, len(s.entries))
	copy(out, s.entries)
	return out
}

// Persister returns the storage client to hand to fileconsumer: it passes
// everything through, except that loading fileconsumer's checkpoint applies
// the acknowledged positions, and saving it prunes positions of files
// fileconsumer forgot. onError is told about checkpoints it cannot read.
func (s *Store) Persister(onError func(error)) *Persister {
	return &Persister{store: s, onError: onError}
}

// Persister is the storage client handed to fileconsumer.
type Persister struct {
	store   *Store
	onError func(error)
}

// Get implements operator.Persister.
func (p *Persister) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := p.store.client.Get(ctx, key)
	if err != nil || key != KnownFilesKey {
		return b, err
	}
	merged, err := applyAcks(b, p.store.Entries())
	if err != nil {
		// Unreadable: fall back to fileconsumer's own checkpoint unchanged.
		p.onError(fmt.Errorf("apply acknowledged positions to the file checkpoint: %w", err))
		return b, nil
	}
	return merged, nil
}

// Set implements operator.Persister.
func (p *Persister) Set(ctx context.Context, key string, value []byte) error {
	if err := p.store.client.Set(ctx, key, value); err != nil {
		return err
	}
	if key == KnownFilesKey {
		p.prune(ctx, value)
	}
	return nil
}

// Delete implements operator.Persister.
func (p *Persister) Delete(ctx context.Context, key string) error {
	return p.store.client.Delete(ctx, key)
}

// Batch implements operator.Persister.
func (p *Persister) Batch(ctx context.Context, ops ...*storage.Operation) error {
	if err := p.store.client.Batch(ctx, ops...); err != nil {
		return err
	}
	for _, op := range ops {
		if op.Type == storage.Set && op.Key == KnownFilesKey {
			p.prune(ctx, op.Value)
		}
	}
	return nil
}

// prune drops acknowledged positions of files absent from a checkpoint
// fileconsumer just saved. fileconsumer saves after every file of the poll
// was read, so every file acknowledged since is in it.
func (p *Persister) prune(ctx context.Context, checkpoint []byte) {
	files, err := decodeCheckpoint(checkpoint)
	if err != nil {
		p.onError(fmt.Errorf("read the file checkpoint being saved: %w", err))
		return
	}
	s := p.store
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.entries[:0]
	for _, e := range s.entries {
		for _, f := range files {
			if related(e.Fingerprint, f.fingerprint) {
				kept = append(kept, e)
				break
			}
		}
	}
	if len(kept) == len(s.entries) {
		return
	}
	for i := len(kept); i < len(s.entries); i++ {
		s.entries[i] = Entry{}
	}
	s.entries = kept
	if err := s.persistLocked(ctx); err != nil {
		p.onError(err)
	}
}
