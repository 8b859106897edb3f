package observe

import (
	"context"
	"errors"

	"github.com/keyplane/keyplane/backend"
)

// Outcome names, the values of the outcome attribute: "ok", the name of the
// backend sentinel the error wraps, "canceled" or "deadline-exceeded" for a
// context error without a sentinel, and "error" for anything else.
const (
	OutcomeOK               = "ok"
	OutcomeNotFound         = "not-found"
	OutcomeAlreadyExists    = "already-exists"
	OutcomeUnsupported      = "unsupported"
	OutcomeInvalidInput     = "invalid-input"
	OutcomeDecryption       = "decryption-failed"
	OutcomeAuthentication   = "authentication-failed"
	OutcomeUnavailable      = "unavailable"
	OutcomeClosed           = "closed"
	OutcomeCanceled         = "canceled"
	OutcomeDeadlineExceeded = "deadline-exceeded"
	OutcomeError            = "error"
)

// sentinelNames maps each backend sentinel to its outcome name, in the
// order backend.Kind tests them.
var sentinelNames = []struct {
	err  error
	name string
}{
	{backend.ErrNotFound, OutcomeNotFound},
	{backend.ErrAlreadyExists, OutcomeAlreadyExists},
	{backend.ErrUnsupported, OutcomeUnsupported},
	{backend.ErrInvalidInput, OutcomeInvalidInput},
	{backend.ErrDecryption, OutcomeDecryption},
	{backend.ErrAuthentication, OutcomeAuthentication},
	{backend.ErrUnavailable, OutcomeUnavailable},
	{backend.ErrClosed, OutcomeClosed},
}

// Outcome returns the outcome name of an operation's error.
func Outcome(err error) string {
	if err == nil {
		return OutcomeOK
	}
	if kind := backend.Kind(err); kind != nil {
		for _, s := range sentinelNames {
			if s.err == kind {
				return s.name
			}
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return OutcomeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return OutcomeDeadlineExceeded
	}
	return OutcomeError
}
