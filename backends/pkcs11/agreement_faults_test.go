//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

func (a *blockAPI) DeriveKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, base pkcs11.ObjectHandle, temp []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	a.hold("DeriveKey", sh)
	return a.spyAPI.DeriveKey(sh, m, base, temp)
}

// TestAgreementCallTimeout: an ECDH stuck in C_DeriveKey returns
// ErrUnavailable at the call timeout, as a signature does, and works
// again once the module returns; a KeyExchanger call with an ended
// context starts nothing. (The key is made on a backend with the default
// call timeout, and the timeout here is long enough for the probe's key
// pairs on a loaded machine: a call abandoned before the armed one would
// leave the module hung for the rest of the test binary.)
func TestAgreementCallTimeout(t *testing.T) {
	const timeout = 2 * time.Second
	label := genKey(t, openTest(t, ""), backend.ECP256)
	b, a := openBlocking(t, "call-timeout=2s")
	x, err := b.KeyExchanger(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	peer, _ := ecdh.P256().GenerateKey(rand.Reader)

	entered := a.arm("DeriveKey")
	took, err := timed(timeout+5*time.Second, func() error { _, err := x.ECDH(peer.PublicKey()); return err })
	select {
	case <-entered:
	default:
		t.Fatal("the armed C_DeriveKey was never called")
	}
	if err == errStillBlocked || took > timeout+slack || took < timeout-20*time.Millisecond {
		a.release()
		t.Fatalf("stuck ECDH returned after %v (%v), want at the %v call timeout", took, err, timeout)
	}
	if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "call-timeout of 2s") {
		t.Errorf("stuck ECDH: %v, want ErrUnavailable naming the call-timeout", err)
	}
	a.release()
	waitReturned(t, b.mod)
	got, err := x.ECDH(peer.PublicKey())
	want, _ := peer.ECDH(x.PublicKey())
	if err != nil || string(got) != string(want) {
		t.Errorf("ECDH after the stuck call returned: %x, %v; want %x", got, err, want)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.KeyExchanger(ctx, "anything"); !errors.Is(err, backend.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("KeyExchanger with a cancelled context: %v, want ErrUnavailable wrapping context.Canceled", err)
	}
}

// TestAgreementDestroyFails: when the derived secret object cannot be
// destroyed, ECDH hands out no secret and says why.
func TestAgreementDestroyFails(t *testing.T) {
	b, spy := openSpy(t, "")
	_, x := genExchanger(t, b, backend.ECP256)
	peer, _ := ecdh.P256().GenerateKey(rand.Reader)
	spy.inject("DestroyObject", pkcs11.CKR_ACTION_PROHIBITED)
	secret, err := x.ECDH(peer.PublicKey())
	if err == nil || secret != nil || !strings.Contains(err.Error(), "destroying the derived secret object") {
		t.Errorf("ECDH whose secret object is not destroyed: %x, %v; want no secret and an error saying so", secret, err)
	}
	if _, err := x.ECDH(peer.PublicKey()); err != nil {
		t.Errorf("ECDH after the fault: %v", err)
	}
}
