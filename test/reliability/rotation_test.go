package reliability

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testbackend"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// waitForJSONL polls VictoriaLogs until every line number below written has
// arrived for run, and returns what arrived.
func waitForJSONL(t testing.TB, v *testbackend.VictoriaLogs, run string, written int64, timeout time.Duration) arrival {
	t.Helper()
	var got arrival
	var err error
	deadline := time.Now().Add(timeout)
	for {
		got, err = victoriaLogs(v, run)
		if err == nil && int64(got.unique()) >= written {
			return got
		}
		if time.Now().After(deadline) {
			var missing []string
			for n := int64(0); n < written && len(missing) < 10; n++ {
				if got.copies[fmt.Sprintf("j-%d", n)] == 0 {
					missing = append(missing, fmt.Sprintf("j-%d", n))
				}
			}
			t.Fatalf("%d of %d JSONL lines arrived within %s (missing e.g. %v; err %v)", got.unique(), written, timeout, missing, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestJSONLRotation writes Dynamo JSONL lines continuously to a file tailed
// by the jsonl receiver in the gateway and rotates it by rename, by
// copy-truncate and by deleting and recreating it: every line arrives in
// VictoriaLogs.
func TestJSONLRotation(t *testing.T) {
	rounds := pick(2, 10)
	every := pick(1500*time.Millisecond, 3*time.Second)

	vlogs := testbackend.StartVictoriaLogs(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "worker.log")
	gw := newGateway(t, testutil.FreeAddr(t), vlogs.OTLPLogsEndpoint(),
		[]string{jsonlOverlay(t, path+"*", filepath.Join(dir, "state"), "")})
	gw.start()

	run := fmt.Sprintf("rotation-%d", time.Now().UnixNano())
	w := newJSONLWriter(t, path, run)
	w.start(5, 5*time.Millisecond)
	var done []string
	for r := 0; r < rounds; r++ {
		for _, how := range []string{"rename", "copytruncate", "recreate"} {
			time.Sleep(every)
			w.rotate(t, how)
			done = append(done, how)
		}
	}
	time.Sleep(every)
	written := w.finish(t)

	got := waitForJSONL(t, vlogs, run, written, 2*time.Minute)
	gw.alive()
	m, err := gw.scrape()
	if err == nil {
		t.Logf("receiver: lines read %.0f, records emitted %.0f", m.sumPrefix("otelcol_receiver_jsonl_lines_read"), m.sumPrefix("otelcol_receiver_jsonl_records_emitted"))
	}
	kinds := map[string]int{}
	for _, how := range done {
		kinds[how]++
	}
	t.Logf("RESULT rotation: %d rotations %v under 1000 lines/s; lines written %d, arrived %d distinct, %d duplicates",
		len(done), kinds, written, got.unique(), got.duplicates())
	assert.Equal(t, int(written), got.unique(), "JSONL lines lost")
}
