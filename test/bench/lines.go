package bench

import (
	"bufio"
	"os"
	"strings"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
)

// LinesOptions shape a file of Dynamo JSONL lines.
type LinesOptions struct {
	// Lines is the number of lines to write.
	Lines int
	// MinLength pads shorter lines with a "detail" field up to about this
	// many bytes (0: lines as Dynamo writes them, 200 to 900 bytes).
	MinLength int
}

// WriteLines writes a file of Dynamo JSONL lines, as Dynamo writes them to
// stderr (raw, one JSON object per line): the benchmarks' mix
// (telemetrygen.LineMix). It returns the number of
// lines (each makes one record) and the bytes written.
func WriteLines(path string, o LinesOptions) (lines int, bytes int64, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	var buf []byte
	for l := range telemetrygen.LineMix(Seed) {
		if lines == o.Lines {
			break
		}
		if o.MinLength > 0 {
			buf = telemetrygen.AppendJSONL(buf[:0], &l)
			if pad := o.MinLength - len(buf) - len(`,"detail":""`); pad > 0 {
				l.Fields = append(append([]telemetrygen.KV(nil), l.Fields...), telemetrygen.KV{Key: "detail", Value: filler(pad)})
			}
		}
		buf = append(telemetrygen.AppendJSONL(buf[:0], &l), '\n')
		n, err := bw.Write(buf)
		if err != nil {
			return lines, bytes, err
		}
		bytes += int64(n)
		lines++
	}
	if err := bw.Flush(); err != nil {
		return lines, bytes, err
	}
	return lines, bytes, f.Close()
}

// filler is n bytes of text, as a long error chain or prompt excerpt is.
func filler(n int) string {
	const words = "stream ended before generation completed; "
	return strings.Repeat(words, n/len(words)+1)[:n]
}
