//go:build cgo && !nopkcs11

package pkcs11

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"
)

// TestPoolWaiting holds the only session of a max-sessions=1 backend and
// checks that a signature waiting for it shows in SessionPoolStats as one
// waiting caller, and as none once it got the session.
func TestPoolWaiting(t *testing.T) {
	b := openTest(t, "max-sessions=1")
	label := genKey(t, b, "ec-p256")
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	held, err := b.pool.get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("waiting"))
	done := make(chan error, 1)
	go func() {
		_, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for b.SessionPoolStats().Waiting != 1 {
		if time.Now().After(deadline) {
			b.pool.put(held)
			t.Fatalf("no waiting caller reported while the only session is held: %+v", b.SessionPoolStats())
		}
		time.Sleep(time.Millisecond)
	}
	if st := b.SessionPoolStats(); st.Open != 1 || st.Idle != 0 || st.Max != 1 {
		t.Errorf("with the only session held: %+v, want Max 1, Open 1, Idle 0", st)
	}
	b.pool.put(held)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := b.SessionPoolStats(); st.Waiting != 0 || st.Idle != 1 {
		t.Errorf("after the signature: %+v, want Waiting 0, Idle 1", st)
	}
}
