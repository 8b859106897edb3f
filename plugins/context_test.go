package plugins_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/plugins"
)

// TestContext: a cancelled context stops a call before it is sent, and a
// deadline cuts a slow call short (gRPC carries the deadline to the
// plugin, whose handler context ends with it).
func TestContext(t *testing.T) {
	b, _ := openPlugin(t, "plugin+software:memory", plugins.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.Keys(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Keys with a cancelled context: %v, want context.Canceled", err)
	}

	ctx, cancel = context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := b.GenerateKey(ctx, backend.KeySpec{Label: "slow", Algorithm: backend.RSA4096})
	took := time.Since(start)
	if err == nil {
		t.Skipf("RSA-4096 generation finished within 20ms (%v); cannot observe the deadline", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("GenerateKey past its deadline: %v, want context.DeadlineExceeded and ErrUnavailable", err)
	}
	if took > 2*time.Second {
		t.Errorf("GenerateKey returned %v after a 20ms deadline", took)
	}
	// The plugin is still healthy afterwards.
	if _, err := b.Keys(t.Context()); err != nil {
		t.Errorf("Keys after a deadline: %v", err)
	}
}

// TestLargeMessages sends more than gRPC's default 4 MiB limit: AEAD over
// a large file and Ed25519 over a large message (which leaves the direct
// channel for gRPC above 1 MiB).
func TestLargeMessages(t *testing.T) {
	ctx := t.Context()
	b, _ := openPlugin(t, "plugin+software:memory", plugins.Options{})
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "aes", Algorithm: backend.AES256}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "ed", Algorithm: backend.Ed25519}); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("keyplane"), 6<<20/8) // 6 MiB
	a, err := b.(backend.AEADBackend).AEAD(ctx, "aes")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := a.Seal(ctx, big, nil)
	if err != nil {
		t.Fatalf("Seal of 6 MiB: %v", err)
	}
	opened, err := a.Open(ctx, sealed, nil)
	if err != nil || !bytes.Equal(opened, big) {
		t.Fatalf("Open of 6 MiB: %v", err)
	}
	s, err := b.Signer(ctx, "ed")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.Sign(nil, big, crypto.Hash(0))
	if err != nil || !ed25519.Verify(s.Public().(ed25519.PublicKey), big, sig) {
		t.Fatalf("Ed25519 over 6 MiB: %v", err)
	}
}
