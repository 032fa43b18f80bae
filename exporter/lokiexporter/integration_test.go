package lokiexporter

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testbackend"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// These tests push through the exporter into VictoriaLogs, a real store that
// speaks Loki's push API (protobuf + snappy and JSON), and query the entries
// back by x_request_id.

// withRequestID replaces the x_request_id of every record of ld.
func withRequestID(ld plog.Logs, id string) plog.Logs {
	for lr := range testutil.LogRecords(ld) {
		lr.Attributes().PutStr("x_request_id", id)
	}
	return ld
}

func TestVictoriaLogsRoundTrip(t *testing.T) {
	vl := testbackend.StartVictoriaLogs(t)
	for name, enc := range map[string]Encoding{"protobuf": EncodingProtobuf, "json": EncodingJSON, "json_gzip": EncodingJSON} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(vl.LokiPushURL())
			cfg.Encoding = enc
			if name == "json_gzip" {
				cfg.ClientConfig.Compression = configcompression.TypeGzip
			}
			exp, tel := startExporter(t, cfg)
			id := fmt.Sprintf("it-%s-%d", name, time.Now().UnixNano())
			require.NoError(t, exp.ConsumeLogs(context.Background(), withRequestID(dynamoLogs(), id)))
			assert.Equal(t, int64(3), counter(t, tel, "otelcol_exporter_loki_entries_sent"))

			got := vl.WaitForCount(t, `x_request_id:="`+id+`" | sort by (_time)`, 3, 30*time.Second)
			assert.Equal(t, "request received", got[0]["_msg"])
			assert.Equal(t, "Handling request", got[1]["_msg"])
			assert.Equal(t, "request completed", got[2]["_msg"])

			// Timestamps arrive to the nanosecond.
			ts, err := time.Parse(time.RFC3339Nano, got[0]["_time"].(string))
			require.NoError(t, err)
			assert.True(t, ts.Equal(t0), "got %s", ts)

			// Labels are the stream ...
			assert.Equal(t, `{dynamo_component="frontend",level="info",service_name="dynamo-frontend"}`, got[0]["_stream"])
			assert.Equal(t, `{dynamo_component="worker",dynamo_role="prefill",level="debug",service_name="dynamo-worker-prefill"}`, got[1]["_stream"])
			// ... and every label and structured metadata entry is a field.
			assert.Equal(t, "dynamo-frontend", got[0]["service_name"])
			assert.Equal(t, "info", got[0]["level"])
			assert.Equal(t, "80196f3e3a6fdf06d23bb9ada3788518", got[0]["trace_id"])
			assert.Equal(t, "f7e487a9d2a6bf38", got[0]["span_id"])
			assert.Equal(t, "6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44", got[0]["request_id"])
			assert.Equal(t, id, got[1]["x_request_id"])
			assert.Equal(t, "prefill", got[1]["dynamo_role"])
			assert.NotContains(t, got[1], "span_id", "the worker record has no span id")
		})
	}
}

// queryTenant runs a LogsQL query as VictoriaLogs tenant accountID.
func queryTenant(vl *testbackend.VictoriaLogs, accountID, query string) ([]map[string]any, error) {
	req, err := http.NewRequest(http.MethodPost, vl.URL("/select/logsql/query"),
		strings.NewReader(url.Values{"query": {query}}.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("AccountID", accountID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("query %q as %s: %s", query, accountID, resp.Status)
	}
	var out []map[string]any
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

func TestVictoriaLogsTenantFromResource(t *testing.T) {
	vl := testbackend.StartVictoriaLogs(t)
	cfg := testConfig(vl.LokiPushURL())
	// VictoriaLogs takes X-Scope-OrgID as its numeric account id.
	cfg.Tenant.FromResourceAttribute = "tenant"
	exp, _ := startExporter(t, cfg)

	id := fmt.Sprintf("it-tenant-%d", time.Now().UnixNano())
	ld := plog.NewLogs()
	for _, tenant := range []string{"42", "7", "42"} {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "svc-"+tenant)
		rl.Resource().Attributes().PutStr("tenant", tenant)
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		lr.Body().SetStr("for tenant " + tenant)
		lr.Attributes().PutStr("x_request_id", id)
	}
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))

	query := `x_request_id:="` + id + `"`
	for tenant, want := range map[string]int{"42": 2, "7": 1} {
		testutil.Eventually(t, 30*time.Second, 250*time.Millisecond, func() error {
			got, err := queryTenant(vl, tenant, query)
			if err != nil {
				return err
			}
			if len(got) != want {
				return fmt.Errorf("tenant %s: %d entries, want %d", tenant, len(got), want)
			}
			for _, e := range got {
				if e["_msg"] != "for tenant "+tenant {
					return fmt.Errorf("tenant %s holds %q", tenant, e["_msg"])
				}
			}
			return nil
		})
	}
	// Nothing landed in the default tenant.
	got, err := vl.Query(query)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestVictoriaLogsRejectionIsPermanent(t *testing.T) {
	vl := testbackend.StartVictoriaLogs(t)
	cfg := testConfig(vl.LokiPushURL())
	// VictoriaLogs only takes numeric tenants and answers 400 otherwise.
	cfg.Tenant.ID = "team-a"
	exp, tel := startExporter(t, cfg)
	err := exp.ConsumeLogs(context.Background(), dynamoLogs())
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "400 Bad Request")
	assert.Contains(t, err.Error(), `cannot parse accountID from "team-a"`, "the store's own message is in the error")
	assert.Equal(t, int64(1), counter(t, tel, "otelcol_exporter_loki_requests_rejected"))
}
