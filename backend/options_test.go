package backend_test

//lint:file-ignore SA1019 rsa-pkcs1v15 decryption is an operation keyplane offers for data that already exists; docs/decisions.md says why and points new data at OAEP

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	_ "crypto/md5" // the hash that must be refused
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

var (
	rsaKeysOnce sync.Once
	rsaKeys     map[int]*rsa.PrivateKey
)

// testRSAKeys returns RSA keys whose sizes exercise the PSS salt bound: a
// whole number of bytes, and one bit more or less.
func testRSAKeys(t *testing.T) map[int]*rsa.PrivateKey {
	t.Helper()
	rsaKeysOnce.Do(func() {
		rsaKeys = map[int]*rsa.PrivateKey{}
		for _, bits := range []int{1024, 1025, 1031, 2048} {
			k, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				panic(err)
			}
			rsaKeys[bits] = k
		}
	})
	return rsaKeys
}

type unknownOpts struct{}

func (unknownOpts) HashFunc() crypto.Hash { return crypto.SHA256 }

func sum(h crypto.Hash, msg string) []byte {
	hh := h.New()
	hh.Write([]byte(msg))
	return hh.Sum(nil)
}

func TestParseSignerOptsErrors(t *testing.T) {
	rsaPub := &testRSAKeys(t)[2048].PublicKey
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	d256 := sum(crypto.SHA256, "m")
	for _, c := range []struct {
		name   string
		alg    backend.Algorithm
		pub    crypto.PublicKey
		digest []byte
		opts   crypto.SignerOpts
		want   error
	}{
		{"nil opts RSA", backend.RSA2048, rsaPub, d256, nil, backend.ErrInvalidInput},
		{"nil opts EC", backend.ECP256, &ec.PublicKey, d256, nil, backend.ErrInvalidInput},
		{"nil opts Ed25519", backend.Ed25519, edPub, []byte("m"), nil, backend.ErrInvalidInput},

		{"Ed25519ph via crypto.Hash", backend.Ed25519, edPub, sum(crypto.SHA512, "m"), crypto.SHA512, backend.ErrUnsupported},
		{"Ed25519ph via Options", backend.Ed25519, edPub, sum(crypto.SHA512, "m"), &ed25519.Options{Hash: crypto.SHA512}, backend.ErrUnsupported},
		{"Ed25519ctx", backend.Ed25519, edPub, []byte("m"), &ed25519.Options{Context: "c"}, backend.ErrUnsupported},
		{"PSS on Ed25519", backend.Ed25519, edPub, d256, &rsa.PSSOptions{Hash: crypto.SHA256}, backend.ErrUnsupported},
		{"unknown on Ed25519", backend.Ed25519, edPub, d256, unknownOpts{}, backend.ErrUnsupported},

		{"RSA with an EC public key", backend.RSA2048, &ec.PublicKey, d256, crypto.SHA256, backend.ErrInvalidInput},
		{"RSA digest too short", backend.RSA2048, rsaPub, d256[:31], crypto.SHA256, backend.ErrInvalidInput},
		{"RSA digest too long", backend.RSA2048, rsaPub, append(d256, 1), crypto.SHA256, backend.ErrInvalidInput},
		{"RSA MD5", backend.RSA2048, rsaPub, sum(crypto.MD5, "m"), crypto.MD5, backend.ErrUnsupported},
		{"RSA hash 0", backend.RSA2048, rsaPub, d256, crypto.Hash(0), backend.ErrUnsupported},
		{"RSA SHA3", backend.RSA2048, rsaPub, d256, crypto.SHA3_256, backend.ErrUnsupported},
		{"RSA unknown opts", backend.RSA2048, rsaPub, d256, unknownOpts{}, backend.ErrUnsupported},
		{"RSA Ed25519 opts", backend.RSA2048, rsaPub, d256, &ed25519.Options{}, backend.ErrUnsupported},
		{"PSS digest too short", backend.RSA2048, rsaPub, d256[:20], &rsa.PSSOptions{Hash: crypto.SHA256}, backend.ErrInvalidInput},
		{"PSS MD5", backend.RSA2048, rsaPub, sum(crypto.MD5, "m"), &rsa.PSSOptions{Hash: crypto.MD5}, backend.ErrUnsupported},
		{"PSS hash 0", backend.RSA2048, rsaPub, d256, &rsa.PSSOptions{}, backend.ErrUnsupported},
		{"PSS salt -3", backend.RSA2048, rsaPub, d256, &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: -3}, backend.ErrInvalidInput},
		{"PSS salt too long", backend.RSA2048, rsaPub, d256, &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 256 - 32 - 2 + 1}, backend.ErrInvalidInput},

		{"ECDSA PSS", backend.ECP256, &ec.PublicKey, d256, &rsa.PSSOptions{Hash: crypto.SHA256}, backend.ErrUnsupported},
		{"ECDSA digest too short", backend.ECP256, &ec.PublicKey, d256[:31], crypto.SHA256, backend.ErrInvalidInput},
		{"ECDSA MD5", backend.ECP256, &ec.PublicKey, sum(crypto.MD5, "m"), crypto.MD5, backend.ErrUnsupported},
		{"ECDSA hash 0", backend.ECP256, &ec.PublicKey, []byte("m"), crypto.Hash(0), backend.ErrUnsupported},
		{"ECDSA Ed25519 opts", backend.ECP256, &ec.PublicKey, d256, &ed25519.Options{}, backend.ErrUnsupported},

		{"AES key", backend.AES256, nil, d256, crypto.SHA256, backend.ErrUnsupported},
		{"Fernet key", backend.Fernet, nil, d256, crypto.SHA256, backend.ErrUnsupported},
		{"unknown algorithm", backend.Algorithm("rsa-1024"), rsaPub, d256, crypto.SHA256, backend.ErrUnsupported},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := backend.ParseSignerOpts(c.alg, c.pub, c.digest, c.opts)
			if !errors.Is(err, c.want) {
				t.Fatalf("ParseSignerOpts: %v, want %v", err, c.want)
			}
			if backend.Kind(err) != c.want {
				t.Fatalf("ParseSignerOpts: %v wraps %v first, want only %v", err, backend.Kind(err), c.want)
			}
		})
	}
}

