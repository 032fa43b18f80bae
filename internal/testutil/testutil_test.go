package testutil

import "testing"

// TestFreePortNeverRepeats asks for many ports, as the tests of a package
// do between them, and checks that none comes twice.
func TestFreePortNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for range 500 {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}
