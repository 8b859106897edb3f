// Package localkms serves local-kms (github.com/nsmithuk/local-kms, a
// real implementation of the AWS KMS API) inside a test process, on
// 127.0.0.1 only, with a throwaway database, for the awskms backend's
// tests. It is test support: only tests import it.
//
// local-kms's own executable listens on all interfaces, so it is not run;
// its request handlers are served through net/http/httptest instead. The
// dispatch is src.HandleRequest's (the X-Amz-Target header names a
// method of handler.RequestHandler), repeated here because
// src.HandleRequest logs through an unexported logger at info level, one
// line per key made and per signature, on stderr, where it would break up
// benchmark output; this one hands the handlers a logger that discards.
//
// # Credentials
//
// Start points the AWS SDK's default chain at fake static credentials in
// a shared credentials file under a temporary $HOME (which a plugin child
// inherits; no credential travels in the environment), and clears the
// AWS_* variables that would override them, for the test's duration. The
// SDK reads $HOME at its initialisation, so this process is given the
// files by name (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE).
//
// # Known differences from AWS KMS (pseudo-version v0.0.0-20260228092603-2a5e92d09ab6)
//
//   - RSA-PSS signatures carry the maximum salt length (rsa.SignPSS with
//     nil options), not the hash length AWS uses: open the backend with
//     pss-salt=maximum.
//   - No RotateKeyOnDemand (501 Not Implemented), no grants.
//   - CancelKeyDeletion leaves a key Enabled (AWS: Disabled).
//   - No credential or signature checks: any access key is accepted, so
//     AccessDenied cannot be produced with it.
package localkms

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/data"
	"github.com/nsmithuk/local-kms/src/handler"
	"github.com/sirupsen/logrus"
)

// Region and AccountID are what the served KMS says of itself in ARNs.
const (
	Region    = "eu-west-2"
	AccountID = "111122223333"
)

// Server is a running local-kms.
type Server struct {
	// URL is the endpoint, http://127.0.0.1:<port>.
	URL string

	mu     sync.Mutex
	counts map[string]int
}

// configOnce guards local-kms's package-level configuration.
var configOnce sync.Once

// Start serves a fresh local-kms until the test ends and sets up the
// test's AWS credentials (see the package doc).
func Start(t testing.TB) *Server {
	t.Helper()
	configOnce.Do(func() {
		config.AWSRegion = Region
		config.AWSAccountId = AccountID
	})
	dir := t.TempDir()
	db := data.NewDatabase(filepath.Join(dir, "db"))
	s := &Server{counts: map[string]int{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		s.mu.Lock()
		s.counts[op]++
		s.mu.Unlock()
		serve(w, r, db)
	}))
	srv.Start() // httptest listens on 127.0.0.1
	t.Cleanup(func() {
		srv.Close()
		db.Close()
	})
	s.URL = srv.URL
	SetCredentials(t)
	return s
}

// quiet is the logger local-kms's handlers get.
var quiet = func() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}()

// serve is src.HandleRequest with the quiet logger.
func serve(w http.ResponseWriter, r *http.Request, db *data.Database) {
	switch {
	case r.URL.Path != "/":
		http.Error(w, "Page not found", http.StatusNotFound)
		return
	case r.Method != http.MethodPost:
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	case !strings.Contains(r.Header.Get("Content-Type"), "json"):
		http.Error(w, "Only JSON based content types accepted", http.StatusUnsupportedMediaType)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	m := reflect.ValueOf(handler.NewRequestHandler(r, quiet, db)).MethodByName(op)
	if op == "" || !m.IsValid() || m.Type().NumIn() != 0 || m.Type().NumOut() != 1 {
		w.WriteHeader(http.StatusNotImplemented)
		fmt.Fprintf(w, "Passed X-Amz-Target (%s) is not implemented", r.Header.Get("X-Amz-Target"))
		return
	}
	resp, ok := m.Call(nil)[0].Interface().(handler.Response)
	if !ok {
		http.Error(w, "local-kms handler returned no Response", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(resp.Code)
	io.WriteString(w, resp.Body)
}

// Count returns how many requests of a KMS operation ("Sign",
// "GetPublicKey") reached the server so far.
func (s *Server) Count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[op]
}

// FakeAccessKeyID is the access key ID of the test credentials.
const FakeAccessKeyID = "AKIDLOCALKMSTEST"

// FakeSecretAccessKey is the secret of the test credentials; tests look for
// it in errors and logs.
const FakeSecretAccessKey = "localkms-test-secret-0123456789abcdef"

// SetCredentials makes the SDK's default chain find fake static
// credentials for the test's duration.
func SetCredentials(t testing.TB) {
	t.Helper()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	creds := "[default]\naws_access_key_id = " + FakeAccessKeyID + "\naws_secret_access_key = " + FakeSecretAccessKey + "\n"
	if err := os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".aws", "config"), []byte("[default]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	for _, v := range []string{
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS",
	} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	// The SDK reads $HOME once, at its package initialisation: this
	// process is told the files by name, and children started from now on
	// (a plugin) find them under the new $HOME.
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, ".aws", "credentials"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, ".aws", "config"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}