func TestParseSignerOptsAccepted(t *testing.T) {
	rsaPub := &testRSAKeys(t)[2048].PublicKey
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	for _, c := range []struct {
		name   string
		alg    backend.Algorithm
		pub    crypto.PublicKey
		digest []byte
		opts   crypto.SignerOpts
		want   backend.SignParams
	}{
		{"Ed25519 Hash(0)", backend.Ed25519, edPub, []byte("any length message"), crypto.Hash(0), backend.SignParams{}},
		{"Ed25519 Options", backend.Ed25519, edPub, []byte("m"), &ed25519.Options{}, backend.SignParams{}},
		{"PKCS1v15 SHA-1", backend.RSA2048, rsaPub, sum(crypto.SHA1, "m"), crypto.SHA1, backend.SignParams{Hash: crypto.SHA1}},
		{"PKCS1v15 SHA-224", backend.RSA2048, rsaPub, sum(crypto.SHA224, "m"), crypto.SHA224, backend.SignParams{Hash: crypto.SHA224}},
		{"PKCS1v15 SHA-256", backend.RSA2048, rsaPub, sum(crypto.SHA256, "m"), crypto.SHA256, backend.SignParams{Hash: crypto.SHA256}},
		{"PKCS1v15 SHA-512", backend.RSA2048, rsaPub, sum(crypto.SHA512, "m"), crypto.SHA512, backend.SignParams{Hash: crypto.SHA512}},
		{"PSS equals hash", backend.RSA2048, rsaPub, sum(crypto.SHA384, "m"), &rsa.PSSOptions{Hash: crypto.SHA384, SaltLength: rsa.PSSSaltLengthEqualsHash}, backend.SignParams{Hash: crypto.SHA384, PSS: true, SaltLength: 48}},
		{"PSS auto", backend.RSA2048, rsaPub, sum(crypto.SHA256, "m"), &rsa.PSSOptions{Hash: crypto.SHA256}, backend.SignParams{Hash: crypto.SHA256, PSS: true, SaltLength: 256 - 32 - 2}},
		{"PSS 20", backend.RSA2048, rsaPub, sum(crypto.SHA256, "m"), &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 20}, backend.SignParams{Hash: crypto.SHA256, PSS: true, SaltLength: 20}},
		{"PSS longest salt", backend.RSA2048, rsaPub, sum(crypto.SHA256, "m"), &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 222}, backend.SignParams{Hash: crypto.SHA256, PSS: true, SaltLength: 222}},
		{"ECDSA SHA-256", backend.ECP256, nil, sum(crypto.SHA256, "m"), crypto.SHA256, backend.SignParams{Hash: crypto.SHA256}},
		{"ECDSA SHA-512 on P-256", backend.ECP256, nil, sum(crypto.SHA512, "m"), crypto.SHA512, backend.SignParams{Hash: crypto.SHA512}},
		{"ECDSA SHA-1", backend.ECP384, nil, sum(crypto.SHA1, "m"), crypto.SHA1, backend.SignParams{Hash: crypto.SHA1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := backend.ParseSignerOpts(c.alg, c.pub, c.digest, c.opts)
			if err != nil {
				t.Fatalf("ParseSignerOpts: %v", err)
			}
			if got != c.want {
				t.Fatalf("ParseSignerOpts = %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestParseSignerOptsSaltMatchesCryptoRSA: the salt length ParseSignerOpts
// resolves is the one crypto/rsa itself uses. A signature made by crypto/rsa
// with the resolved explicit length verifies under the requested mode, and
// one made by crypto/rsa under the requested mode verifies with the resolved
// explicit length.
func TestParseSignerOptsSaltMatchesCryptoRSA(t *testing.T) {
	for bits, priv := range testRSAKeys(t) {
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
			maxSalt := (bits-1+7)/8 - h.Size() - 2
			for _, salt := range []int{rsa.PSSSaltLengthAuto, rsa.PSSSaltLengthEqualsHash, 20, maxSalt} {
				t.Run(fmt.Sprintf("%d/%v/salt%d", bits, h, salt), func(t *testing.T) {
					d := sum(h, "keyplane")
					req := &rsa.PSSOptions{Hash: h, SaltLength: salt}
					p, err := backend.ParseSignerOpts(backend.RSA2048, &priv.PublicKey, d, req)
					if salt == rsa.PSSSaltLengthEqualsHash && h.Size() > maxSalt {
						// The hash-length salt does not fit: both refuse.
						if !errors.Is(err, backend.ErrInvalidInput) {
							t.Fatalf("ParseSignerOpts: %v, want ErrInvalidInput (salt %d > %d)", err, h.Size(), maxSalt)
						}
						if _, err := rsa.SignPSS(rand.Reader, priv, h, d, req); err == nil {
							t.Fatalf("crypto/rsa signs with a salt ParseSignerOpts refuses")
						}
						return
					}
					if err != nil {
						t.Fatalf("ParseSignerOpts: %v", err)
					}
					resolved := &rsa.PSSOptions{Hash: h, SaltLength: p.SaltLength}
					if salt == rsa.PSSSaltLengthAuto {
						// Verifying under Auto detects any salt; pin the exact one.
						if p.SaltLength != maxSalt {
							t.Fatalf("auto salt resolved to %d, want the longest, %d", p.SaltLength, maxSalt)
						}
					}
					ours, err := rsa.SignPSS(rand.Reader, priv, h, d, resolved)
					if err != nil {
						t.Fatalf("SignPSS with the resolved salt %d: %v", p.SaltLength, err)
					}
					if err := rsa.VerifyPSS(&priv.PublicKey, h, d, ours, req); err != nil {
						t.Fatalf("signed with resolved salt %d, verify with requested %d: %v", p.SaltLength, salt, err)
					}
					theirs, err := rsa.SignPSS(rand.Reader, priv, h, d, req)
					if err != nil {
						t.Fatalf("SignPSS with the requested salt: %v", err)
					}
					if err := rsa.VerifyPSS(&priv.PublicKey, h, d, theirs, resolved); err != nil {
						t.Fatalf("crypto/rsa signed with requested salt %d; verify with resolved %d: %v", salt, p.SaltLength, err)
					}
				})
			}
			// One byte more than crypto/rsa can fit is refused.
			_, err := backend.ParseSignerOpts(backend.RSA2048, &priv.PublicKey, sum(h, "m"), &rsa.PSSOptions{Hash: h, SaltLength: maxSalt + 1})
			if !errors.Is(err, backend.ErrInvalidInput) {
				t.Errorf("%d bits, %v, salt %d: %v, want ErrInvalidInput", bits, h, maxSalt+1, err)
			}
			if _, err := rsa.SignPSS(rand.Reader, priv, h, sum(h, "m"), &rsa.PSSOptions{SaltLength: maxSalt + 1}); err == nil {
				t.Errorf("%d bits, %v: crypto/rsa accepts salt %d, which ParseSignerOpts refuses", bits, h, maxSalt+1)
			}
		}
	}
}

func TestParseDecrypterOpts(t *testing.T) {
	label := []byte("label")
	for _, c := range []struct {
		name string
		opts crypto.DecrypterOpts
		want backend.DecryptParams
	}{
		{"nil", nil, backend.DecryptParams{}},
		{"PKCS1v15", &rsa.PKCS1v15DecryptOptions{}, backend.DecryptParams{}},
		{"PKCS1v15 session key", &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 32}, backend.DecryptParams{SessionKeyLen: 32}},
		{"OAEP SHA-256", &rsa.OAEPOptions{Hash: crypto.SHA256}, backend.DecryptParams{OAEP: true, Hash: crypto.SHA256, MGFHash: crypto.SHA256}},
		{"OAEP SHA-1", &rsa.OAEPOptions{Hash: crypto.SHA1}, backend.DecryptParams{OAEP: true, Hash: crypto.SHA1, MGFHash: crypto.SHA1}},
		{"OAEP SHA-224", &rsa.OAEPOptions{Hash: crypto.SHA224}, backend.DecryptParams{OAEP: true, Hash: crypto.SHA224, MGFHash: crypto.SHA224}},
		{"OAEP SHA-512 label", &rsa.OAEPOptions{Hash: crypto.SHA512, Label: label}, backend.DecryptParams{OAEP: true, Hash: crypto.SHA512, MGFHash: crypto.SHA512, Label: label}},
		{"OAEP MGF1-SHA1", &rsa.OAEPOptions{Hash: crypto.SHA256, MGFHash: crypto.SHA1}, backend.DecryptParams{OAEP: true, Hash: crypto.SHA256, MGFHash: crypto.SHA1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := backend.ParseDecrypterOpts(c.opts)
			if err != nil {
				t.Fatalf("ParseDecrypterOpts: %v", err)
			}
			if got.OAEP != c.want.OAEP || got.Hash != c.want.Hash || got.MGFHash != c.want.MGFHash ||
				!bytes.Equal(got.Label, c.want.Label) || got.SessionKeyLen != c.want.SessionKeyLen {
				t.Fatalf("ParseDecrypterOpts = %+v, want %+v", got, c.want)
			}
		})
	}
	for _, c := range []struct {
		name string
		opts crypto.DecrypterOpts
		want error
	}{
		{"OAEP MD5", &rsa.OAEPOptions{Hash: crypto.MD5}, backend.ErrUnsupported},
		{"OAEP hash 0", &rsa.OAEPOptions{}, backend.ErrUnsupported},
		{"OAEP MGF1-MD5", &rsa.OAEPOptions{Hash: crypto.SHA256, MGFHash: crypto.MD5}, backend.ErrUnsupported},
		{"OAEP SHA3", &rsa.OAEPOptions{Hash: crypto.SHA3_256}, backend.ErrUnsupported},
		{"negative SessionKeyLen", &rsa.PKCS1v15DecryptOptions{SessionKeyLen: -1}, backend.ErrInvalidInput},
		{"OAEP by value", rsa.OAEPOptions{Hash: crypto.SHA256}, backend.ErrUnsupported},
		{"PKCS1v15 by value", rsa.PKCS1v15DecryptOptions{}, backend.ErrUnsupported},
		{"a hash", crypto.SHA256, backend.ErrUnsupported},
		{"a string", "oaep", backend.ErrUnsupported},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := backend.ParseDecrypterOpts(c.opts)
			if !errors.Is(err, c.want) {
				t.Fatalf("ParseDecrypterOpts(%#v): %v, want %v", c.opts, err, c.want)
			}
		})
	}
}

