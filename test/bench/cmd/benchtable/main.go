// Command benchtable reads the output of `go test -bench` for test/bench
// (from standard input) and prints the side-by-side tables of BENCHMARKS.md:
// for every comparison, the median of each figure per candidate over the
// repeated runs (rounds, or -count) and the ratio of ours to the stock
// baseline: the median of the ratios of the runs taken in the same round
// (the n-th run of one side with the n-th of the other), with the lowest and
// highest in brackets. It exits non-zero when the benchmark run failed or
// printed no benchmark at all.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// spec describes how one benchmark function's results are shown.
type spec struct {
	title string
	// metrics are the figures shown per candidate; "*/cpu-s" and
	// "allocs/*" match the first metric of that form.
	metrics []string
	// ratio is the metric compared between ours and base; overhead shows
	// it as ours/base-1 in percent (lower is better) instead of ours/base.
	ratio    string
	overhead bool
	ours     string
	base     string
	// also compares other candidates with base the same way.
	also []string
}

var specs = map[string]spec{
	"BenchmarkProcessor": {
		title:   "Processor: `dynamo` vs `transform` (OTTL), items per CPU-second",
		metrics: []string{"*/cpu-s", "allocs/*"}, ratio: "*/cpu-s", ours: "dynamo", base: "transform",
	},
	"BenchmarkPropagationFloor": {
		title:   "Log records of known traces: `dynamo`, the floor (only the `x_request_id` written, through pdata) and `transform`, records per CPU-second",
		metrics: []string{"*/cpu-s", "allocs/*"}, ratio: "*/cpu-s", ours: "dynamo", base: "transform", also: []string{"floor"},
	},
	"BenchmarkReceiver": {
		title:   "Receiver (in-process): `jsonl` vs `file_log` + operators, lines per CPU-second",
		metrics: []string{"lines/cpu-s", "allocs/line", "MB/s"}, ratio: "lines/cpu-s", ours: "jsonl", base: "file_log",
	},
	"BenchmarkReceiverLineLength": {
		title:   "Receiver (in-process) by line length",
		metrics: []string{"lines/cpu-s", "allocs/line"}, ratio: "lines/cpu-s", ours: "jsonl", base: "file_log",
	},
	"BenchmarkReceiverProcess": {
		title:   "Receiver (whole collector process): lines per CPU-second and peak RSS",
		metrics: []string{"lines/cpu-s", "peak-rss-MiB", "idle-rss-MiB"}, ratio: "lines/cpu-s", ours: "jsonl", base: "file_log",
	},
	"BenchmarkPipeline": {
		title:   "Pipeline (whole collector process): OTLP → memory_limiter → [dynamo | nothing | transform] → batch → OTLP",
		metrics: []string{"spans/s", "cpu-%/10k-spans/s", "peak-rss-MiB", "out-bytes/span"}, ratio: "cpu-%/10k-spans/s", overhead: true,
		ours: "dynamo", base: "stock", also: []string{"transform"},
	},
	"BenchmarkPipelineParts": {
		title:   "Pipeline overhead by part, at 10k spans/s: `dynamo` in full, without propagation, with every rule off",
		metrics: []string{"cpu-%/10k-spans/s", "peak-rss-MiB", "out-bytes/span"}, ratio: "cpu-%/10k-spans/s", overhead: true,
		ours: "dynamo", base: "stock", also: []string{"no_propagation", "rules_off"},
	},
	"BenchmarkPipelineCandidate": {
		title:   "Pipeline at 10k spans/s: `dynamo` on `BENCH_CANDIDATE_BIN` (candidate) and on the binary under test",
		metrics: []string{"cpu-%/10k-spans/s", "peak-rss-MiB", "out-bytes/span"}, ratio: "cpu-%/10k-spans/s", overhead: true,
		ours: "candidate", base: "stock", also: []string{"dynamo"},
	},
	"BenchmarkScalingSpansPerTrace": {
		title:   "Scaling: spans per trace (one trace per request, roots in the next batch)",
		metrics: []string{"cpu-ns/span", "allocs/span"}, ratio: "cpu-ns/span", ours: "dynamo", base: "transform",
	},
	"BenchmarkScalingBatchSize": {
		title:   "Scaling: requests per batch (the default mix, roots in the next batch)",
		metrics: []string{"cpu-ns/span", "allocs/span"}, ratio: "cpu-ns/span", ours: "dynamo", base: "transform",
	},
	"BenchmarkScalingAttributes": {
		title:   "Scaling: attributes per span",
		metrics: []string{"cpu-ns/span", "allocs/span"}, ratio: "cpu-ns/span", ours: "dynamo", base: "transform",
	},
	"BenchmarkUnsampledRecords": {
		title:   "Log records of traces that are not sampled (one trace in ten sampled): passed on (default) vs held (`propagation.hold_unsampled`)",
		metrics: []string{"*/cpu-s", "allocs/*"}, ratio: "*/cpu-s", ours: "dynamo", base: "hold_unsampled",
	},
	"BenchmarkRuleCosts": {
		title:   "Cost of each rule: the default configuration (`all`) against the same with one rule off (`without`), per span (the default mix in batches of 12 requests, about 100 spans, roots in the next batch)",
		metrics: []string{"cpu-ns/span", "allocs/span"}, ratio: "cpu-ns/span", overhead: true, ours: "all", base: "without",
	},
	"BenchmarkScalingHeldTraces": {
		title:   "Scaling: traces held for propagation",
		metrics: []string{"cpu-ns/span", "allocs/span", "held-bytes/trace", "data-bytes/trace"},
	},
}

