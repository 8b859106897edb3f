package awskms_test

// BenchmarkSign compares keyplane's Signer with a raw kms.Sign loop on the
// same KMS client, against the in-process local-kms: names are
// BenchmarkSign/ec-p256/workers=<n>/impl=<impl>, impl ∈ {raw, keyplane};
// ns/op is the wall time of one signature with n workers together (the
// inverse of throughput). scripts/bench awskms compares them with
// benchstat -col '/impl@(raw keyplane)'.

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/awskms"
	"github.com/keyplane/keyplane/internal/localkms"
)

func BenchmarkSign(b *testing.B) {
	s := localkms.Start(b)
	c, err := awskms.ParseURI(localURI(s, ""))
	if err != nil {
		b.Fatal(err)
	}
	kb, err := awskms.OpenConfig(b.Context(), c)
	if err != nil {
		b.Fatal(err)
	}
	defer kb.Close()
	k, err := kb.GenerateKey(b.Context(), backend.KeySpec{Label: "bench", Algorithm: backend.ECP256})
	if err != nil {
		b.Fatal(err)
	}
	client := awskms.ClientOf(kb)
	keyID := aws.String(k.URI)
	digest := sha256.Sum256([]byte("keyplane benchmark"))
	signer, err := kb.Signer(b.Context(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	raw := func() error {
		_, err := client.Sign(b.Context(), &kms.SignInput{
			KeyId: keyID, Message: digest[:], MessageType: types.MessageTypeDigest,
			SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256,
		})
		return err
	}
	keyplane := func() error {
		_, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
		return err
	}
	for _, n := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("ec-p256/workers=%d/impl=raw", n), func(b *testing.B) { parallel(b, n, raw) })
		b.Run(fmt.Sprintf("ec-p256/workers=%d/impl=keyplane", n), func(b *testing.B) {
			pubs := s.Count("GetPublicKey")
			parallel(b, n, keyplane)
			if d := s.Count("GetPublicKey") - pubs; d != 0 {
				b.Errorf("%d GetPublicKey requests while signing; want 0", d)
			}
		})
	}
}

// parallel runs b.N calls of op over n goroutines.
func parallel(b *testing.B, n int, op func() error) {
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	b.ResetTimer()
	for range n {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := op(); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if p := failed.Load(); p != nil {
		b.Fatal(*p)
	}
}
