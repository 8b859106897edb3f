package software_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/software"
)

func Example() {
	ctx := context.Background()
	ks, err := software.Open(ctx, "software:memory")
	if err != nil {
		panic(err)
	}
	defer ks.Close()

	key, _ := ks.GenerateKey(ctx, backend.KeySpec{Label: "release", Algorithm: backend.ECP256})
	signer, _ := ks.Signer(ctx, "release")
	digest := sha256.Sum256([]byte("release-1.0.tar.gz"))
	sig, _ := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	fmt.Println(ecdsa.VerifyASN1(key.Public.(*ecdsa.PublicKey), digest[:], sig))
	// Output: true
}

// A keystore directory whose private keys are encrypted with a passphrase
// read from a file that only its owner can read.
func ExampleOpen_directory() {
	ctx := context.Background()
	tmp, _ := os.MkdirTemp("", "keyplane-example")
	defer os.RemoveAll(tmp)
	passFile := filepath.Join(tmp, "passphrase")
	os.WriteFile(passFile, []byte("correct horse battery staple\n"), 0o600)

	uri := "software:" + filepath.Join(tmp, "keys") + "?passphrase-source=file:" + passFile
	ks, err := software.Open(ctx, uri)
	if err != nil {
		panic(err)
	}
	defer ks.Close()
	key, _ := ks.GenerateKey(ctx, backend.KeySpec{Label: "api", Algorithm: backend.Ed25519})

	// The key is a standard encrypted PKCS#8 file named after its ID.
	pem, _ := os.ReadFile(filepath.Join(tmp, "keys", key.IDHex()+".pem"))
	fmt.Println(string(pem[:37]))
	// Output: -----BEGIN ENCRYPTED PRIVATE KEY-----
}
