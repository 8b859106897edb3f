package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

func TestSSHMPInt(t *testing.T) {
	tests := []struct {
		n    int64
		want []byte
	}{
		{0, []byte{0, 0, 0, 0}},
		{0x7f, []byte{0, 0, 0, 1, 0x7f}},
		{0x80, []byte{0, 0, 0, 2, 0, 0x80}}, // RFC 4251: a leading zero keeps it positive
		{65537, []byte{0, 0, 0, 3, 1, 0, 1}},
	}
	for _, tt := range tests {
		if got := sshMPInt(nil, big.NewInt(tt.n)); !bytes.Equal(got, tt.want) {
			t.Errorf("sshMPInt(%#x) = %x, want %x", tt.n, got, tt.want)
		}
	}
}

// readSSHStrings splits an SSH public key blob into its strings.
func readSSHStrings(t *testing.T, line string) (typ string, fields [][]byte) {
	t.Helper()
	parts := strings.Fields(line)
	if len(parts) != 3 || parts[2] != "comment" {
		t.Fatalf("line %q: want type, base64 and comment", line)
	}
	blob, err := base64.StdEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	for len(blob) > 0 {
		if len(blob) < 4 {
			t.Fatalf("truncated blob")
		}
		n := binary.BigEndian.Uint32(blob)
		if uint32(len(blob)-4) < n {
			t.Fatalf("string of %d bytes overruns the blob", n)
		}
		fields = append(fields, blob[4:4+n])
		blob = blob[4+n:]
	}
	if string(fields[0]) != parts[0] {
		t.Fatalf("blob names %q, line names %q", fields[0], parts[0])
	}
	return parts[0], fields[1:]
}

func TestSSHAuthorizedKey(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	line, err := sshAuthorizedKey(&rsaKey.PublicKey, "comment")
	if err != nil {
		t.Fatal(err)
	}
	typ, f := readSSHStrings(t, line)
	if typ != "ssh-rsa" || len(f) != 2 || new(big.Int).SetBytes(f[0]).Int64() != int64(rsaKey.E) || new(big.Int).SetBytes(f[1]).Cmp(rsaKey.N) != 0 {
		t.Errorf("RSA: %s", line)
	}
	if f[1][0] != 0 { // a 2048-bit modulus has its top bit set
		t.Errorf("RSA modulus mpint lacks its leading zero")
	}

	for _, c := range []struct {
		curve elliptic.Curve
		name  string
	}{{elliptic.P256(), "nistp256"}, {elliptic.P384(), "nistp384"}, {elliptic.P521(), "nistp521"}} {
		k, err := ecdsa.GenerateKey(c.curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		line, err := sshAuthorizedKey(&k.PublicKey, "comment")
		if err != nil {
			t.Fatal(err)
		}
		typ, f := readSSHStrings(t, line)
		if typ != "ecdsa-sha2-"+c.name || len(f) != 2 || string(f[0]) != c.name {
			t.Fatalf("EC %s: %s", c.name, line)
		}
		size := (c.curve.Params().BitSize + 7) / 8
		if len(f[1]) != 1+2*size || f[1][0] != 4 ||
			new(big.Int).SetBytes(f[1][1:1+size]).Cmp(k.X) != 0 || new(big.Int).SetBytes(f[1][1+size:]).Cmp(k.Y) != 0 {
			t.Errorf("EC %s: point %x is not the uncompressed public key", c.name, f[1])
		}
	}

	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	line, err = sshAuthorizedKey(pub, "comment")
	if err != nil {
		t.Fatal(err)
	}
	if typ, f := readSSHStrings(t, line); typ != "ssh-ed25519" || len(f) != 1 || !bytes.Equal(f[0], pub) {
		t.Errorf("Ed25519: %s", line)
	}

	if _, err := sshAuthorizedKey("not a key", ""); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("unknown key type: err = %v, want ErrUnsupported", err)
	}
	k224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if _, err := sshAuthorizedKey(&k224.PublicKey, ""); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("P-224: err = %v, want ErrUnsupported", err)
	}
}
