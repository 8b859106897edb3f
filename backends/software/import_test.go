package software

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

func TestImportExportRoundTrip(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	aesKey := make([]byte, 32)
	rand.Read(aesKey)
	fernetKey := make([]byte, 32)
	rand.Read(fernetKey)

	for _, name := range []string{"memory", "dir"} {
		t.Run(name, func(t *testing.T) {
			var ks *Keystore
			dir := newDir(t)
			if name == "memory" {
				ks = openMem(t)
			} else {
				ks = openDir(t, dir, []byte("import pass"))
			}
			tests := []struct {
				label string
				key   any
				alg   backend.Algorithm
			}{
				{"rsa", rsaKey, backend.RSA2048},
				{"p256", p256, backend.ECP256},
				{"p521", p521, backend.ECP521},
				{"ed", ed, backend.Ed25519},
				{"aes", backend.SecretKey{Algorithm: backend.AES256, Value: aesKey}, backend.AES256},
				{"fernet", &backend.SecretKey{Algorithm: backend.Fernet, Value: fernetKey}, backend.Fernet},
			}
			for _, tt := range tests {
				k, err := ks.ImportKey(ctx, tt.label, tt.key)
				if err != nil {
					t.Fatalf("import %s: %v", tt.label, err)
				}
				if k.Algorithm != tt.alg {
					t.Fatalf("import %s: algorithm %s, want %s", tt.label, k.Algorithm, tt.alg)
				}
			}
			if name == "dir" {
				ks.Close()
				ks = openDir(t, dir, []byte("import pass"))
			}
			for _, tt := range tests {
				got, err := ks.ExportKey(ctx, tt.label)
				if err != nil {
					t.Fatalf("export %s: %v", tt.label, err)
				}
				switch want := tt.key.(type) {
				case *backend.SecretKey:
					g := got.(backend.SecretKey)
					if g.Algorithm != want.Algorithm || !bytes.Equal(g.Value, want.Value) {
						t.Fatalf("export %s: secret differs", tt.label)
					}
				case backend.SecretKey:
					g := got.(backend.SecretKey)
					if g.Algorithm != want.Algorithm || !bytes.Equal(g.Value, want.Value) {
						t.Fatalf("export %s: secret differs", tt.label)
					}
				default:
					if !got.(interface{ Equal(crypto.PrivateKey) bool }).Equal(tt.key) {
						t.Fatalf("export %s: private key differs", tt.label)
					}
				}
			}
			// The imported RSA key decrypts what its public key encrypted.
			ct, _ := rsa.EncryptOAEP(crypto.SHA256.New(), rand.Reader, &rsaKey.PublicKey, []byte("hi"), nil)
			d, _ := ks.Decrypter(ctx, "rsa")
			if pt, err := d.Decrypt(nil, ct, &rsa.OAEPOptions{Hash: crypto.SHA256}); err != nil || string(pt) != "hi" {
				t.Fatalf("imported RSA key: %q, %v", pt, err)
			}
			// Exports are copies: changing one leaves the keystore's key alone.
			exp, _ := ks.ExportKey(ctx, "aes")
			clear(exp.(backend.SecretKey).Value)
			again, _ := ks.ExportKey(ctx, "aes")
			if !bytes.Equal(again.(backend.SecretKey).Value, aesKey) {
				t.Fatal("mutating an export changed the stored key")
			}
		})
	}
	// Importing keeps a copy: the caller may wipe its slice.
	ks := openMem(t)
	v := bytes.Clone(aesKey)
	ks.ImportKey(ctx, "copy", backend.SecretKey{Algorithm: backend.AES256, Value: v})
	clear(v)
	exp, _ := ks.ExportKey(ctx, "copy")
	if !bytes.Equal(exp.(backend.SecretKey).Value, aesKey) {
		t.Fatal("the keystore kept the caller's slice")
	}
}

func TestImportRefused(t *testing.T) {
	ks := openMem(t)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	badEd := bytes.Clone(ed)
	badEd[40] ^= 1 // public half no longer matches the seed
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	badRSA := *rsaKey
	badRSA.D = new(big.Int).Add(rsaKey.D, big.NewInt(2))
	badEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	//lint:ignore SA1019 the test builds an inconsistent key on purpose, which only the raw coordinates allow
	badEC.PublicKey.X = new(big.Int).Add(badEC.PublicKey.X, big.NewInt(1))

	tests := []struct {
		name     string
		key      any
		sentinel error
	}{
		{"rsa-1024", rsa1024, backend.ErrUnsupported},
		{"p224", p224, backend.ErrUnsupported},
		{"ed25519 mismatched halves", ed25519.PrivateKey(badEd), backend.ErrInvalidInput},
		{"short ed25519", ed25519.PrivateKey(ed[:32]), backend.ErrInvalidInput},
		{"rsa with a wrong D", &badRSA, backend.ErrInvalidInput},
		{"ecdsa off its public key", badEC, backend.ErrInvalidInput},
		{"empty rsa", &rsa.PrivateKey{}, backend.ErrInvalidInput},
		{"nil rsa", (*rsa.PrivateKey)(nil), backend.ErrInvalidInput},
		{"empty ecdsa", &ecdsa.PrivateKey{}, backend.ErrInvalidInput},
		{"public key", &rsaKey.PublicKey, backend.ErrUnsupported},
		{"string", "a key", backend.ErrUnsupported},
		{"short aes", backend.SecretKey{Algorithm: backend.AES256, Value: make([]byte, 16)}, backend.ErrInvalidInput},
		{"secret of rsa type", backend.SecretKey{Algorithm: backend.RSA2048, Value: make([]byte, 32)}, backend.ErrUnsupported},
		{"nil secret pointer", (*backend.SecretKey)(nil), backend.ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ks.ImportKey(ctx, "k", tt.key)
			wantErr(t, err, tt.sentinel, "import "+tt.name)
		})
	}
	if keys, _ := ks.Keys(ctx); len(keys) != 0 {
		t.Fatalf("refused imports left %d keys", len(keys))
	}
	ks.ImportKey(ctx, "taken", ed)
	_, err := ks.ImportKey(ctx, "taken", ed)
	wantErr(t, err, backend.ErrAlreadyExists, "import under a taken label")
	_, err = ks.ImportKey(ctx, ".hidden", ed)
	wantErr(t, err, backend.ErrInvalidInput, "import under a bad label")
}
