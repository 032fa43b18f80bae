package telemetrygen // import "github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// jsonlTimeLayout is Dynamo's JSONL timestamp: UTC, always six fractional
// digits and a Z; jsonlLocalTimeLayout is the DYN_LOG_USE_LOCAL_TZ form with
// the offset.
const (
	jsonlTimeLayout      = "2006-01-02T15:04:05.000000Z"
	jsonlLocalTimeLayout = "2006-01-02T15:04:05.000000-07:00"
)

// AppendJSONL appends l encoded as Dynamo does (without the newline): the
// keys time, level, file, line, target, message first, then every other key in
// alphabetical order. file and line are left out when File is empty (Python
// lines). A time in UTC is written with a Z, any other with its offset.
func AppendJSONL(dst []byte, l *JSONLLine) []byte {
	dst = append(dst, `{"time":"`...)
	if l.Time.Location() == time.UTC {
		dst = l.Time.AppendFormat(dst, jsonlTimeLayout)
	} else {
		dst = l.Time.AppendFormat(dst, jsonlLocalTimeLayout)
	}
	dst = append(dst, `","level":`...)
	dst = appendJSONString(dst, l.Level)
	if l.File != "" {
		dst = append(dst, `,"file":`...)
		dst = appendJSONString(dst, l.File)
		dst = append(dst, `,"line":`...)
		dst = strconv.AppendInt(dst, int64(l.Line), 10)
	}
	dst = append(dst, `,"target":`...)
	dst = appendJSONString(dst, l.Target)
	dst = append(dst, `,"message":`...)
	dst = appendJSONString(dst, l.Message)
	fields := slices.Clone(l.Fields)
	slices.SortStableFunc(fields, func(a, b KV) int { return strings.Compare(a.Key, b.Key) })
	for _, f := range fields {
		dst = append(dst, ',')
		dst = appendJSONString(dst, f.Key)
		dst = append(dst, ':')
		dst = appendJSONValue(dst, f.Value)
	}
	return append(dst, '}')
}

func appendJSONString(dst []byte, s string) []byte {
	if plainJSON(s) {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return append(dst, bytes.TrimRight(buf.Bytes(), "\n")...)
}

// plainJSON reports whether s can be written between quotes as it is: ASCII
// without quotes, backslashes and control characters.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			return false
		}
	}
	return true
}

func appendJSONValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return appendJSONString(dst, x)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // maps are written with sorted keys
	return append(dst, bytes.TrimRight(buf.Bytes(), "\n")...)
}

// Format is how a container runtime wraps each stderr line in a log file.
type Format string

const (
	// FormatRaw is the bare line (stderr redirected to a file).
	FormatRaw Format = "raw"
	// FormatCRI is the containerd/CRI-O format, `<RFC3339Nano> stderr F <line>`,
	// with lines longer than the split size written as P (partial) records
	// followed by an F record, as the kubelet does.
	FormatCRI Format = "cri"
	// FormatDocker is Docker's json-file format,
	// `{"log":"<line>\n","stream":"stderr","time":"<RFC3339Nano>"}`.
	FormatDocker Format = "docker"
)

// ParseFormat parses raw, cri or docker.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatRaw, FormatCRI, FormatDocker:
		return f, nil
	case "":
		return FormatRaw, nil
	default:
		return "", fmt.Errorf("unknown JSONL format %q (want raw, cri or docker)", s)
	}
}

// DefaultCRISplit is the kubelet's maximum CRI record size: longer lines are
// split into partial records.
const DefaultCRISplit = 16 * 1024

// JSONLWriter writes each service's JSONL lines to <dir>/<service>.log, wrapped
// in a container runtime's format. With RotateBytes set, a file that would
// grow past it is renamed to <service>.log.<n> (n = 1, 2, ...) and a new one is
// started, as log rotation by rename does. Lines are buffered and reach the
// files, whole, on Flush.
type JSONLWriter struct {
	dir         string
	format      Format
	rotateBytes int64
	criSplit    int
	files       map[string]*jsonlFile
	paths       []string
	lines       map[string]int
	buf         []byte
}

type jsonlFile struct {
	path    string
	f       *os.File
	size    int64
	rotated int
	pending bytes.Buffer
}

// JSONLWriterOptions configure a JSONLWriter.
type JSONLWriterOptions struct {
	Dir    string
	Format Format
	// RotateBytes rotates a file before it grows past this size; 0 never
	// rotates.
	RotateBytes int64
	// CRISplit is the largest CRI record; longer lines become P records
	// followed by an F record. 0 means DefaultCRISplit.
	CRISplit int
}

