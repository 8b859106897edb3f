package sshagent_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/keyplane/keyplane/sshagent"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// dial connects an agent client to sock.
func dial(t *testing.T, sock string) agent.ExtendedAgent {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return agent.NewClient(c)
}

// TestSignatureFlags: over the wire, RSA signatures follow the flags
// (rsa-sha2-256, rsa-sha2-512, ssh-rsa without flags) and verify.
func TestSignatureFlags(t *testing.T) {
	for _, name := range backendNames {
		t.Run(name, func(t *testing.T) {
			b := openBackend(t, name)
			keys := generate(t, b, []backend.Algorithm{backend.RSA2048, backend.ECP256})
			a, err := sshagent.New(b)
			if err != nil {
				t.Fatal(err)
			}
			c := dial(t, serve(t, a))
			rsaPub, err := ssh.NewPublicKey(keys[backend.RSA2048].Public)
			if err != nil {
				t.Fatal(err)
			}
			data := []byte("session data")
			for _, tc := range []struct {
				flags agent.SignatureFlags
				want  string
			}{
				{0, ssh.KeyAlgoRSA},
				{agent.SignatureFlagRsaSha256, ssh.KeyAlgoRSASHA256},
				{agent.SignatureFlagRsaSha512, ssh.KeyAlgoRSASHA512},
				{agent.SignatureFlagRsaSha256 | agent.SignatureFlagRsaSha512, ssh.KeyAlgoRSASHA256},
			} {
				sig, err := c.SignWithFlags(rsaPub, data, tc.flags)
				if err != nil {
					t.Fatalf("flags %d: %v", tc.flags, err)
				}
				if sig.Format != tc.want {
					t.Errorf("flags %d: signature format %q, want %q", tc.flags, sig.Format, tc.want)
				}
				if err := rsaPub.Verify(data, sig); err != nil {
					t.Errorf("flags %d: %v", tc.flags, err)
				}
				if err := rsaPub.Verify([]byte("other data"), sig); err == nil {
					t.Errorf("flags %d: signature verifies over other data", tc.flags)
				}
			}
			// Flags mean nothing to an EC key.
			ecPub, _ := ssh.NewPublicKey(keys[backend.ECP256].Public)
			sig, err := c.SignWithFlags(ecPub, data, agent.SignatureFlagRsaSha512)
			if err != nil || sig.Format != ssh.KeyAlgoECDSA256 || ecPub.Verify(data, sig) != nil {
				t.Errorf("EC key with an RSA flag: %v, %+v", err, sig)
			}
		})
	}
}

// TestRefusals: adding, removing, locking and unlocking are refused over
// the wire and in the library, and signing with a key the agent does not
// hold fails.
func TestRefusals(t *testing.T) {
	b := openBackend(t, "software")
	keys := generate(t, b, []backend.Algorithm{backend.Ed25519})
	a, err := sshagent.New(b)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, serve(t, a))
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	pub, _ := ssh.NewPublicKey(keys[backend.Ed25519].Public)
	for name, f := range map[string]func(agent.Agent) error{
		"Add":       func(x agent.Agent) error { return x.Add(agent.AddedKey{PrivateKey: priv}) },
		"Remove":    func(x agent.Agent) error { return x.Remove(pub) },
		"RemoveAll": func(x agent.Agent) error { return x.RemoveAll() },
		"Lock":      func(x agent.Agent) error { return x.Lock([]byte("pass")) },
		"Unlock":    func(x agent.Agent) error { return x.Unlock([]byte("pass")) },
	} {
		if err := f(c); err == nil {
			t.Errorf("%s over the socket: no error", name)
		}
		if err := f(a); !errors.Is(err, sshagent.ErrReadOnly) || !errors.Is(err, backend.ErrUnsupported) {
			t.Errorf("%s: %v, want ErrReadOnly (ErrUnsupported)", name, err)
		}
	}
	// The key is still there and still signs.
	list, err := c.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("List after refusals: %v, %v", list, err)
	}
	if _, err := c.Sign(pub, []byte("x")); err != nil {
		t.Errorf("Sign after refusals: %v", err)
	}
	other, _ := ssh.NewPublicKey(priv.Public())
	if _, err := c.Sign(other, []byte("x")); err == nil {
		t.Error("signing with a key the agent does not hold: no error")
	}
	if _, err := a.Sign(other, []byte("x")); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("library Sign with an unknown key: %v, want ErrNotFound", err)
	}
	// OpenSSH's ssh-add -D fails too.
	if p, err := execLookPath("ssh-add"); err == nil {
		out, err := tool(serve(t, a), "", p, "-D")
		if err == nil {
			t.Errorf("ssh-add -D succeeded:\n%s", out)
		}
	} else if testenv.Required() {
		t.Fatal("ssh-add missing")
	}
}

