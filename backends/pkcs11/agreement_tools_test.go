//go:build cgo && !nopkcs11

package pkcs11

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
)

// TestAgreementPKCS11ToolDerive: OpenSC's pkcs11-tool --derive
// (CKM_ECDH1_DERIVE) with a P-256 key keyplane generated gives the secret
// keyplane's ECDH gives, and crypto/ecdh's; an EC key pkcs11-tool
// generates with its default usage (OpenSC 0.23 sets CKA_DERIVE true on EC
// keys unless a usage is named) does key agreement through keyplane, one
// made with --usage-sign alone (CKA_DERIVE false) is refused as a key made
// to sign only.
func TestAgreementPKCS11ToolDerive(t *testing.T) {
	tok := token(t)
	tool := testenv.Command(t, "pkcs11-tool", "opensc")
	b := openTest(t, "")
	login := []string{"--module", tok.Module, "--token-label", tok.Label, "--login", "--pin", tok.PIN} // a throwaway test PIN
	dir := t.TempDir()

	label, x := genExchanger(t, b, backend.ECP256)
	k, err := b.Key(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	peer, _ := ecdh.P256().GenerateKey(rand.Reader)
	spki, err := x509.MarshalPKIXPublicKey(peer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	in, out := filepath.Join(dir, "peer.der"), filepath.Join(dir, "secret.bin")
	if err := os.WriteFile(in, spki, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(slices.Clone(login), "--derive", "-m", "ECDH1-DERIVE", "--id", hex.EncodeToString(k.ID), "-i", in, "-o", out)
	if o, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		t.Fatalf("pkcs11-tool --derive: %v\n%s", err, o)
	}
	fromTool, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := x.ECDH(peer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := peer.ECDH(x.PublicKey())
	if !bytes.Equal(fromTool, ours) || !bytes.Equal(ours, want) {
		t.Errorf("secrets: pkcs11-tool %x, keyplane %x, crypto/ecdh %x", fromTool, ours, want)
	}

	// Keys pkcs11-tool makes, with and without derive usage.
	for _, derive := range []bool{true, false} {
		l, id := uniqueLabel(t, "pkcs11-tool-ecdh"), randomID(t)
		t.Cleanup(func() { b.DeleteKey(context.Background(), l) })
		gen := append(slices.Clone(login), "--keypairgen", "--key-type", "EC:prime256v1", "--label", l, "--id", hex.EncodeToString(id))
		if !derive {
			gen = append(gen, "--usage-sign")
		}
		if o, err := exec.Command(tool, gen...).CombinedOutput(); err != nil {
			t.Fatalf("pkcs11-tool --keypairgen: %v\n%s", err, o)
		}
		x, err := b.KeyExchanger(t.Context(), l)
		if !derive {
			if !errors.Is(err, backend.ErrUnsupported) || !strings.Contains(err.Error(), "CKA_DERIVE false") {
				t.Errorf("KeyExchanger of a pkcs11-tool key made with --usage-sign: %v; want ErrUnsupported naming CKA_DERIVE", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("KeyExchanger of a pkcs11-tool EC key with the default usage: %v", err)
		}
		got, err := x.ECDH(peer.PublicKey())
		want, _ := peer.ECDH(x.PublicKey())
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("ECDH with pkcs11-tool's key: %x, %v; crypto/ecdh %x", got, err, want)
		}
	}
}

// TestAgreementOpenSSLPeer: OpenSSL (pkeyutl -derive), with its own
// private key and the token key's public key, gets the secret that
// keyplane's ECDH gets with OpenSSL's public key: for X25519 and P-256.
func TestAgreementOpenSSLPeer(t *testing.T) {
	openssl := testenv.Command(t, "openssl", "openssl")
	b := openTest(t, "")
	dir := t.TempDir()
	for _, c := range []struct {
		alg    backend.Algorithm
		genArg []string
	}{
		{backend.X25519, []string{"-algorithm", "X25519"}},
		{backend.ECP256, []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"}},
	} {
		_, x := genExchanger(t, b, c.alg)
		priv, pub, tokPub := filepath.Join(dir, string(c.alg)+".pem"), filepath.Join(dir, string(c.alg)+"-pub.pem"), filepath.Join(dir, string(c.alg)+"-token.pem")
		run := func(args ...string) []byte {
			t.Helper()
			out, err := exec.Command(openssl, args...).Output()
			if err != nil {
				t.Fatalf("openssl %s: %v", strings.Join(args, " "), err)
			}
			return out
		}
		run(append([]string{"genpkey", "-out", priv}, c.genArg...)...)
		run("pkey", "-in", priv, "-pubout", "-out", pub)
		spki, err := x509.MarshalPKIXPublicKey(x.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(tokPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}), 0o600); err != nil {
			t.Fatal(err)
		}
		fromOpenSSL := run("pkeyutl", "-derive", "-inkey", priv, "-peerkey", tokPub)

		pemBytes, _ := os.ReadFile(pub)
		blk, _ := pem.Decode(pemBytes)
		parsed, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		var peer *ecdh.PublicKey
		switch p := parsed.(type) {
		case *ecdh.PublicKey:
			peer = p
		case interface {
			ECDH() (*ecdh.PublicKey, error)
		}:
			if peer, err = p.ECDH(); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("OpenSSL's %s public key parsed as %T", c.alg, parsed)
		}
		ours, err := x.ECDH(peer)
		if err != nil {
			t.Fatalf("%s: ECDH with OpenSSL's key: %v", c.alg, err)
		}
		if !bytes.Equal(ours, fromOpenSSL) {
			t.Errorf("%s: keyplane through the token %x, OpenSSL %x", c.alg, ours, fromOpenSSL)
		}
	}
}
