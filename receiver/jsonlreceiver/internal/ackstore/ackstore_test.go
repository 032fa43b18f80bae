package ackstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"google.golang.org/protobuf/encoding/protowire"
)

// memClient is an in-memory storage.Client.
type memClient struct {
	data map[string][]byte
	fail error
}

func newMem() *memClient { return &memClient{data: map[string][]byte{}} }

func (m *memClient) Get(_ context.Context, k string) ([]byte, error) { return m.data[k], nil }
func (m *memClient) Set(_ context.Context, k string, v []byte) error {
	if m.fail != nil {
		return m.fail
	}
	m.data[k] = append([]byte(nil), v...)
	return nil
}
func (m *memClient) Delete(_ context.Context, k string) error { delete(m.data, k); return nil }
func (m *memClient) Close(context.Context) error              { return nil }
func (m *memClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		switch op.Type {
		case storage.Set:
			if err := m.Set(ctx, op.Key, op.Value); err != nil {
				return err
			}
		case storage.Get:
			op.Value = m.data[op.Key]
		case storage.Delete:
			delete(m.data, op.Key)
		}
	}
	return nil
}

// protoCheckpoint encodes files as fileconsumer's protobuf checkpoint does,
// with an extra field (record_num = 3) that must be carried through.
func protoCheckpoint(files map[string]int64, order ...string) []byte {
	var out []byte
	for _, fp := range order {
		var f []byte
		f = protowire.AppendTag(f, 1, protowire.BytesType)
		f = protowire.AppendBytes(f, []byte(fp))
		var md []byte
		md = protowire.AppendTag(md, 1, protowire.BytesType)
		md = protowire.AppendBytes(md, f)
		md = protowire.AppendTag(md, 2, protowire.VarintType)
		md = protowire.AppendVarint(md, uint64(files[fp]))
		md = protowire.AppendTag(md, 3, protowire.VarintType)
		md = protowire.AppendVarint(md, 42)
		out = protowire.AppendTag(out, 1, protowire.BytesType)
		out = protowire.AppendBytes(out, md)
	}
	return out
}

// protoOffsets decodes fingerprint → offset (last value wins) and checks
// record_num survived.
func protoOffsets(t *testing.T, b []byte) map[string]int64 {
	t.Helper()
	files, err := decodeProto(b)
	require.NoError(t, err)
	out := map[string]int64{}
	for _, f := range files {
		md := f.raw
		var off int64
		for len(md) > 0 {
			num, typ, n := protowire.ConsumeTag(md)
			require.Positive(t, n)
			md = md[n:]
			if num == 2 && typ == protowire.VarintType {
				v, m := protowire.ConsumeVarint(md)
				off = int64(v)
				md = md[m:]
				continue
			}
			m := protowire.ConsumeFieldValue(num, typ, md)
			md = md[m:]
		}
		out[string(f.fingerprint)] = off
	}
	return out
}

func TestAckReplacesAndAddsOffsetsInProtobufCheckpoint(t *testing.T) {
	ctx := context.Background()
	mem := newMem()
	mem.data[KnownFilesKey] = protoCheckpoint(map[string]int64{"file-a": 100, "file-b": 900, "file-c": 5}, "file-a", "file-b", "file-c")
	s, err := Load(ctx, mem)
	require.NoError(t, err)
	require.NoError(t, s.Ack(ctx, []byte("file-a-grown"), 250)) // fingerprint grew with the file
	require.NoError(t, s.Ack(ctx, []byte("file-b"), 400))       // lower: a batch was given up
	require.NoError(t, s.Ack(ctx, []byte("file-new"), 77))      // not yet in the checkpoint

	// A new process loads what was persisted.
	s2, err := Load(ctx, mem)
	require.NoError(t, err)
	var errs []error
	b, err := s2.Persister(func(err error) { errs = append(errs, err) }).Get(ctx, KnownFilesKey)
	require.NoError(t, err)
	assert.Empty(t, errs)
	assert.Equal(t, map[string]int64{"file-a": 250, "file-b": 400, "file-c": 5, "file-new": 77}, protoOffsets(t, b))
	assert.True(t, bytes.Contains(b, protowire.AppendVarint([]byte{0x18}, 42)), "other fields are kept")
}

