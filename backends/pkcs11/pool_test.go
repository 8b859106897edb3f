//go:build cgo && !nopkcs11

package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"testing"
)

func TestPoolConcurrent(t *testing.T) {
	b := openTest(t, "max-sessions=3")
	label := genKey(t, b, "ec-p256")
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	pub := s.Public().(*ecdsa.PublicKey)
	digest := sha256.Sum256([]byte("concurrent"))
	var wg sync.WaitGroup
	var mu sync.Mutex
	maxOpen := 0
	for range 12 {
		wg.Go(func() {
			for range 25 {
				sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
				if err != nil {
					t.Error(err)
					return
				}
				if !ecdsa.VerifyASN1(pub, digest[:], sig) {
					t.Error("signature does not verify")
				}
				mu.Lock()
				maxOpen = max(maxOpen, b.Stats().Open)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	st := b.Stats()
	if st.Max != 3 || maxOpen > 3 || st.Open > 3 || st.Opened > 3 {
		t.Errorf("pool %+v, at most %d open; want max-sessions=3 respected and sessions reused", st, maxOpen)
	}
	if st.Idle != st.Open {
		t.Errorf("pool %+v: sessions still busy after every goroutine finished", st)
	}
}

func TestPoolDefaultSize(t *testing.T) {
	b := openTest(t, "")
	caps, err := b.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Stats().Max, b.poolSize(); got != want || got < 4 {
		t.Errorf("pool size %d, want %d (>= 4)", got, want)
	}
	if caps.Details["max-sessions"] != "no stated limit" {
		t.Errorf("SoftHSM2's session limit reported as %q", caps.Details["max-sessions"])
	}
	for _, k := range []string{"token-label", "token-serial", "library-description", "mechanisms", "oaep-fallback", "oaep-native"} {
		if caps.Details[k] == "" {
			t.Errorf("capabilities detail %s missing", k)
		}
	}
	t.Logf("%s\n%v\n%v", caps.Description, caps.Algorithms, caps.Operations)
}
