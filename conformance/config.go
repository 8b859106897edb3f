package conformance

import (
	"crypto/rand"
	"encoding/hex"
	"io"

	"github.com/keyplane/keyplane/backend"
)

// Config adjusts a conformance run. The zero value runs every check for
// every algorithm the backend reports.
type Config struct {
	// Reopen: after making keys, Close the backend and open it again;
	// expect keys, public keys and signatures to survive. Set it for
	// backends whose keys outlive the process (Capabilities.Persistent).
	Reopen bool
	// LabelPrefix starts the label of every key the suite creates; the
	// suite deletes exactly the keys whose labels carry it. The default is
	// "conformance-<random hex>-".
	LabelPrefix string
	// Algorithms restricts the run to these key algorithms; the default is
	// every algorithm the backend's Capabilities report.
	Algorithms []backend.Algorithm
	// Concurrency is the number of goroutines in the concurrent checks;
	// the default is 8.
	Concurrency int
	// Progress, if non-nil, receives one line per check as it finishes:
	//	ok   sign/ec-p256/ecdsa-sha256 (12ms)
	Progress io.Writer
	// Short skips the slowest cases (rsa-4096 key generation) and makes
	// the concurrent checks smaller, for quick runs.
	Short bool
	// TrustedWrappingKey names a key of the backend under which keys made
	// wrappable (KeySpec.Wrappable) may be wrapped with aes-key-wrap-pad:
	// on PKCS#11 an AES-256 key with CKA_TRUSTED true, which only the
	// token's security officer can make (pkcs11.CreateTrustedWrappingKey,
	// keyplane wrapping-key create), so the harness makes it before the
	// run. UnwrappingKey names the key that unwraps what it wrapped, in
	// the same backend (the trusted key only wraps: its unwrap-only half
	// under another label); empty, TrustedWrappingKey itself. Without
	// them the wrap/round-trip checks are skipped. The suite never
	// deletes either.
	TrustedWrappingKey string
	UnwrappingKey      string
}

func (c Config) withDefaults() Config {
	if c.LabelPrefix == "" {
		var b [6]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		c.LabelPrefix = "conformance-" + hex.EncodeToString(b[:]) + "-"
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	return c
}