// TestWithKeys: the agent serves only the named keys, and refuses a key
// SSH has no form for.
func TestWithKeys(t *testing.T) {
	b := openBackend(t, "software")
	keys := generate(t, b, []backend.Algorithm{backend.Ed25519, backend.ECP256, backend.AES256})
	a, err := sshagent.New(b, sshagent.WithKeys("ssh-ed25519"))
	if err != nil {
		t.Fatal(err)
	}
	list, err := a.List()
	if err != nil || len(list) != 1 || list[0].Comment != "ssh-ed25519" {
		t.Fatalf("List: %v, %v; want only ssh-ed25519", list, err)
	}
	ecPub, _ := ssh.NewPublicKey(keys[backend.ECP256].Public)
	if _, err := a.Sign(ecPub, []byte("x")); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("signing with a key left out: %v, want ErrNotFound", err)
	}
	if _, err := sshagent.New(b, sshagent.WithKeys("ssh-aes-256")); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("WithKeys(an AES key): %v, want ErrUnsupported", err)
	}
	if _, err := sshagent.New(b, sshagent.WithKeys("nope")); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("WithKeys(unknown): %v, want ErrNotFound", err)
	}
	signers, err := a.Signers()
	if err != nil || len(signers) != 1 {
		t.Fatalf("Signers: %v, %v", signers, err)
	}
	sig, err := signers[0].Sign(rand.Reader, []byte("y"))
	if err != nil || signers[0].PublicKey().Verify([]byte("y"), sig) != nil {
		t.Errorf("Signers()[0] signature: %v", err)
	}
}

// TestListenServe: the socket is 0600, Serve ends when its context does,
// and the socket is gone afterwards; an existing path is refused.
func TestListenServe(t *testing.T) {
	b := openBackend(t, "software")
	a, err := sshagent.New(b)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "kpagent")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "a.sock")
	l, err := sshagent.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v, %v; want 0600", fi.Mode(), err)
	}
	if _, err := sshagent.Listen(sock); !errors.Is(err, backend.ErrAlreadyExists) {
		t.Errorf("Listen on an existing path: %v, want ErrAlreadyExists", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sshagent.Serve(ctx, l, a) }()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := agent.NewClient(c).List(); err != nil {
		t.Fatal(err)
	}
	cancel() // with a connection still open
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket still there after Serve: %v", err)
	}
	if _, err := agent.NewClient(c).List(); err == nil {
		t.Error("a connection open when Serve ended still answers")
	}
}

// TestDeletedKey: a key deleted from the backend while the agent runs is
// no longer listed, and the agent no longer signs with it (a software
// signer made earlier would still hold the key).
func TestDeletedKey(t *testing.T) {
	b := openBackend(t, "software")
	k, err := b.GenerateKey(context.Background(), backend.KeySpec{Label: "gone", Algorithm: backend.Ed25519})
	if err != nil {
		t.Fatal(err)
	}
	a, err := sshagent.New(b)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := ssh.NewPublicKey(k.Public)
	if _, err := a.Sign(pub, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteKey(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	if list, err := a.List(); err != nil || len(list) != 0 {
		t.Errorf("List after delete: %v, %v", list, err)
	}
	if _, err := a.Sign(pub, []byte("x")); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Sign after delete: %v, want ErrNotFound", err)
	}

	// The same with WithKeys.
	k, err = b.GenerateKey(context.Background(), backend.KeySpec{Label: "gone2", Algorithm: backend.Ed25519})
	if err != nil {
		t.Fatal(err)
	}
	a, err = sshagent.New(b, sshagent.WithKeys("gone2"))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ = ssh.NewPublicKey(k.Public)
	if _, err := a.Sign(pub, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteKey(context.Background(), "gone2"); err != nil {
		t.Fatal(err)
	}
	if list, err := a.List(); err != nil || len(list) != 0 {
		t.Errorf("WithKeys: List after delete: %v, %v", list, err)
	}
	if _, err := a.Sign(pub, []byte("x")); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("WithKeys: Sign after delete: %v, want ErrNotFound", err)
	}
}
