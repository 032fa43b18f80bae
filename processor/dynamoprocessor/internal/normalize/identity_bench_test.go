package normalize

import "testing"

// BenchmarkIdentityCache reads the identities of a few services from every
// core at once, as the traces and logs pipelines' goroutines do for every
// resource of every batch.
func BenchmarkIdentityCache(b *testing.B) {
	c := newIdentityCache(nil)
	services := []string{"dynamo-frontend", "dynamo-worker-vllm-prefill", "dynamo-worker-vllm-decode", "dynamo"}
	for _, s := range services {
		c.get(s)
	}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if c.get(services[i&3]).Component == "x" {
				b.Fatal("unexpected identity")
			}
			i++
		}
	})
}
