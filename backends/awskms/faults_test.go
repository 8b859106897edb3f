package awskms_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/awskms"
	"github.com/keyplane/keyplane/internal/localkms"
)

// faultProxy stands between the backend and a real local-kms and answers
// requests of one KMS operation itself, with a KMS error local-kms cannot
// produce on demand (it checks no credentials and never throttles).
type faultProxy struct {
	URL   string
	op    atomic.Value // string: the operation to fault
	fault atomic.Value // func(http.ResponseWriter)
	hits  atomic.Int32
}

func startFaultProxy(t *testing.T, s *localkms.Server) *faultProxy {
	target, _ := url.Parse(s.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &faultProxy{}
	p.op.Store("")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		if op == p.op.Load().(string) {
			p.hits.Add(1)
			p.fault.Load().(func(http.ResponseWriter))(w)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func kmsError(status int, code string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		w.Write([]byte(`{"__type":"` + code + `","message":"injected by the test"}`))
	}
}

// openAt opens a backend on the KMS API at endpoint (endpointURI), closed
// when the test ends.
func openAt(t *testing.T, endpoint, extra string) *awskms.Backend {
	t.Helper()
	c, err := awskms.ParseURI(endpointURI(endpoint, extra))
	if err != nil {
		t.Fatal(err)
	}
	b, err := awskms.OpenConfig(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestErrorSentinels: KMS errors map onto the sentinels, throttling only
// after the SDK's retries.
func TestErrorSentinels(t *testing.T) {
	s := localkms.Start(t)
	p := startFaultProxy(t, s)
	b := openAt(t, p.URL, "&rsa-key-usage=encrypt-decrypt")
	ctx := t.Context()
	k, err := b.GenerateKey(ctx, backend.KeySpec{Label: "f", Algorithm: backend.RSA2048})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := b.Decrypter(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, k.Public.(*rsa.PublicKey), []byte("x"), nil)
	oaep := &rsa.OAEPOptions{Hash: crypto.SHA256}

	for _, c := range []struct {
		op, code string
		status   int
		call     func() error
		want     error
		attempts int32
	}{
		{"DescribeKey", "AccessDeniedException", 400, func() error { _, err := b.Key(ctx, "f"); return err }, backend.ErrAuthentication, 1},
		{"DescribeKey", "UnrecognizedClientException", 400, func() error { _, err := b.Key(ctx, "f"); return err }, backend.ErrAuthentication, 1},
		{"Decrypt", "InvalidCiphertextException", 400, func() error { _, err := dec.Decrypt(nil, ct, oaep); return err }, backend.ErrDecryption, 1},
		{"Decrypt", "KMSInvalidStateException", 400, func() error { _, err := dec.Decrypt(nil, ct, oaep); return err }, backend.ErrNotFound, 1},
		{"Decrypt", "ThrottlingException", 400, func() error { _, err := dec.Decrypt(nil, ct, oaep); return err }, backend.ErrUnavailable, 3},
		{"ListAliases", "KMSInternalException", 500, func() error { _, err := b.Keys(ctx); return err }, backend.ErrUnavailable, 3},
	} {
		p.op.Store(c.op)
		p.fault.Store(kmsError(c.status, c.code))
		p.hits.Store(0)
		err := c.call()
		if !errors.Is(err, c.want) {
			t.Errorf("%s answering %s: %v, want %v", c.op, c.code, err, c.want)
		}
		if n := p.hits.Load(); n != c.attempts {
			t.Errorf("%s answering %s: %d attempts, want %d (the SDK's standard retryer)", c.op, c.code, n, c.attempts)
		}
		if c.want == backend.ErrDecryption && err != nil && err.Error() != "awskms: Decrypt: "+backend.ErrDecryption.Error() {
			t.Errorf("decryption error %q says more than that decryption failed", err)
		}
		if err != nil && strings.Contains(err.Error(), localkms.FakeSecretAccessKey) {
			t.Errorf("error carries the secret access key: %q", err)
		}
	}
	p.op.Store("")
	if pt, err := dec.Decrypt(nil, ct, oaep); err != nil || string(pt) != "x" {
		t.Errorf("Decrypt with the faults off: %q, %v", pt, err)
	}
}

// TestNetworkFailure: nothing listening is ErrUnavailable, after the
// SDK's retries.
func TestNetworkFailure(t *testing.T) {
	localkms.SetCredentials(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	b := openAt(t, "http://"+addr, "")
	_, err = b.Key(t.Context(), "k")
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("Key with nothing at the endpoint: %v, want ErrUnavailable", err)
	}
}

// TestCallTimeout: a Sign whose request never gets an answer returns
// ErrUnavailable within call-timeout (plus slack), not never.
func TestCallTimeout(t *testing.T) {
	s := localkms.Start(t)
	p := startFaultProxy(t, s)
	b := openAt(t, p.URL, "&call-timeout=300ms")
	ctx := t.Context()
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "slow", Algorithm: backend.ECP256}); err != nil {
		t.Fatal(err)
	}
	sg, err := b.Signer(ctx, "slow")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	defer close(release)
	p.op.Store("Sign")
	p.fault.Store(func(http.ResponseWriter) {
		select {
		case <-release:
		case <-time.After(time.Minute):
		}
	})
	d := sha256.Sum256([]byte("m"))
	start := time.Now()
	_, err = sg.Sign(rand.Reader, d[:], crypto.SHA256)
	took := time.Since(start)
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("Sign against a hung server: %v, want ErrUnavailable", err)
	}
	if took > 300*time.Millisecond+5*time.Second {
		t.Errorf("Sign against a hung server returned after %v; call-timeout is 300ms", took)
	}
}
