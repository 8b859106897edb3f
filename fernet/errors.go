package fernet

import (
	"context"
	"errors"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// ErrInvalidToken is the one error for a bad token, whatever made it bad. It
// wraps backend.ErrDecryption, so errors.Is(err, backend.ErrDecryption) is
// true for it too.
var ErrInvalidToken = fmt.Errorf("fernet: invalid token: %w", backend.ErrDecryption)

// backendFailure reports whether err is a failure of the backend or the
// caller's context rather than a verdict about the token: such errors are
// passed on, not turned into ErrInvalidToken.
func backendFailure(err error) bool {
	return errors.Is(err, backend.ErrUnavailable) ||
		errors.Is(err, backend.ErrClosed) ||
		errors.Is(err, backend.ErrAuthentication) ||
		errors.Is(err, backend.ErrUnsupported) ||
		errors.Is(err, backend.ErrNotFound) ||
		errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded)
}
