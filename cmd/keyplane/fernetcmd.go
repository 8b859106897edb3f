package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/fernet"
)

// fernetKey returns the backend's Fernet key for ref, or says that the
// backend has none.
func (c *cli) fernetKey(ctx context.Context, b backend.Backend, ref string) (*fernet.Fernet, error) {
	fb, ok := b.(backend.FernetBackend)
	if !ok {
		return nil, fmt.Errorf("backend %s has no Fernet keys: %w", c.backendName(ctx, b), backend.ErrUnsupported)
	}
	k, err := fb.Fernet(ctx, ref)
	if err != nil {
		return nil, keyError(ref, err)
	}
	return fernet.New(k), nil
}

// fernetEncrypt returns a token, as one line of text.
func (c *cli) fernetEncrypt(ctx context.Context, b backend.Backend, ref string, msg []byte) ([]byte, error) {
	f, err := c.fernetKey(ctx, b, ref)
	if err != nil {
		return nil, err
	}
	token, err := f.Encrypt(ctx, msg)
	if err != nil {
		return nil, err
	}
	return append(token, '\n'), nil
}

// fernetDecrypt reads a token (surrounding white space ignored) and
// returns its message; ttl <= 0 accepts tokens of any age.
func (c *cli) fernetDecrypt(ctx context.Context, b backend.Backend, ref string, token []byte, ttl time.Duration) ([]byte, error) {
	f, err := c.fernetKey(ctx, b, ref)
	if err != nil {
		return nil, err
	}
	return f.Decrypt(ctx, bytes.TrimSpace(token), ttl)
}