func TestAckAppliesToJSONCheckpoint(t *testing.T) {
	ctx := context.Background()
	mem := newMem()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	require.NoError(t, enc.Encode(1))
	require.NoError(t, enc.Encode(map[string]any{
		"Fingerprint": map[string]any{"first_bytes": []byte("file-a")}, "Offset": 100, "RecordNum": 3,
		"FileAttributes": map[string]any{"log.file.path": "/x/a.log"},
	}))
	mem.data[KnownFilesKey] = buf.Bytes()
	s, err := Load(ctx, mem)
	require.NoError(t, err)
	require.NoError(t, s.Ack(ctx, []byte("file-a"), 120))
	require.NoError(t, s.Ack(ctx, []byte("file-z"), 9))
	b, err := s.Persister(func(err error) { t.Error(err) }).Get(ctx, KnownFilesKey)
	require.NoError(t, err)
	files, err := decodeJSON(b)
	require.NoError(t, err)
	require.Len(t, files, 2)
	var a, z map[string]any
	require.NoError(t, json.Unmarshal(files[0].raw, &a))
	require.NoError(t, json.Unmarshal(files[1].raw, &z))
	assert.InDelta(t, 120, a["Offset"], 0)
	assert.InDelta(t, 3, a["RecordNum"], 0)
	assert.Equal(t, map[string]any{"log.file.path": "/x/a.log"}, a["FileAttributes"])
	assert.Equal(t, "file-z", string(files[1].fingerprint))
	assert.InDelta(t, 9, z["Offset"], 0)
}

func TestNoCheckpointYetGivesAcknowledgedFiles(t *testing.T) {
	ctx := context.Background()
	mem := newMem()
	s, err := Load(ctx, mem)
	require.NoError(t, err)
	b, err := s.Persister(nil).Get(ctx, KnownFilesKey)
	require.NoError(t, err)
	assert.Empty(t, b, "nothing acknowledged: nothing invented")
	require.NoError(t, s.Ack(ctx, []byte("fresh"), 10))
	b, err = s.Persister(nil).Get(ctx, KnownFilesKey)
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"fresh": 10}, protoOffsets(t, b))
}

func TestSavingCheckpointPrunesForgottenFiles(t *testing.T) {
	ctx := context.Background()
	mem := newMem()
	s, err := Load(ctx, mem)
	require.NoError(t, err)
	require.NoError(t, s.Ack(ctx, []byte("keep-me"), 1))
	require.NoError(t, s.Ack(ctx, []byte("gone"), 2))
	p := s.Persister(func(err error) { t.Error(err) })
	require.NoError(t, p.Batch(ctx, storage.SetOperation(KnownFilesKey, protoCheckpoint(map[string]int64{"keep-me-longer": 1}, "keep-me-longer"))))
	assert.Equal(t, []Entry{{Fingerprint: []byte("keep-me"), Offset: 1}}, s.Entries())
	s2, err := Load(ctx, mem)
	require.NoError(t, err)
	assert.Equal(t, s.Entries(), s2.Entries(), "the pruned list is persisted")
	require.NoError(t, p.Set(ctx, KnownFilesKey, nil))
	assert.Empty(t, s.Entries())
}

func TestUnreadableCheckpointIsPassedThroughAndReported(t *testing.T) {
	ctx := context.Background()
	mem := newMem()
	mem.data[KnownFilesKey] = []byte{0x0a, 0xff} // truncated protobuf
	s, err := Load(ctx, mem)
	require.NoError(t, err)
	require.NoError(t, s.Ack(ctx, []byte("x"), 1))
	var errs []error
	b, err := s.Persister(func(err error) { errs = append(errs, err) }).Get(ctx, KnownFilesKey)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x0a, 0xff}, b)
	assert.Len(t, errs, 1)
}

func TestCorruptAcknowledgedKeyGivesAnEmptyStore(t *testing.T) {
	mem := newMem()
	mem.data[Key] = []byte("{not json")
	s, err := Load(context.Background(), mem)
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Contains(t, err.Error(), Key)
	require.NotNil(t, s)
	assert.Empty(t, s.Entries())
	require.NoError(t, s.Ack(context.Background(), []byte("x"), 3))
	s2, err := Load(context.Background(), mem)
	require.NoError(t, err, "the next save repairs it")
	assert.Equal(t, []Entry{{Fingerprint: []byte("x"), Offset: 3}}, s2.Entries())
}

func TestAckReportsStorageErrors(t *testing.T) {
	mem := newMem()
	s, err := Load(context.Background(), mem)
	require.NoError(t, err)
	mem.fail = errors.New("disk full")
	assert.ErrorContains(t, s.Ack(context.Background(), []byte("x"), 1), "disk full")
}

func TestRelated(t *testing.T) {
	assert.True(t, related([]byte("abc"), []byte("abcdef")))
	assert.True(t, related([]byte("abcdef"), []byte("abc")))
	assert.False(t, related([]byte("abd"), []byte("abcdef")))
	assert.False(t, related(nil, []byte("a")))
}
