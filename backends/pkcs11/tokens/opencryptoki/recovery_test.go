//go:build cgo && !nopkcs11

package opencryptoki_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	miekg "github.com/miekg/pkcs11"
)

// TestRecoveryKeepsKeys: real recoveries — the library finalized under
// the backend (C_Finalize from elsewhere in the process, as a careless
// library might), three times — end with every key found and usable
// again: the backend re-initializes the module, logs in again and finds
// the keys by label and ID (the token gives them new handles).
func TestRecoveryKeepsKeys(t *testing.T) {
	b := openToken(t)
	var labels []string
	for i := range 3 {
		label := fmt.Sprintf("recovery-%d-%x", i, randomBytes(4))
		if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: label, Algorithm: backend.RSA2048}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.DeleteKey(t.Context(), label) })
		labels = append(labels, label)
	}
	fernetLabel := fmt.Sprintf("recovery-fernet-%x", randomBytes(4))
	if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: fernetLabel, Algorithm: backend.Fernet}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.DeleteKey(t.Context(), fernetLabel) })

	signers := make([]crypto.Signer, len(labels))
	for i, l := range labels {
		s, err := b.Signer(t.Context(), l)
		if err != nil {
			t.Fatal(err)
		}
		signers[i] = s
	}
	signOnce := func(s crypto.Signer) error {
		digest := sha256.Sum256([]byte("recovery"))
		sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err == nil {
			err = rsa.VerifyPKCS1v15(s.Public().(*rsa.PublicKey), crypto.SHA256, digest[:], sig)
		}
		return err
	}

	other := miekg.New(token(t).Module) // the same library, another handle
	if other == nil {
		t.Fatal("loading the module a second time failed")
	}
	// C_Finalize while another thread is inside the library is undefined
	// (opencryptoki then crashes the process): finalize between
	// operations, never during one.
	for round := range 3 {
		for i, s := range signers {
			if err := signOnce(s); err != nil {
				t.Fatalf("round %d: signing with %q before C_Finalize: %v", round, labels[i], err)
			}
		}
		time.Sleep(600 * time.Millisecond) // re-initialization is at most every 500 ms
		if err := other.Finalize(); err != nil {
			t.Fatalf("C_Finalize: %v", err)
		}
		s := signers[round%len(signers)]
		err := signOnce(s)
		if err == nil || !errors.Is(err, backend.ErrUnavailable) {
			t.Fatalf("round %d: signing after C_Finalize: %v, want ErrUnavailable (CKR_CRYPTOKI_NOT_INITIALIZED)", round, err)
		}
		// The next calls recover (ErrUnavailable until then, never
		// ErrNotFound).
		for deadline := time.Now().Add(5 * time.Second); err != nil; time.Sleep(20 * time.Millisecond) {
			err = signOnce(s)
			if errors.Is(err, backend.ErrNotFound) || time.Now().After(deadline) {
				t.Fatalf("round %d: signing while the backend recovers: %v", round, err)
			}
		}
	}
	// Then many goroutines at once on the recovered backend.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	for g := range 4 {
		wg.Go(func() {
			for i := range 20 {
				if err := signOnce(signers[(g+i)%len(signers)]); err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d of 80 concurrent signatures after the recoveries failed, first: %v", len(failures), failures[0])
	}

	// Every key is there and works; the token comes back.
	for i, s := range signers {
		if err := signOnce(s); err != nil {
			t.Errorf("signing with %q after the recoveries: %v", labels[i], err)
		}
	}
	keys, err := b.Keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range append(slices.Clone(labels), fernetLabel) {
		if !slices.ContainsFunc(keys, func(k *backend.Key) bool { return k.Label == l }) {
			t.Errorf("Keys after the recoveries does not list %q", l)
		}
		if _, err := b.Key(t.Context(), l); err != nil {
			t.Errorf("Key(%q) after the recoveries: %v", l, err)
		}
	}
	fk, err := b.Fernet(t.Context(), fernetLabel)
	if err == nil {
		_, err = fk.MAC(t.Context(), []byte("x"))
	}
	if err != nil {
		t.Errorf("fernet MAC after the recoveries: %v", err)
	}
}
