package configs

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// writeTestPKI writes a CA and a server certificate for 127.0.0.1 into dir and
// returns the CA pool and the file paths.
func writeTestPKI(t *testing.T, dir string) (pool *x509.CertPool, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "otelcol-dynamo test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "otelcol-dynamo"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)

	certFile = filepath.Join(dir, "tls.crt")
	keyFile = filepath.Join(dir, "tls.key")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	pool = x509.NewCertPool()
	pool.AddCert(caCert)
	return pool, certFile, keyFile
}

func randomSecret(t *testing.T, prefix string) string {
	b := make([]byte, 16)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return prefix + hex.EncodeToString(b)
}

func oneSpan() ptraceotlp.ExportRequest {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "dynamo-frontend")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName("http-request")
	s.SetTraceID([16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	s.SetSpanID([8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	s.Attributes().PutStr("x_request_id", "secure-test-001")
	return ptraceotlp.NewExportRequestFromTraces(td)
}

// TestSecureOverlay runs the gateway with configs/secure.overlay.yaml: both
// OTLP receivers speak TLS only and refuse requests without the bearer token,
// and no credential appears in the collector's own logs, even at debug level.
func TestSecureOverlay(t *testing.T) {
	root := testutil.RepoRoot(t)
	dir := t.TempDir()
	pool, certFile, keyFile := writeTestPKI(t, dir)
	token := randomSecret(t, "tok-")
	tenant := randomSecret(t, "tenant-")
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token), 0o600))

	grpcAddr, httpAddr, healthAddr := testutil.FreeAddr(t), testutil.FreeAddr(t), testutil.FreeAddr(t)
	proc := testutil.StartProcess(t, "otelcol-dynamo", testutil.CollectorBinary(t), []string{
		"--config", filepath.Join(root, "configs", "otelcol-dynamo.yaml"),
		"--config", filepath.Join(root, "configs", "secure.overlay.yaml"),
	}, []string{
		"OTLP_GRPC_ENDPOINT=" + grpcAddr, "OTLP_HTTP_ENDPOINT=" + httpAddr,
		"HEALTH_CHECK_ENDPOINT=" + healthAddr, "METRICS_HOST=127.0.0.1",
		"METRICS_PORT=" + itoa(testutil.FreePort(t)), "STORAGE_DIR=" + filepath.Join(dir, "storage"),
		// Nothing listens there: exports fail and are retried, which logs at debug level.
		"TEMPO_ENDPOINT=" + testutil.FreeAddr(t), "TEMPO_TENANT=" + tenant,
		"LOKI_ENDPOINT=http://" + testutil.FreeAddr(t) + "/otlp", "LOKI_TENANT=" + tenant,
		"OTLP_BEARER_TOKEN_FILE=" + tokenFile, "OTLP_TLS_CERT_FILE=" + certFile, "OTLP_TLS_KEY_FILE=" + keyFile,
		"LOG_LEVEL=debug",
	})
	testutil.Eventually(t, 60*time.Second, 100*time.Millisecond, func() error {
		if proc.Exited() {
			t.Fatalf("collector exited:\n%s", proc.Output())
		}
		resp, err := http.Get("http://" + healthAddr + "/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return &net.AddrError{Err: resp.Status, Addr: healthAddr}
		}
		return nil
	})

	tlsConf := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}

	t.Run("grpc", func(t *testing.T) {
		conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(tlsConf)))
		require.NoError(t, err)
		defer conn.Close()
		client := ptraceotlp.NewGRPCClient(conn)
		export := func(md metadata.MD) error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if md != nil {
				ctx = metadata.NewOutgoingContext(ctx, md)
			}
			_, err := client.Export(ctx, oneSpan())
			return err
		}
		assert.Equal(t, codes.Unauthenticated, status.Code(export(nil)), "no token")
		assert.Equal(t, codes.Unauthenticated, status.Code(export(metadata.Pairs("authorization", "Bearer wrong"))), "wrong token")
		assert.NoError(t, export(metadata.Pairs("authorization", "Bearer "+token)), "right token")
	})

	t.Run("http", func(t *testing.T) {
		body, err := oneSpan().MarshalProto()
		require.NoError(t, err)
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConf}}
		post := func(auth string) int {
			req, err := http.NewRequest(http.MethodPost, "https://"+httpAddr+"/v1/traces", bytes.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-protobuf")
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := client.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			return resp.StatusCode
		}
		assert.Equal(t, http.StatusUnauthorized, post(""), "no token")
		assert.Equal(t, http.StatusUnauthorized, post("Bearer wrong"), "wrong token")
		assert.Equal(t, http.StatusOK, post("Bearer "+token), "right token")

		// Plaintext to the TLS listener gets no OTLP answer.
		resp, err := http.Post("http://"+httpAddr+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
		if err == nil {
			resp.Body.Close()
			assert.NotEqual(t, http.StatusOK, resp.StatusCode, "plaintext request accepted by the TLS listener")
		}
	})

	// Let the exporters fail against the dead endpoints at least once, so their
	// (debug-level) error paths are in the log we search.
	testutil.Eventually(t, 30*time.Second, 100*time.Millisecond, func() error {
		if !bytes.Contains([]byte(proc.Output()), []byte("Exporting failed")) {
			return &net.AddrError{Err: "no export failure logged yet", Addr: ""}
		}
		return nil
	})
	proc.Stop(15 * time.Second)
	out := proc.Output()
	assert.Contains(t, out, "debug", "the collector should have logged at debug level")
	assert.NotContains(t, out, token, "the bearer token appears in the collector's logs")
	assert.NotContains(t, out, tenant, "the tenant header appears in the collector's logs")
}
