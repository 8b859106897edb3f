package oaep_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/oaep"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

func key2048(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		var err error
		testKey, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
	})
	return testKey
}

// rawRSA stands in for CKM_RSA_X_509 in these tests: m = c^d mod n,
// I2OSP'd to k bytes. Like a token, it refuses a ciphertext whose length is
// not k or whose value is not below n (RFC 8017 §7.1.2 steps 1 and 2). The
// check is on public data only.
func rawRSA(priv *rsa.PrivateKey, ct []byte) ([]byte, bool) {
	k := priv.Size()
	c := new(big.Int).SetBytes(ct)
	if len(ct) != k || c.Cmp(priv.N) >= 0 {
		return nil, false
	}
	// The Chinese remainder theorem, to keep the 8192-bit vectors quick:
	// m1 = c^dP mod p, m2 = c^dQ mod q, m = m2 + q·(qInv·(m1 − m2) mod p).
	p, q := priv.Primes[0], priv.Primes[1]
	pc := priv.Precomputed
	if len(priv.Primes) != 2 || pc.Dp == nil {
		m := new(big.Int).Exp(c, priv.D, priv.N)
		return m.FillBytes(make([]byte, k)), true
	}
	m1 := new(big.Int).Exp(c, pc.Dp, p)
	m2 := new(big.Int).Exp(c, pc.Dq, q)
	h := m1.Sub(m1, m2)
	h.Mul(h, pc.Qinv).Mod(h, p)
	m := h.Mul(h, q).Add(h, m2)
	return m.FillBytes(make([]byte, k)), true
}

var hashes = []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512}

func TestDecodeRoundTrip(t *testing.T) {
	priv := key2048(t)
	k := priv.Size()
	labels := [][]byte{nil, []byte("keyplane"), bytes.Repeat([]byte{0xa5}, 300)}
	for _, h := range hashes {
		for _, mh := range []crypto.Hash{h, crypto.SHA1, crypto.SHA512} {
			for li, label := range labels {
				maxLen := k - 2*h.Size() - 2
				for _, n := range []int{0, 1, 32, maxLen} {
					t.Run(fmt.Sprintf("%v/MGF1-%v/label%d/len%d", h, mh, li, n), func(t *testing.T) {
						msg := make([]byte, n)
						rand.Read(msg)
						ct, err := rsa.EncryptOAEPWithOptions(rand.Reader, &priv.PublicKey, msg, &rsa.OAEPOptions{Hash: h, MGFHash: mh, Label: label})
						if err != nil {
							t.Fatal(err)
						}
						em, ok := rawRSA(priv, ct)
						if !ok {
							t.Fatal("raw RSA refused crypto/rsa's ciphertext")
						}
						emCopy := bytes.Clone(em)
						got, err := oaep.Decode(h, mh, label, em, k)
						if err != nil || !bytes.Equal(got, msg) {
							t.Fatalf("Decode = %x, %v; want %x", got, err, msg)
						}
						if !bytes.Equal(em, emCopy) {
							t.Errorf("Decode modified its input")
						}
						// A token that strips the leading zero byte(s).
						stripped := bytes.TrimLeft(em, "\x00")
						got, err = oaep.Decode(h, mh, label, stripped, k)
						if err != nil || !bytes.Equal(got, msg) {
							t.Fatalf("Decode of EM without its %d leading zeros = %x, %v", len(em)-len(stripped), got, err)
						}
						// The wrong parameters fail, with the one error.
						wrong := []struct {
							name  string
							h, mh crypto.Hash
							label []byte
							em    []byte
							k     int
						}{
							{"label", h, mh, append(bytes.Clone(label), 'x'), em, k},
							{"hash", other(h), mh, label, em, k},
							{"MGF hash", h, other(mh), label, em, k},
							{"longer than k", h, mh, label, append([]byte{0}, em...), k},
							{"k too small", h, mh, label, em[len(em)-(2*h.Size()+1):], 2*h.Size() + 1},
						}
						for _, w := range wrong {
							got, err := oaep.Decode(w.h, w.mh, w.label, w.em, w.k)
							if err != backend.ErrDecryption || got != nil {
								t.Errorf("wrong %s: Decode = %x, %v; want nil, ErrDecryption", w.name, got, err)
							}
						}
					})
				}
			}
		}
	}
}

// other returns a hash of another size than h.
func other(h crypto.Hash) crypto.Hash {
	if h == crypto.SHA256 {
		return crypto.SHA384
	}
	return crypto.SHA256
}

func TestDecodeUnavailableHash(t *testing.T) {
	em := make([]byte, 256)
	for _, c := range []struct{ h, mh crypto.Hash }{
		{0, crypto.SHA256},
		{crypto.SHA256, 0},
		{crypto.MD4, crypto.SHA256}, // not linked into this test
		{crypto.SHA256, crypto.Hash(200)},
	} {
		_, err := oaep.Decode(c.h, c.mh, nil, em, len(em))
		if !errors.Is(err, backend.ErrUnsupported) {
			t.Errorf("Decode(%d, %d): %v, want ErrUnsupported", c.h, c.mh, err)
		}
	}
}

func TestDecodeEveryFailureIsTheSame(t *testing.T) {
	priv := key2048(t)
	k := priv.Size()
	msg := []byte("attack at dawn")
	ct, err := rsa.EncryptOAEP(crypto.SHA256.New(), rand.Reader, &priv.PublicKey, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	em, _ := rawRSA(priv, ct)
	// Flip every bit of EM in turn. Any change to maskedDB changes the seed
	// through MGF1, and any change to maskedSeed changes all of DB, so every
	// flip must fail, at whichever check it first breaks (Y, lHash', PS,
	// the separator), and always with the same error.
	for i := range len(em) * 8 {
		bad := bytes.Clone(em)
		bad[i/8] ^= 1 << (i % 8)
		got, err := oaep.Decode(crypto.SHA256, crypto.SHA256, nil, bad, k)
		if err == nil {
			t.Fatalf("bit %d flipped: decoded %x", i, got)
		}
		if err != backend.ErrDecryption || err.Error() != backend.ErrDecryption.Error() {
			t.Fatalf("bit %d: error %q is not exactly backend.ErrDecryption", i, err)
		}
	}
	if got, err := oaep.Decode(crypto.SHA256, crypto.SHA256, nil, em, k); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("unflipped EM: %x, %v", got, err)
	}
}
