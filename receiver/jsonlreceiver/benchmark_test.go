package jsonlreceiver

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
	"github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/metadata"
)

// dynamoLines returns the first n lines of the benchmarks' mix
// (telemetrygen.LineMix).
func dynamoLines(n int) []string {
	lines := make([]string, 0, n)
	for l := range telemetrygen.LineMix(42) {
		if len(lines) == n {
			break
		}
		lines = append(lines, string(telemetrygen.AppendJSONL(nil, &l)))
	}
	return lines
}

// BenchmarkEmitBatch measures the receiver's part of the read path for one
// batch of 100 lines as fileconsumer hands it over: unwrapping, parsing,
// building the pdata batch and delivering it to a no-op consumer. seq lines
// are short test lines; dynamo lines are what Dynamo writes.
func BenchmarkEmitBatch(b *testing.B) {
	dynamo := dynamoLines(100)
	for _, bc := range []struct {
		name string
		line func(int) string
	}{
		{"raw", seqLine},
		{"cri", func(i int) string { return "2026-07-30T18:04:11.482913123Z stderr F " + seqLine(i) }},
		{"dynamo_raw", func(i int) string { return dynamo[i] }},
		{"dynamo_cri", func(i int) string { return "2026-07-30T18:04:11.482913123Z stderr F " + dynamo[i] }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			set := receivertest.NewNopSettings(metadata.Type)
			set.TelemetrySettings = componenttest.NewNopTelemetrySettings()
			tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
			if err != nil {
				b.Fatal(err)
			}
			obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{ReceiverID: set.ID, Transport: "file", ReceiverCreateSettings: set})
			if err != nil {
				b.Fatal(err)
			}
			tl := newTailer(context.Background(), cfg, set, consumertest.NewNop(), tb, obs, nil)
			tokens := make([][]byte, 100)
			offsets := make([]int64, 101)
			var size int64
			for i := range tokens {
				tokens[i] = []byte(bc.line(i))
				size += int64(len(tokens[i]) + 1)
				offsets[i+1] = size
			}
			attrs := map[string]any{attrLogFilePath: "/var/log/pods/dynamo_worker-0_0b1e/main/0.log"}
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				// Each batch continues where the last one ended.
				if err := tl.emit(context.Background(), tokens, attrs, 0, offsets); err != nil {
					b.Fatal(err)
				}
				tl.files[attrs[attrLogFilePath].(string)].next = 0
			}
		})
	}
}
