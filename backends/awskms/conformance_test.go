package awskms_test

import (
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/conformance"
	"github.com/keyplane/keyplane/internal/localkms"
)

// The suite runs on local-kms (github.com/nsmithuk/local-kms
// v0.0.0-20260228092603-2a5e92d09ab6), served in this process on
// 127.0.0.1 by internal/localkms. Where it differs from AWS KMS:
//
//   - it signs RSA-PSS with the maximum salt length (AWS: the hash
//     length): hence pss-salt=maximum below, and the suite, reading
//     Details["pss-salt"], expects salt=auto to work and the other salt
//     lengths to be refused, and skips TLS 1.3 and x509 RSA-PSS for RSA
//     keys (they need the hash length);
//   - no RotateKeyOnDemand (501), no grants; CancelKeyDeletion leaves a key
//     Enabled (AWS: Disabled); no credential checks (faults_test.go
//     injects AccessDenied and throttling).
//
// localURI is the backend URI for a local-kms server: its region and
// endpoint, and pss-salt=maximum, since local-kms signs RSA-PSS with the
// maximum salt length (AWS: the hash length). The suite reads that from
// the capability report (Details["pss-salt"]) and expects the other salt
// lengths to be refused.
func localURI(s *localkms.Server, extra string) string { return endpointURI(s.URL, extra) }

// endpointURI is the URI of a backend on the KMS API at endpoint (a
// local-kms server, or a proxy in front of one), with extra query
// attributes ("&name=value…").
func endpointURI(endpoint, extra string) string {
	return "awskms:region=" + localkms.Region + "?endpoint=" + endpoint + "&pss-salt=maximum" + extra
}

func openURI(uri string) func(t *testing.T) backend.Backend {
	return func(t *testing.T) backend.Backend {
		t.Helper()
		b, err := backend.Open(t.Context(), uri)
		if err != nil {
			t.Fatalf("backend.Open(%q): %v", uri, err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
}

// TestConformanceLocalKMS runs the suite on local-kms with RSA keys for
// signing (and EC keys), and a second time with RSA keys for decryption.
func TestConformanceLocalKMS(t *testing.T) {
	s := localkms.Start(t)
	t.Run("sign-verify", func(t *testing.T) {
		conformance.Run(t, openURI(localURI(s, "")), conformance.Config{Reopen: true, Short: testing.Short()})
	})
	t.Run("encrypt-decrypt", func(t *testing.T) {
		conformance.Run(t, openURI(localURI(s, "&rsa-key-usage=encrypt-decrypt")), conformance.Config{
			Reopen: true, Short: testing.Short(),
			Algorithms: []backend.Algorithm{backend.RSA2048, backend.RSA3072, backend.RSA4096},
		})
	})
}
