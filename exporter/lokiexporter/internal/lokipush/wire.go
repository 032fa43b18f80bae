package lokipush

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
)

// Content types of the two encodings of Loki's push API.
const (
	ContentTypeProtobuf = "application/x-protobuf"
	ContentTypeJSON     = "application/json"
)

var rawPool = sync.Pool{New: func() any { return new([]byte) }}

// EncodeProtobuf writes streams as a push.PushRequest in protobuf, compressed
// with snappy's block format (what Loki's push API expects with
// Content-Type application/x-protobuf). dst is reused when it is large enough.
func EncodeProtobuf(dst []byte, streams []*Stream) ([]byte, error) {
	req := push.PushRequest{Streams: make([]push.Stream, len(streams))}
	for i, s := range streams {
		req.Streams[i] = push.Stream{Labels: s.LabelString, Entries: s.Entries}
	}
	size := req.Size()
	rawp := rawPool.Get().(*[]byte)
	defer rawPool.Put(rawp)
	if cap(*rawp) < size {
		*rawp = make([]byte, size)
	}
	raw := (*rawp)[:size]
	n, err := req.MarshalToSizedBuffer(raw)
	if err != nil {
		return nil, fmt.Errorf("marshal push request: %w", err)
	}
	raw = raw[size-n:]
	need := snappy.MaxEncodedLen(len(raw))
	if need < 0 {
		return nil, fmt.Errorf("push request of %d bytes is too large for snappy", len(raw))
	}
	if cap(dst) < need {
		dst = make([]byte, need)
	}
	return snappy.Encode(dst[:need], raw), nil
}

// AppendJSON appends streams to dst in the JSON form of Loki's push API:
//
//	{"streams":[{"stream":{"label":"value"},"values":[["<unix ns>","<line>",{"key":"value"}]]}]}
//
// The third element of a value, the structured metadata, is left out when
// the entry has none.
func AppendJSON(dst []byte, streams []*Stream) []byte {
	b := append(dst, `{"streams":[`...)
	for i, s := range streams {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"stream":{`...)
		for j, l := range s.Labels {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, l.Name)
			b = append(b, ':')
			b = appendJSONString(b, l.Value)
		}
		b = append(b, `},"values":[`...)
		for j, e := range s.Entries {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `["`...)
			b = strconv.AppendInt(b, e.Timestamp.UnixNano(), 10)
			b = append(b, `",`...)
			b = appendJSONString(b, e.Line)
			if len(e.StructuredMetadata) > 0 {
				b = append(b, ",{"...)
				for k, m := range e.StructuredMetadata {
					if k > 0 {
						b = append(b, ',')
					}
					b = appendJSONString(b, m.Name)
					b = append(b, ':')
					b = appendJSONString(b, m.Value)
				}
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, "]}"...)
	}
	return append(b, "]}"...)
}
