package telemetrygen

import (
	"iter"
	"time"
)

// LineMix yields, without end, JSONL lines as Dynamo's processes write them
// to stderr, the input of the log benchmarks: the lines of the generator's
// requests (every version and topology, 5 % system requests, 2 % failures,
// span events on), one request a millisecond from 2026-07-30T18:04:11Z,
// with a line of vLLM's Python logger in place of every 40th and every
// 100th in the DYN_LOG_USE_LOCAL_TZ form (the same instant with a +02:00
// offset).
func LineMix(seed uint64) iter.Seq[JSONLLine] {
	return func(yield func(JSONLLine) bool) {
		gen := NewGenerator(Options{SystemShare: 0.05, FailureShare: 0.02, SpanEvents: true, Seed: seed})
		start := time.Date(2026, 7, 30, 18, 4, 11, 0, time.UTC)
		local := time.FixedZone("", 2*3600)
		n := 0
		for {
			r := gen.Next(start)
			start = start.Add(time.Millisecond)
			for _, l := range r.JSONL {
				if n%40 == 39 {
					// vLLM's Python logger, through Dynamo's JSONL formatter.
					l = JSONLLine{Time: l.Time, Level: "INFO", Target: "log",
						Message: "Engine 000: Avg prompt throughput: 1843.2 tokens/s, Avg generation throughput: 95.4 tokens/s",
						Fields: []KV{
							{Key: "log.file", Value: "/opt/dynamo/venv/lib/python3.12/site-packages/vllm/v1/metrics/loggers.py"},
							{Key: "log.line", Value: int64(112)},
							{Key: "log.target", Value: "vllm.v1.metrics.loggers"},
						}}
				}
				if n%100 == 99 {
					l.Time = l.Time.In(local)
				}
				n++
				if !yield(l) {
					return
				}
			}
		}
	}
}
