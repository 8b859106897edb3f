//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// createUnderLabel reserves label in this process, and on a session checks
// that no object of the token has it (ErrAlreadyExists) before make
// creates the key's objects. Errors are prefixed "pkcs11: <what> <label>:".
func (b *Backend) createUnderLabel(ctx context.Context, label, what string, make func(s *session) (*keyObject, error)) (*backend.Key, error) {
	release, err := b.reserveLabel(label)
	if err != nil {
		return nil, err
	}
	defer release()
	var k *keyObject
	err = b.withSession(ctx, func(s *session) error {
		taken, err := b.labelTaken(s, label)
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("pkcs11: label %q: %w", label, backend.ErrAlreadyExists)
		}
		k, err = make(s)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: %s %q: %w", what, label, err)
	}
	return k.info(b.tokenLabel()), nil
}
