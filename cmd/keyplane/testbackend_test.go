package main

import (
	"context"
	"crypto"
	"io"
	"strings"

	"github.com/keyplane/keyplane/backend"
)

// Test-only backends, registered in the test binary, which testscript runs
// as keyplane:
//
//	testonly:plain   software:memory seen through the bare backend.Backend
//	                 interface: no import, export, AEAD or Fernet.
//	testonly:badsig  software:memory whose signatures are corrupted, so
//	                 that conformance checks fail.
func init() {
	backend.Register("testonly", openTestOnly)
}

func openTestOnly(ctx context.Context, uri string) (backend.Backend, error) {
	mode := strings.TrimPrefix(uri, "testonly:")
	b, err := backend.Open(ctx, "software:memory")
	if err != nil {
		return nil, err
	}
	switch mode {
	case "plain":
		return plainBackend{b}, nil
	case "badsig":
		return badSigBackend{plainBackend{b}}, nil
	}
	b.Close()
	return nil, backend.ErrInvalidInput
}

// plainBackend hides every optional interface of the backend it wraps.
type plainBackend struct{ backend.Backend }

func (p plainBackend) Capabilities(ctx context.Context) (*backend.Capabilities, error) {
	caps, err := p.Backend.Capabilities(ctx)
	if err != nil {
		return nil, err
	}
	c := *caps
	c.Backend = "testonly"
	c.Import, c.Export = false, false
	return &c, nil
}

type badSigBackend struct{ plainBackend }

func (b badSigBackend) Signer(ctx context.Context, ref string) (crypto.Signer, error) {
	s, err := b.plainBackend.Signer(ctx, ref)
	if err != nil {
		return nil, err
	}
	return badSigner{s}, nil
}

type badSigner struct{ crypto.Signer }

func (s badSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := s.Signer.Sign(r, digest, opts)
	if err == nil && len(sig) > 0 {
		sig[len(sig)-1] ^= 1
	}
	return sig, err
}
