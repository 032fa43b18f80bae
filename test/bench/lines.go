package bench

import (
	"bufio"
	"os"
	"strings"
	"time"

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
// stderr (raw, one JSON object per line): every version and topology, span
// events on, a few system requests and failures. It returns the number of
// lines (each makes one record) and the bytes written.
func WriteLines(path string, o LinesOptions) (lines int, bytes int64, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	gen := telemetrygen.NewGenerator(telemetrygen.Options{
		SystemShare:  0.05,
		FailureShare: 0.02,
		SpanEvents:   true,
		Seed:         Seed,
	})
	start := time.Date(2026, 7, 30, 18, 4, 11, 0, time.UTC)
	var buf []byte
	for lines < o.Lines {
		r := gen.Next(start)
		start = start.Add(time.Millisecond)
		for i := range r.JSONL {
			if lines == o.Lines {
				break
			}
			l := r.JSONL[i]
			if lines%40 == 39 {
				// vLLM's Python logger, through Dynamo's JSONL formatter.
				l = telemetrygen.JSONLLine{Time: l.Time, Level: "INFO", Target: "log",
					Message: "Engine 000: Avg prompt throughput: 1843.2 tokens/s, Avg generation throughput: 95.4 tokens/s",
					Fields: []telemetrygen.KV{
						{Key: "log.file", Value: "/opt/dynamo/venv/lib/python3.12/site-packages/vllm/v1/metrics/loggers.py"},
						{Key: "log.line", Value: int64(112)},
						{Key: "log.target", Value: "vllm.v1.metrics.loggers"},
					}}
			}
			if o.MinLength > 0 {
				buf = telemetrygen.AppendJSONL(buf[:0], &l)
				if pad := o.MinLength - len(buf) - len(`,"detail":""`); pad > 0 {
					l.Fields = append(append([]telemetrygen.KV(nil), l.Fields...), telemetrygen.KV{Key: "detail", Value: filler(pad)})
				}
			}
			buf = append(telemetrygen.AppendJSONL(buf[:0], &l), '\n')
			if lines%100 == 99 {
				// DYN_LOG_USE_LOCAL_TZ: the same instant with an offset.
				local := l.Time.In(time.FixedZone("", 2*3600)).Format("2006-01-02T15:04:05.000000-07:00")
				buf = append([]byte(`{"time":"`+local), buf[len(`{"time":"2006-01-02T15:04:05.000000Z`):]...)
			}
			n, err := bw.Write(buf)
			if err != nil {
				return lines, bytes, err
			}
			bytes += int64(n)
			lines++
		}
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
