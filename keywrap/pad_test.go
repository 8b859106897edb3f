package keywrap

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// TestWrapPadBounds: RFC 5649's own vectors use an AES-192 key, which
// Tink's KWP does not take; WrapPad says so, and refuses data outside
// Tink's 16 to 8192 bytes, rather than wrapping it some other way.
func TestWrapPadBounds(t *testing.T) {
	kek192 := unhex("5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8")
	if _, err := WrapPad(kek192, unhex("c37b7e6492584340 bed1220780894115 5068f738")); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("WrapPad under an AES-192 key: %v, want ErrInvalidInput", err)
	}
	if _, err := UnwrapPad(kek192, unhex("138bdeaa9b8fa7fc 61f97742e72248ee 5ae6ae5360d1ae6a 5f54f373fa543b6a")); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("UnwrapPad under an AES-192 key: %v, want ErrInvalidInput", err)
	}
	kek := make([]byte, 32)
	for _, n := range []int{0, 1, 15, 8193} {
		if _, err := WrapPad(kek, make([]byte, n)); !errors.Is(err, backend.ErrInvalidInput) || !strings.Contains(err.Error(), "16 to 8192") {
			t.Errorf("WrapPad of %d bytes: %v, want ErrInvalidInput naming the bounds", n, err)
		}
	}
}

func TestUnwrapPadRefuses(t *testing.T) {
	kek := make([]byte, 32)
	rand.Read(kek)
	for _, n := range []int{16, 17, 24, 32, 121, 1217, 8192} {
		p := make([]byte, n)
		rand.Read(p)
		w, err := WrapPad(kek, p)
		if err != nil {
			t.Fatal(err)
		}
		if want := 8 + (n+7)/8*8; len(w) != want {
			t.Fatalf("%d bytes wrapped in %d, want %d", n, len(w), want)
		}
		if got, err := UnwrapPad(kek, w); err != nil || !bytes.Equal(got, p) {
			t.Fatalf("round trip of %d bytes: %v", n, err)
		}
		for _, bad := range [][]byte{w[:len(w)-8], append(append([]byte(nil), w...), 0, 0, 0, 0, 0, 0, 0, 0), flip(w, 0), flip(w, len(w)-1)} {
			if _, err := UnwrapPad(kek, bad); !errors.Is(err, backend.ErrDecryption) {
				t.Errorf("%d bytes: damaged ciphertext: %v, want ErrDecryption", n, err)
			}
		}
		other := append([]byte(nil), kek...)
		other[0] ^= 1
		if _, err := UnwrapPad(other, w); !errors.Is(err, backend.ErrDecryption) {
			t.Errorf("wrong key: %v", err)
		}
	}
	if _, err := WrapPad(kek, nil); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("WrapPad of nothing: %v", err)
	}
	if _, err := WrapPad(kek[:5], []byte("x")); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("WrapPad with a 5-byte key: %v", err)
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x80
	return c
}

// TestWrapPadPyca: pyca/cryptography's aes_key_wrap_with_padding makes the
// same bytes and unwraps ours.
func TestWrapPadPyca(t *testing.T) {
	py := testenv.Python(t)
	const script = `
import sys
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding, aes_key_unwrap_with_padding
for line in sys.stdin:
    kek, p, w = (bytes.fromhex(x) for x in line.split())
    assert aes_key_unwrap_with_padding(kek, w) == p
    print(aes_key_wrap_with_padding(kek, p).hex())
`
	var in strings.Builder
	var want []string
	for i, n := range []int{16, 19, 32, 40, 138, 1217, 2374, 8192} {
		kek, p := make([]byte, 16+16*(i%2)), make([]byte, n)
		rand.Read(kek)
		rand.Read(p)
		w, err := WrapPad(kek, p)
		if err != nil {
			t.Fatal(err)
		}
		in.WriteString(hex.EncodeToString(kek) + " " + hex.EncodeToString(p) + " " + hex.EncodeToString(w) + "\n")
		want = append(want, hex.EncodeToString(w))
	}
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v: %s", err, out)
	}
	if got := strings.Fields(string(out)); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("pyca wraps differently:\n got %v\nwant %v", got, want)
	}
}
