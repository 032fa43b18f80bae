package ackstore // import "github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/ackstore"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
)

// fileconsumer v0.160.0 saves its checkpoint either as protobuf (the
// default: feature gate filelog.protobufCheckpointEncoding is beta) or as
// JSON (a file count, then one object per file), and loads either. Only the
// fingerprint and the offset are read or written here; every other field is
// carried through untouched.
//
//	message MetadataList { repeated Metadata metadata = 1; }
//	message Metadata     { Fingerprint fingerprint = 1; int64 offset = 2; … }
//	message Fingerprint  { bytes first_bytes = 1; }

type checkpointFile struct {
	fingerprint []byte
	raw         []byte // the encoded entry (protobuf Metadata or JSON object)
	json        bool
}

const (
	fieldMetadata    protowire.Number = 1
	fieldFingerprint protowire.Number = 1
	fieldOffset      protowire.Number = 2
	fieldFirstBytes  protowire.Number = 1
)

func isJSONCheckpoint(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] >= '0' && b[0] <= '9'
}

// decodeCheckpoint returns the files of a saved checkpoint.
func decodeCheckpoint(b []byte) ([]checkpointFile, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if isJSONCheckpoint(b) {
		return decodeJSON(b)
	}
	return decodeProto(b)
}

func decodeProto(b []byte) ([]checkpointFile, error) {
	var files []checkpointFile
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		if num != fieldMetadata || typ != protowire.BytesType {
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return nil, protowire.ParseError(m)
			}
			b = b[m:]
			continue
		}
		md, m := protowire.ConsumeBytes(b)
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		b = b[m:]
		fp, err := protoFingerprint(md)
		if err != nil {
			return nil, err
		}
		files = append(files, checkpointFile{fingerprint: fp, raw: md})
	}
	return files, nil
}

func protoFingerprint(md []byte) ([]byte, error) {
	var fp []byte
	for len(md) > 0 {
		num, typ, n := protowire.ConsumeTag(md)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		md = md[n:]
		if num == fieldFingerprint && typ == protowire.BytesType {
			msg, m := protowire.ConsumeBytes(md)
			if m < 0 {
				return nil, protowire.ParseError(m)
			}
			md = md[m:]
			for len(msg) > 0 {
				fnum, ftyp, k := protowire.ConsumeTag(msg)
				if k < 0 {
					return nil, protowire.ParseError(k)
				}
				msg = msg[k:]
				if fnum == fieldFirstBytes && ftyp == protowire.BytesType {
					v, j := protowire.ConsumeBytes(msg)
					if j < 0 {
						return nil, protowire.ParseError(j)
					}
					fp = v
					msg = msg[j:]
					continue
				}
				j := protowire.ConsumeFieldValue(fnum, ftyp, msg)
				if j < 0 {
					return nil, protowire.ParseError(j)
				}
				msg = msg[j:]
			}
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, md)
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		md = md[m:]
	}
	return fp, nil
}

type jsonFingerprint struct {
	FirstBytes []byte `json:"first_bytes"`
}

func decodeJSON(b []byte) ([]checkpointFile, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var count int
	if err := dec.Decode(&count); err != nil {
		return nil, fmt.Errorf("file count: %w", err)
	}
	files := make([]checkpointFile, 0, count)
	for range count {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("file entry: %w", err)
		}
		var head struct {
			Fingerprint *jsonFingerprint `json:"Fingerprint"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return nil, fmt.Errorf("file entry: %w", err)
		}
		f := checkpointFile{raw: raw, json: true}
		if head.Fingerprint != nil {
			f.fingerprint = head.Fingerprint.FirstBytes
		}
		files = append(files, f)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the file entries")
	}
	return files, nil
}

// applyAcks returns the checkpoint with each file's offset replaced by its
// acknowledged position, plus an entry for every acknowledged file the
// checkpoint does not hold. The acknowledged position wins in both
// directions: it is lower when a batch was read but not accepted before the
// collector stopped, or when a partial container line was held back.
func applyAcks(b []byte, acks []Entry) ([]byte, error) {
	if len(acks) == 0 {
		return b, nil
	}
	files, err := decodeCheckpoint(b)
	if err != nil {
		return nil, err
	}
	asJSON := len(b) > 0 && isJSONCheckpoint(b)
	offsets := make([]int64, len(files))
	patched := make([]bool, len(files))
	var extra []Entry
	for _, a := range acks {
		matched := false
		for i, f := range files {
			if related(a.Fingerprint, f.fingerprint) {
				offsets[i], patched[i], matched = a.Offset, true, true
			}
		}
		if !matched {
			extra = append(extra, a)
		}
	}
	if asJSON {
		return encodeJSON(files, offsets, patched, extra)
	}
	return encodeProto(files, offsets, patched, extra), nil
}

func encodeProto(files []checkpointFile, offsets []int64, patched []bool, extra []Entry) []byte {
	var out []byte
	for i, f := range files {
		md := f.raw
		if patched[i] {
			// A repeated scalar field: the last value wins when decoding.
			md = append(append([]byte(nil), md...), protowire.AppendTag(nil, fieldOffset, protowire.VarintType)...)
			md = protowire.AppendVarint(md, uint64(offsets[i])) //nolint:gosec // offsets are non-negative
		}
		out = protowire.AppendTag(out, fieldMetadata, protowire.BytesType)
		out = protowire.AppendBytes(out, md)
	}
	for _, e := range extra {
		var fp []byte
		fp = protowire.AppendTag(fp, fieldFirstBytes, protowire.BytesType)
		fp = protowire.AppendBytes(fp, e.Fingerprint)
		var md []byte
		md = protowire.AppendTag(md, fieldFingerprint, protowire.BytesType)
		md = protowire.AppendBytes(md, fp)
		md = protowire.AppendTag(md, fieldOffset, protowire.VarintType)
		md = protowire.AppendVarint(md, uint64(e.Offset)) //nolint:gosec // offsets are non-negative
		out = protowire.AppendTag(out, fieldMetadata, protowire.BytesType)
		out = protowire.AppendBytes(out, md)
	}
	return out
}

func encodeJSON(files []checkpointFile, offsets []int64, patched []bool, extra []Entry) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(len(files) + len(extra)); err != nil {
		return nil, err
	}
	for i, f := range files {
		if !patched[i] {
			if err := enc.Encode(f.raw); err != nil {
				return nil, err
			}
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(f.raw, &obj); err != nil {
			return nil, err
		}
		obj["Offset"] = json.RawMessage(fmt.Sprint(offsets[i]))
		if err := enc.Encode(obj); err != nil {
			return nil, err
		}
	}
	for _, e := range extra {
		if err := enc.Encode(map[string]any{
			"Fingerprint":    jsonFingerprint{FirstBytes: e.Fingerprint},
			"Offset":         e.Offset,
			"FileAttributes": map[string]any{},
		}); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}