// NewJSONLWriter creates the directory and returns a writer.
func NewJSONLWriter(opts JSONLWriterOptions) (*JSONLWriter, error) {
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	if opts.Format == "" {
		opts.Format = FormatRaw
	}
	if opts.CRISplit <= 0 {
		opts.CRISplit = DefaultCRISplit
	}
	return &JSONLWriter{
		dir:         opts.Dir,
		format:      opts.Format,
		rotateBytes: opts.RotateBytes,
		criSplit:    opts.CRISplit,
		files:       map[string]*jsonlFile{},
		lines:       map[string]int{},
	}, nil
}

// Write buffers one line for its service's file.
func (w *JSONLWriter) Write(l *JSONLLine) error {
	w.buf = AppendJSONL(w.buf[:0], l)
	return w.WriteText(l.Service, w.buf, l.Time)
}

// WriteText buffers one line of any text (a line that is not JSON, such as
// vLLM's coloured output) for service's file; line holds no newline.
func (w *JSONLWriter) WriteText(service string, line []byte, t time.Time) error {
	f, err := w.file(service)
	if err != nil {
		return err
	}
	rec := w.wrap(nil, line, t)
	if w.rotateBytes > 0 && f.size+int64(f.pending.Len())+int64(len(rec)) > w.rotateBytes && f.size+int64(f.pending.Len()) > 0 {
		if err := w.rotate(f); err != nil {
			return err
		}
	}
	f.pending.Write(rec)
	w.lines[service]++
	return nil
}

func (w *JSONLWriter) wrap(dst, line []byte, t time.Time) []byte {
	switch w.format {
	case FormatCRI:
		ts := t.UTC().Format(time.RFC3339Nano)
		for len(line) > w.criSplit {
			dst = append(dst, ts...)
			dst = append(dst, " stderr P "...)
			dst = append(dst, line[:w.criSplit]...)
			dst = append(dst, '\n')
			line = line[w.criSplit:]
		}
		dst = append(dst, ts...)
		dst = append(dst, " stderr F "...)
		dst = append(dst, line...)
		return append(dst, '\n')
	case FormatDocker:
		dst = append(dst, `{"log":`...)
		dst = appendJSONString(dst, string(line)+"\n")
		dst = append(dst, `,"stream":"stderr","time":"`...)
		dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
		return append(dst, "\"}\n"...)
	default:
		dst = append(dst, line...)
		return append(dst, '\n')
	}
}

func (w *JSONLWriter) file(service string) (*jsonlFile, error) {
	if f, ok := w.files[service]; ok {
		return f, nil
	}
	path := filepath.Join(w.dir, service+".log")
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	f := &jsonlFile{path: path, f: fh, size: st.Size()}
	w.files[service] = f
	w.paths = append(w.paths, path)
	return f, nil
}

func (w *JSONLWriter) flushFile(f *jsonlFile) error {
	if f.pending.Len() == 0 {
		return nil
	}
	n, err := f.f.Write(f.pending.Bytes())
	f.size += int64(n)
	f.pending.Reset()
	return err
}

func (w *JSONLWriter) rotate(f *jsonlFile) error {
	if err := w.flushFile(f); err != nil {
		return err
	}
	if err := f.f.Close(); err != nil {
		return err
	}
	for {
		f.rotated++
		dst := f.path + "." + strconv.Itoa(f.rotated)
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if err := os.Rename(f.path, dst); err != nil {
			return err
		}
		w.paths = append(w.paths, dst)
		break
	}
	fh, err := os.OpenFile(f.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	f.f, f.size = fh, 0
	return nil
}

// Flush writes every buffered line to its file.
func (w *JSONLWriter) Flush() error {
	var firstErr error
	for _, f := range w.files {
		if err := w.flushFile(f); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// Close flushes and closes every file.
func (w *JSONLWriter) Close() error {
	err := w.Flush()
	for _, f := range w.files {
		if cerr := f.f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// Paths returns every file written, rotated ones included, in creation order.
func (w *JSONLWriter) Paths() []string { return slices.Clone(w.paths) }

// Lines returns the number of lines written per service.
func (w *JSONLWriter) Lines() map[string]int {
	out := make(map[string]int, len(w.lines))
	for k, v := range w.lines {
		out[k] = v
	}
	return out
}
