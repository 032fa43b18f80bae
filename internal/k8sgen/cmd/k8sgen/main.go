// Command k8sgen writes configs/k8s/configmaps.yaml from the collector
// configurations in configs/ (see package k8sgen). Run it from the repository
// root: `make k8s`.
package main

import (
	"fmt"
	"os"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/k8sgen"
)

func main() {
	out, err := k8sgen.Generate(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8sgen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(k8sgen.Output, out, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "k8sgen:", err)
		os.Exit(1)
	}
}