// order is the order of the tables.
var order = []string{
	"BenchmarkProcessor", "BenchmarkPropagationFloor", "BenchmarkReceiver", "BenchmarkReceiverProcess", "BenchmarkPipeline", "BenchmarkPipelineParts",
	"BenchmarkPipelineCandidate", "BenchmarkReceiverLineLength", "BenchmarkScalingSpansPerTrace", "BenchmarkScalingBatchSize", "BenchmarkScalingAttributes", "BenchmarkScalingHeldTraces",
	"BenchmarkUnsampledRecords", "BenchmarkRuleCosts",
}

// result is every measurement of one benchmark (one name, many runs).
type result struct {
	values map[string][]float64
}

type bench struct {
	cases      []string // in order of appearance
	candidates []string
	results    map[[2]string]*result
}

var procSuffix = regexp.MustCompile(`-\d+$`)

func main() {
	out, failed, err := run(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	if failed || out == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: the benchmark run failed or produced no results")
		os.Exit(1)
	}
}

func run(in io.Reader, w io.Writer) (tables int, failed bool, err error) {
	benches := map[string]*bench{}
	var header []string
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "FAIL") || strings.HasPrefix(line, "--- FAIL") || strings.HasPrefix(line, "panic:"):
			failed = true
		case strings.HasPrefix(line, "goos:") || strings.HasPrefix(line, "goarch:") || strings.HasPrefix(line, "cpu:"):
			if !slices.Contains(header, line) {
				header = append(header, line)
			}
		case strings.HasPrefix(line, "Benchmark"):
			parse(benches, line)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, failed, err
	}
	if len(header) > 0 {
		fmt.Fprintf(w, "%s\n\n", strings.Join(header, "  "))
	}
	names := slices.Clone(order)
	var extra []string
	for n := range benches {
		if !slices.Contains(names, n) {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	for _, n := range append(names, extra...) {
		b, ok := benches[n]
		if !ok {
			continue
		}
		printTable(w, n, b)
		tables++
	}
	return tables, failed, nil
}

// parse reads one result line: name, iterations, then value-unit pairs.
func parse(benches map[string]*bench, line string) {
	f := strings.Fields(line)
	if len(f) < 4 {
		return
	}
	if _, err := strconv.Atoi(f[1]); err != nil {
		return
	}
	parts := strings.Split(procSuffix.ReplaceAllString(f[0], ""), "/")
	top, cand, cs := parts[0], parts[len(parts)-1], ""
	if len(parts) > 2 {
		cs = strings.Join(parts[1:len(parts)-1], "/")
	}
	if len(parts) == 1 {
		cand = ""
	}
	b := benches[top]
	if b == nil {
		b = &bench{results: map[[2]string]*result{}}
		benches[top] = b
	}
	if !slices.Contains(b.cases, cs) {
		b.cases = append(b.cases, cs)
	}
	if !slices.Contains(b.candidates, cand) {
		b.candidates = append(b.candidates, cand)
	}
	k := [2]string{cs, cand}
	r := b.results[k]
	if r == nil {
		r = &result{values: map[string][]float64{}}
		b.results[k] = r
	}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			continue
		}
		r.values[f[i+1]] = append(r.values[f[i+1]], v)
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// resolve finds the unit a metric pattern stands for in r.
func resolve(r *result, pattern string) string {
	if r == nil {
		return ""
	}
	if !strings.Contains(pattern, "*") {
		if _, ok := r.values[pattern]; ok {
			return pattern
		}
		return ""
	}
	prefix, suffix, _ := strings.Cut(pattern, "*")
	var units []string
	for u := range r.values {
		if strings.HasPrefix(u, prefix) && strings.HasSuffix(u, suffix) && u != "allocs/op" {
			units = append(units, u)
		}
	}
	sort.Strings(units)
	if len(units) == 0 {
		return ""
	}
	return units[0]
}

func printTable(w io.Writer, name string, b *bench) {
	sp, ok := specs[name]
	if !ok {
		sp = spec{title: name}
	}
	cands := slices.Clone(b.candidates)
	rank := func(c string) int {
		switch c {
		case sp.ours:
			return 0
		case sp.base:
			return 1
		}
		if i := slices.Index(sp.also, c); i >= 0 {
			return 2 + i
		}
		return 2 + len(sp.also)
	}
	sort.SliceStable(cands, func(i, j int) bool { return rank(cands[i]) < rank(cands[j]) })
	metrics := sp.metrics
	if len(metrics) == 0 {
		metrics = allMetrics(b)
	}
	fmt.Fprintf(w, "### %s\n\n", sp.title)
	cols := []string{"case"}
	for _, c := range cands {
		for _, m := range metrics {
			label := strings.NewReplacer("*/", "items/", "/*", "/item").Replace(m)
			if r := firstResult(b, c); r != nil && !strings.Contains(m, "*") {
				if u := resolve(r, m); u != "" {
					label = u
				}
			}
			if c != "" {
				label = c + " " + label
			}
			cols = append(cols, label)
		}
	}
	hasRatio := sp.ratio != "" && slices.Contains(cands, sp.ours) && slices.Contains(cands, sp.base)
	var compared []string // ours, then each of also that ran
	if hasRatio {
		compared = append(compared, sp.ours)
		for _, c := range sp.also {
			if slices.Contains(cands, c) {
				compared = append(compared, c)
			}
		}
	}
	for _, c := range compared {
		if sp.overhead {
			cols = append(cols, c+" overhead per round")
		} else {
			cols = append(cols, c+" ÷ "+sp.base+" per round")
		}
	}
	cols = append(cols, "runs")
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
	for _, cs := range b.cases {
		row := []string{cs}
		if cs == "" {
			row[0] = "(all)"
		}
		runs := 0
		for _, c := range cands {
			r := b.results[[2]string{cs, c}]
			for _, m := range metrics {
				u := resolve(r, m)
				if u == "" {
					row = append(row, "")
					continue
				}
				row = append(row, format(median(r.values[u])))
				runs = max(runs, len(r.values[u]))
			}
		}
		for _, c := range compared {
			row = append(row, ratio(b, cs, c, sp))
		}
		row = append(row, strconv.Itoa(runs))
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintln(w)
}

// ratio compares ours with the base on sp.ratio: the median of the per-round
// ratios, each of a run of ours and the run of the base taken in the same
// round (the two sides of a round ran seconds apart, so a drift of the
// machine over minutes falls on both), with the lowest and highest of them.
// Should the two sides have a different number of runs, the rounds cannot be
// paired: the ratio of the two medians is shown, marked as such.
func ratio(b *bench, cs, ours string, sp spec) string {
	ro, rb := b.results[[2]string{cs, ours}], b.results[[2]string{cs, sp.base}]
	uo, ub := resolve(ro, sp.ratio), resolve(rb, sp.ratio)
	if uo == "" || ub == "" {
		return ""
	}
	// num over den: ours over the baseline, but for a cost (CPU-ns per
	// item), shown as how many times faster ours is, the baseline's over ours.
	// A zero figure of the baseline, or a zero cost of ours, is no ratio.
	num, den := ro.values[uo], rb.values[ub]
	faster := ""
	if !sp.overhead && strings.HasPrefix(uo, "cpu-ns/") {
		num, den = den, num
		faster = " faster"
	}
	zero := func(n, d float64) bool { return d == 0 || (faster != "" && n == 0) }
	var rounds []float64
	if len(num) == len(den) {
		for i := range num {
			if zero(num[i], den[i]) {
				return ""
			}
			rounds = append(rounds, num[i]/den[i])
		}
	}
	show := func(r float64) string {
		if sp.overhead {
			return fmt.Sprintf("%+.1f %%", (r-1)*100)
		}
		return fmt.Sprintf("%.1f×", r)
	}
	if len(rounds) == 0 {
		n, d := median(num), median(den)
		if zero(n, d) {
			return ""
		}
		return show(n/d) + faster + " (of medians)"
	}
	m := show(median(rounds)) + faster
	if len(rounds) == 1 {
		return m
	}
	lo, hi := slices.Min(rounds), slices.Max(rounds)
	if sp.overhead {
		return fmt.Sprintf("%s (%+.1f to %+.1f %%)", m, (lo-1)*100, (hi-1)*100)
	}
	return fmt.Sprintf("%s (%.1f–%.1f×)", m, lo, hi)
}

func firstResult(b *bench, cand string) *result {
	for _, cs := range b.cases {
		if r := b.results[[2]string{cs, cand}]; r != nil {
			return r
		}
	}
	return nil
}

func allMetrics(b *bench) []string {
	var out []string
	for _, r := range b.results {
		for u := range r.values {
			if u != "ns/op" && u != "B/op" && u != "allocs/op" && !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	sort.Strings(out)
	return out
}

// format prints a figure with about three significant digits.
func format(v float64) string {
	switch a := abs(v); {
	case a >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
