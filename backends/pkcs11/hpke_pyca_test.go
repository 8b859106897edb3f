//go:build cgo && !nopkcs11

package pkcs11

import (
	"bytes"
	"crypto/hpke"
	"crypto/mlkem"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
)

// pycaHPKE returns a python3 whose cryptography has HPKE (pyca 48: the
// default python3 on these machines; Debian's 38 has none), or skips/fails
// t.
func pycaHPKE(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "from cryptography.hazmat.primitives import hpke; hpke.KEM.MLKEM768_X25519").Run() == nil {
			return path
		}
	}
	testenv.Missing(t, "python3 with cryptography 48 (HPKE)", "pip install 'cryptography>=48'")
	return ""
}

// pycaSeal is pyca's HPKE single-shot encryption (Suite.encrypt: enc ‖
// ciphertext) of msg to the recipient public key the script's argv names.
const pycaSeal = `
import sys
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519
kem, pub, mlkem_pub, info, msg = sys.argv[1], bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3]), sys.argv[4].encode(), sys.argv[5].encode()
if kem == "X25519":
    pk = x25519.X25519PublicKey.from_public_bytes(pub)
elif kem == "P256":
    pk = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), pub)
else:
    pk = hpke.MLKEM768X25519PublicKey(mlkem.MLKEM768PublicKey.from_public_bytes(mlkem_pub), x25519.X25519PublicKey.from_public_bytes(pub))
suite = hpke.Suite(getattr(hpke.KEM, kem), hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM)
print(suite.encrypt(msg, pk, info=info).hex())
`

func pycaEncrypt(t *testing.T, py, kem string, pub, mlkemPub []byte, info, msg string) []byte {
	t.Helper()
	out, err := exec.Command(py, "-c", pycaSeal, kem, hex.EncodeToString(pub), hex.EncodeToString(mlkemPub), info, msg).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("pyca HPKE %s encrypt: %v\n%s", kem, err, stderr)
	}
	ct, err := hex.DecodeString(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// TestHPKEFromPyca: HPKE messages sealed by Python's cryptography to a
// SoftHSM2-held X25519 or P-256 key open with keyplane through the token
// (hpke.NewDHKEMPrivateKey over the key exchanger). HPKE Base mode,
// HKDF-SHA256, AES-128-GCM.
func TestHPKEFromPyca(t *testing.T) {
	py := pycaHPKE(t)
	b := openTest(t, "")
	for _, c := range []struct {
		alg backend.Algorithm
		kem string
	}{{backend.X25519, "X25519"}, {backend.ECP256, "P256"}} {
		_, x := genExchanger(t, b, c.alg)
		info, msg := "keyplane pyca interop", "sealed by pyca to a key in SoftHSM2 ("+c.kem+")"
		ct := pycaEncrypt(t, py, c.kem, x.PublicKey().Bytes(), nil, info, msg)
		priv, err := hpke.NewDHKEMPrivateKey(x)
		if err != nil {
			t.Fatal(err)
		}
		got, err := hpke.Open(priv, hpke.HKDFSHA256(), hpke.AES128GCM(), []byte(info), ct)
		if err != nil {
			t.Fatalf("%s: opening pyca's message with the token's key: %v", c.kem, err)
		}
		if string(got) != msg {
			t.Errorf("%s: opened %q, want %q", c.kem, got, msg)
		}
		if _, err := hpke.Open(priv, hpke.HKDFSHA256(), hpke.AES128GCM(), []byte("other info"), ct); err == nil {
			t.Errorf("%s: pyca's message opened with another info string", c.kem)
		}
	}
}

// TestHPKEHybridFromPyca: X-Wing (MLKEM768-X25519) whose X25519 half is in
// SoftHSM2 and whose ML-KEM-768 half is a software key (crypto/mlkem), put
// together by hpke.NewHybridPrivateKey, opens what pyca sealed to the
// pair. Partial: the ML-KEM half is not in the token (no CI token has
// PKCS#11 3.2 ML-KEM), so this key is only as safe against a quantum
// adversary as the host holding the ML-KEM seed.
func TestHPKEHybridFromPyca(t *testing.T) {
	py := pycaHPKE(t)
	b := openTest(t, "")
	_, x := genExchanger(t, b, backend.X25519)
	dk, err := mlkem.GenerateKey768()
	if err != nil {
		t.Fatal(err)
	}
	info, msg := "keyplane hybrid", "X-Wing: the X25519 half in SoftHSM2, the ML-KEM half in software"
	ct := pycaEncrypt(t, py, "MLKEM768_X25519", x.PublicKey().Bytes(), dk.EncapsulationKey().Bytes(), info, msg)
	priv, err := hpke.NewHybridPrivateKey(dk, x)
	if err != nil {
		t.Fatal(err)
	}
	if id := priv.KEM().ID(); id != hpke.MLKEM768X25519().ID() {
		t.Errorf("hybrid key's KEM 0x%04x, want MLKEM768-X25519 0x%04x", id, hpke.MLKEM768X25519().ID())
	}
	got, err := hpke.Open(priv, hpke.HKDFSHA256(), hpke.AES128GCM(), []byte(info), ct)
	if err != nil {
		t.Fatalf("opening pyca's X-Wing message with the token's X25519 half: %v", err)
	}
	if string(got) != msg {
		t.Errorf("opened %q, want %q", got, msg)
	}
	// The token's half matters: another X25519 key with the same ML-KEM
	// key does not open it.
	_, other := genExchanger(t, b, backend.X25519)
	wrong, err := hpke.NewHybridPrivateKey(dk, other)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := hpke.Open(wrong, hpke.HKDFSHA256(), hpke.AES128GCM(), []byte(info), ct); err == nil || bytes.Equal(p, got) {
		t.Errorf("pyca's X-Wing message opened with another token X25519 key")
	}
}