// constReader returns an endless run of one byte, or fails.
type constReader struct {
	b   byte
	err error
}

func (r constReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for i := range p {
		p[i] = r.b
	}
	return len(p), nil
}

func TestImplicitRejection(t *testing.T) {
	pt := bytes.Repeat([]byte{0x11}, 16)
	random := bytes.Repeat([]byte{0xaa}, 16)
	for _, c := range []struct {
		name  string
		pt    []byte
		ok    bool
		n     int
		wantR bool // want the random bytes, not the plaintext
	}{
		{"valid", pt, true, 16, false},
		{"bad padding", pt, false, 16, true},
		{"short plaintext", pt[:15], true, 16, true},
		{"long plaintext", append(pt, 0x11), true, 16, true},
		{"empty plaintext", nil, true, 16, true},
		{"bad padding and wrong length", pt[:3], false, 16, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := append([]byte(nil), c.pt...)
			got, err := backend.ImplicitRejection(constReader{b: 0xaa}, in, c.ok, c.n)
			if err != nil {
				t.Fatalf("ImplicitRejection: %v", err)
			}
			want := pt
			if c.wantR {
				want = random
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("ImplicitRejection = %x, want %x", got, want)
			}
			if len(in) > 0 && len(got) > 0 && &in[0] == &got[0] {
				t.Fatalf("ImplicitRejection returned the plaintext's own buffer")
			}
		})
	}
	if got, err := backend.ImplicitRejection(constReader{b: 1}, nil, false, 0); err != nil || len(got) != 0 {
		t.Errorf("ImplicitRejection with keyLen 0 = %x, %v; want empty", got, err)
	}
	_, err := backend.ImplicitRejection(constReader{err: io.ErrUnexpectedEOF}, pt, true, 16)
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("ImplicitRejection with a failing reader: %v, want ErrUnavailable", err)
	}
}

