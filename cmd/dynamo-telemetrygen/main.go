// Command dynamo-telemetrygen sends telemetry shaped like NVIDIA Dynamo's to an
// OTLP endpoint and JSONL files, for demos, tests and benchmarks of
// otelcol-dynamo. See the repository README for examples.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "dynamo-telemetrygen:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if !o.quiet {
		o.cfg.Progress = func(p telemetrygen.Progress) { fmt.Fprintln(stderr, p) }
	}
	m, err := telemetrygen.Run(ctx, o.cfg)
	if err != nil {
		return err
	}
	if o.manifestPath != "" {
		if err := m.WriteFile(o.manifestPath); err != nil {
			return fmt.Errorf("write manifest: %w", err)
		}
	}
	if m.SendErrors > 0 {
		return fmt.Errorf("%d exports failed; %d requests were not delivered", m.SendErrors, m.Totals.UnsentRequests)
	}
	return nil
}
