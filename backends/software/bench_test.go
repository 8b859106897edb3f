package software

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// signPair returns the keystore's signer for a fresh key of alg and the
// standard library's own key (exported from the keystore), with the digest
// and options to sign.
func signPair(tb testing.TB, alg backend.Algorithm) (ours, std crypto.Signer, digest []byte, opts crypto.SignerOpts) {
	tb.Helper()
	ks := openMem(tb)
	mustGen(tb, ks, "bench", alg)
	ours, err := ks.Signer(ctx, "bench")
	if err != nil {
		tb.Fatal(err)
	}
	priv, err := ks.ExportKey(ctx, "bench")
	if err != nil {
		tb.Fatal(err)
	}
	d := sha256.Sum256([]byte("benchmark message"))
	digest, opts = d[:], crypto.SHA256
	if alg == backend.Ed25519 {
		digest, opts = []byte("benchmark message"), crypto.Hash(0)
	}
	return ours, priv.(crypto.Signer), digest, opts
}

var benchAlgs = []backend.Algorithm{backend.ECP256, backend.Ed25519, backend.RSA2048}

// BenchmarkSign compares the keystore's Signer.Sign with the standard
// library's Sign on the same key: the target is at least 0.95× its speed.
// Names are BenchmarkSign/<alg>/impl=<impl>, impl ∈ {stdlib, keyplane}:
//
//	go test ./backends/software -run '^$' -bench '^BenchmarkSign$' -count 6 > sign.txt
//	go tool benchstat -col '/impl@(stdlib keyplane)' sign.txt
func BenchmarkSign(b *testing.B) {
	for _, alg := range benchAlgs {
		ours, std, digest, opts := signPair(b, alg)
		b.Run(string(alg)+"/impl=stdlib", func(b *testing.B) {
			for b.Loop() {
				if _, err := std.Sign(rand.Reader, digest, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(alg)+"/impl=keyplane", func(b *testing.B) {
			for b.Loop() {
				if _, err := ours.Sign(rand.Reader, digest, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSignHotPath: once a signer exists, signing needs neither the disk nor
// the passphrase (the key files can vanish), and allocates no more than the
// standard library's own Sign plus one allocation.
func TestSignHotPath(t *testing.T) {
	dir := newDir(t)
	ks := openDir(t, dir, []byte("hot path"))
	k := mustGen(t, ks, "hot", backend.ECP256)
	ks.Close()
	ks2 := openDir(t, dir, []byte("hot path"))
	s, err := ks2.Signer(ctx, "hot") // decrypts here, once
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, k.IDHex()+".pem"))
	d := sha256.Sum256([]byte("m"))
	verify(t, k.Public, backend.ECDSASHA256, []byte("m"), mustSign(t, s, d[:]))

	for _, alg := range benchAlgs {
		ours, std, digest, opts := signPair(t, alg)
		a := testing.AllocsPerRun(20, func() { ours.Sign(rand.Reader, digest, opts) })
		b := testing.AllocsPerRun(20, func() { std.Sign(rand.Reader, digest, opts) })
		if a > b+1 {
			t.Errorf("%s: keyplane Sign allocates %.0f times, the standard library %.0f", alg, a, b)
		}
	}
}
