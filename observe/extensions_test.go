package observe_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/observe"
)

// extended is a backend with the extension interfaces, each over one
// in-memory key: enough to see that the wrapper observes them and passes
// results through unchanged.
type extended struct {
	backend.Backend
	x   *ecdh.PrivateKey
	kem *mlkem.DecapsulationKey768
}

func (e extended) KeyExchanger(ctx context.Context, ref string) (ecdh.KeyExchanger, error) {
	if ref != "agree" {
		return nil, backend.ErrNotFound
	}
	return e.x, nil
}

func (e extended) Decapsulator(ctx context.Context, ref string) (crypto.Decapsulator, error) {
	if ref != "kem" {
		return nil, backend.ErrNotFound
	}
	return e.kem, nil
}

// TestExtensionsObserved checks the key-agreement and KEM handles of a
// wrapped backend: same results as the inner ones, one audit record per
// use, and nothing of the shared secrets in the log.
func TestExtensionsObserved(t *testing.T) {
	h := newHarness(t, "ext")
	ks, err := software.Open(t.Context(), "software:memory")
	if err != nil {
		t.Fatal(err)
	}
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dk, err := mlkem.GenerateKey768()
	if err != nil {
		t.Fatal(err)
	}
	b := observe.Wrap(extended{Backend: ks, x: x, kem: dk}, h.opts)
	defer b.Close()

	kx, err := b.(backend.KeyAgreement).KeyExchanger(t.Context(), "agree")
	if err != nil {
		t.Fatal(err)
	}
	peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
	got, err := kx.ECDH(peer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := peer.ECDH(x.PublicKey())
	if !bytes.Equal(got, want) {
		t.Error("the observed ECDH gives another secret than the key inside")
	}
	if !kx.PublicKey().Equal(x.PublicKey()) || kx.Curve() != ecdh.X25519() {
		t.Error("the observed key exchanger reports another public key or curve")
	}

	d, err := b.(backend.KEM).Decapsulator(t.Context(), "kem")
	if err != nil {
		t.Fatal(err)
	}
	shared, ct := d.Encapsulator().Encapsulate()
	back, err := d.Decapsulate(ct)
	if err != nil || !bytes.Equal(back, shared) {
		t.Fatalf("observed decapsulation: %v, same key %v", err, bytes.Equal(back, shared))
	}
	if _, err := b.(backend.KEM).Decapsulator(t.Context(), "nope"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Decapsulator of a missing key: %v", err)
	}

	var methods []string
	for _, r := range h.records(t) {
		methods = append(methods, r["method"].(string)+"/"+r["outcome"].(string))
	}
	wantMethods := []string{"key-exchanger/ok", "ecdh/ok", "decapsulator/ok", "decapsulate/ok", "decapsulator/not-found"}
	if len(methods) != len(wantMethods) {
		t.Fatalf("audit records %v, want %v", methods, wantMethods)
	}
	for i := range methods {
		if methods[i] != wantMethods[i] {
			t.Errorf("record %d is %s, want %s", i, methods[i], wantMethods[i])
		}
	}
	for _, secret := range [][]byte{got, shared} {
		if bytes.Contains([]byte(h.logText()), secret) {
			t.Error("the audit log holds a shared secret")
		}
	}
}

// TestExtensionsUnsupported checks that a wrapped backend without the
// extension interfaces answers ErrUnsupported from each of their methods,
// and records that outcome.
func TestExtensionsUnsupported(t *testing.T) {
	h := newHarness(t, "plain")
	ks, err := software.Open(t.Context(), "software:memory")
	if err != nil {
		t.Fatal(err)
	}
	b := observe.Wrap(struct{ backend.Backend }{ks}, h.opts)
	defer b.Close()
	ctx := t.Context()
	if _, err := b.(backend.KeyAgreement).KeyExchanger(ctx, "k"); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("KeyExchanger: %v, want ErrUnsupported", err)
	}
	if _, err := b.(backend.KEM).Decapsulator(ctx, "k"); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("Decapsulator: %v, want ErrUnsupported", err)
	}
	kv := b.(backend.KeyVersions)
	if _, err := kv.Rotate(ctx, "k"); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("Rotate: %v, want ErrUnsupported", err)
	}
	if _, err := kv.Versions(ctx, "k"); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("Versions: %v, want ErrUnsupported", err)
	}
	if err := kv.SetMinVersion(ctx, "k", 2); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("SetMinVersion: %v, want ErrUnsupported", err)
	}
	if err := kv.DeleteVersion(ctx, "k", 1); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("DeleteVersion: %v, want ErrUnsupported", err)
	}
	cs := b.(backend.CertificateStore)
	if err := cs.StoreCertificates(ctx, "k", nil); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("StoreCertificates: %v, want ErrUnsupported", err)
	}
	if _, err := cs.Certificates(ctx, "k"); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("Certificates: %v, want ErrUnsupported", err)
	}
	if err := cs.DeleteCertificates(ctx, "k"); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("DeleteCertificates: %v, want ErrUnsupported", err)
	}
	if _, err := b.(backend.KeyWrapper).WrapKey(ctx, "k", "w", backend.WrapAESKeyWrapPad); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("WrapKey: %v, want ErrUnsupported", err)
	}
	if _, err := b.(backend.KeyUnwrapper).UnwrapKey(ctx, &backend.WrappedKey{Mechanism: backend.WrapAESKeyWrapPad}, "w", "k"); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("UnwrapKey: %v, want ErrUnsupported", err)
	}
	dkg := b.(backend.DataKeyGenerator)
	if _, _, err := dkg.GenerateDataKey(ctx, "k", 32, nil); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("GenerateDataKey: %v, want ErrUnsupported", err)
	}
	if _, err := dkg.DecryptDataKey(ctx, "k", []byte("wrapped"), nil); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("DecryptDataKey: %v, want ErrUnsupported", err)
	}
	recs := h.records(t)
	if len(recs) != 13 {
		t.Fatalf("%d audit records, want 13:\n%s", len(recs), h.logText())
	}
	for i, r := range recs {
		if r["outcome"] != "unsupported" {
			t.Errorf("record %d (%v): outcome %v, want unsupported", i, r["method"], r["outcome"])
		}
	}
}
