package bench_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/keyplane/keyplane/cmd/keyplane/internal/bench"
)

// Measure ECDSA P-256 signing with two goroutines for 100ms.
func ExampleRun() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	digest := sha256.Sum256([]byte("message"))
	sign := func(context.Context) error {
		_, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
		return err
	}
	res, err := bench.Run(context.Background(), sign, 2, 100*time.Millisecond)
	if err != nil {
		panic(err)
	}
	// res.OpsPerSec(), res.P50 and res.P99 are the figures to print.
	fmt.Println(res.Workers, res.Ops > 0, res.P50 > 0, res.P99 >= res.P50)
	// Output: 2 true true true
}
