package awskms

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/keyplane/keyplane/backend"
)

// classify wraps err from a KMS call (op, e.g. "Sign") around the backend
// sentinel it means. The SDK has already retried what it retries
// (throttling, 5xx, connection errors) when this sees the error. The
// message carries the KMS error code and, except for decryption failures
// (which stay vague), KMS's own message, which never holds a credential.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("awskms: %s: %w: %w", op, backend.ErrUnavailable, err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		sentinel := sentinelFor(code)
		if sentinel == backend.ErrDecryption {
			return fmt.Errorf("awskms: %s: %w", op, backend.ErrDecryption)
		}
		return fmt.Errorf("awskms: %s: %s: %s: %w", op, code, ae.ErrorMessage(), sentinel)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return fmt.Errorf("awskms: %s: %w: %w", op, backend.ErrUnavailable, err)
	}
	// Credential lookup failures come back as plain errors from the
	// SDK's chain ("failed to retrieve credentials", "failed to refresh
	// cached credentials"); the SDK has no type for them.
	if m := err.Error(); strings.Contains(m, "retrieve credentials") || strings.Contains(m, "refresh cached credentials") {
		return fmt.Errorf("awskms: %s: no usable AWS credentials from the SDK's chain (environment, profile, instance role): %w: %w", op, backend.ErrAuthentication, err)
	}
	return fmt.Errorf("awskms: %s: %w: %w", op, backend.ErrUnavailable, err)
}

// sentinelFor maps a KMS error code onto a sentinel.
func sentinelFor(code string) error {
	switch code {
	case "NotFoundException":
		return backend.ErrNotFound
	case "KMSInvalidStateException", "DisabledException":
		// The key exists but is disabled or pending deletion: for a
		// caller, no usable key answers to the reference. Retrying does
		// not help (the plugin host replaces children after repeated
		// ErrUnavailable), so it is not ErrUnavailable.
		return backend.ErrNotFound
	case "AlreadyExistsException":
		return backend.ErrAlreadyExists
	case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException",
		"IncompleteSignature", "ExpiredTokenException", "InvalidClientTokenId", "MissingAuthenticationToken":
		return backend.ErrAuthentication
	case "InvalidCiphertextException", "IncorrectKeyException":
		return backend.ErrDecryption
	case "ValidationException", "InvalidAliasNameException", "InvalidArnException", "InvalidMarkerException":
		return backend.ErrInvalidInput
	case "UnsupportedOperationException", "InvalidKeyUsageException":
		return backend.ErrUnsupported
	}
	// ThrottlingException, LimitExceededException, KMSInternalException,
	// DependencyTimeoutException, KeyUnavailableException, and anything
	// new: the service cannot do it now.
	return backend.ErrUnavailable
}
