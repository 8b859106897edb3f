package plugins_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/plugins"
)

// The software backend, run in a keyplane-plugin child process.
func Example() {
	ctx := context.Background()
	b, err := backend.Open(ctx, "plugin+software:memory")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "release", Algorithm: backend.ECP256}); err != nil {
		log.Fatal(err)
	}
	signer, err := b.Signer(ctx, "release") // a crypto.Signer; Sign runs in the child
	if err != nil {
		log.Fatal(err)
	}
	digest := sha256.Sum256([]byte("hello"))
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(sig) > 0)
	// Output: true
}

// A third-party plugin, pinned by hash, with a shorter timeout for Sign
// and Decrypt and its log lines sent to a chosen logger.
func ExampleOpen() {
	ctx := context.Background()
	b, err := plugins.Open(ctx, "plugin:/opt/acme/acme-kms-plugin?sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08&region=eu",
		plugins.Options{CallTimeout: 5 * time.Second, Logger: slog.Default()})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
}

// The main of a plugin that serves a fixed backend.
func ExampleServe() {
	b, err := backend.Open(context.Background(), "software:memory") // your backend here
	if err != nil {
		log.Fatal(err)
	}
	plugins.Serve(b)
}