// TestImplicitRejectionMatchesCryptoRSA: over real ciphertexts, a decryption
// finished with ImplicitRejection gives what crypto/rsa's own
// SessionKeyLen decryption gives: the key when valid, random bytes of the
// key's length otherwise.
func TestImplicitRejectionMatchesCryptoRSA(t *testing.T) {
	priv := testRSAKeys(t)[2048]
	key := bytes.Repeat([]byte{0x42}, 32)
	good, err := rsa.EncryptPKCS1v15(rand.Reader, &priv.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	short, err := rsa.EncryptPKCS1v15(rand.Reader, &priv.PublicKey, key[:16])
	if err != nil {
		t.Fatal(err)
	}
	// Tamper with the last byte: flipping the first could make the
	// ciphertext exceed the modulus, which crypto/rsa rejects up front.
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] ^= 0x01
	for name, ct := range map[string][]byte{"valid": good, "short key": short, "tampered": bad} {
		pt, derr := priv.Decrypt(nil, ct, &rsa.PKCS1v15DecryptOptions{})
		ours, err := backend.ImplicitRejection(rand.Reader, pt, derr == nil, 32)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		theirs, err := priv.Decrypt(rand.Reader, ct, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 32})
		if err != nil {
			t.Fatalf("%s: crypto/rsa: %v", name, err)
		}
		if len(ours) != 32 || len(theirs) != 32 {
			t.Fatalf("%s: lengths %d and %d, want 32", name, len(ours), len(theirs))
		}
		if gotKey, wantKey := bytes.Equal(ours, key), bytes.Equal(theirs, key); gotKey != wantKey {
			t.Errorf("%s: ImplicitRejection returned the key: %v; crypto/rsa: %v", name, gotKey, wantKey)
		}
	}
}
