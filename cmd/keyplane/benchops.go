package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/cmd/keyplane/internal/bench"
)

// benchMessage is what bench signs and encrypts.
var benchMessage = []byte("keyplane bench: 32 bytes of data")

// benchOp prepares one call of op with key k, checks that it gives a right
// answer, and returns it.
func (c *cli) benchOp(ctx context.Context, b backend.Backend, op backend.Operation, k *backend.Key) (bench.Op, error) {
	switch op.Kind() {
	case backend.OpSign:
		signer, err := b.Signer(ctx, k.Label)
		if err != nil {
			return nil, err
		}
		tbs := benchMessage
		if h := op.Hash(); h != 0 {
			hh := h.New()
			hh.Write(benchMessage)
			tbs = hh.Sum(nil)
		}
		opts := op.SignerOpts()
		sig, err := signer.Sign(rand.Reader, tbs, opts)
		if err != nil {
			return nil, err
		}
		if !verifySignature(op, signer.Public(), tbs, sig, "") {
			return nil, errors.New("the backend's signature does not verify")
		}
		return func(context.Context) error {
			_, err := signer.Sign(rand.Reader, tbs, opts)
			return err
		}, nil
	case backend.OpDecrypt:
		ct, err := rsaEncrypt(op, k, benchMessage, nil)
		if err != nil {
			return nil, err
		}
		dec, err := b.Decrypter(ctx, k.Label)
		if err != nil {
			return nil, err
		}
		opts := op.DecrypterOpts()
		return checkedOp(func(ctx context.Context) ([]byte, error) { return dec.Decrypt(rand.Reader, ct, opts) }), nil
	case backend.OpAEAD:
		aead, err := c.aeadFor(ctx, b, k.Label)
		if err != nil {
			return nil, err
		}
		sealed, err := aead.Seal(ctx, benchMessage, nil)
		if err != nil {
			return nil, err
		}
		return checkedOp(func(ctx context.Context) ([]byte, error) { return aead.Open(ctx, sealed, nil) }), nil
	case backend.OpFernet:
		f, err := c.fernetKey(ctx, b, k.Label)
		if err != nil {
			return nil, err
		}
		token, err := f.Encrypt(ctx, benchMessage)
		if err != nil {
			return nil, err
		}
		return checkedOp(func(ctx context.Context) ([]byte, error) { return f.Decrypt(ctx, token, 0) }), nil
	}
	return nil, fmt.Errorf("cannot measure %s: %w", op, backend.ErrUnsupported)
}

// checkedOp turns a decryption into a bench.Op that fails on a wrong
// plaintext.
func checkedOp(decrypt func(ctx context.Context) ([]byte, error)) bench.Op {
	return func(ctx context.Context) error {
		pt, err := decrypt(ctx)
		if err != nil {
			return err
		}
		if !bytes.Equal(pt, benchMessage) {
			return errors.New("decryption returned the wrong plaintext")
		}
		return nil
	}
}
