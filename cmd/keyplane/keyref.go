package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

// addKeyFlag adds the required --key flag.
func addKeyFlag(cmd *cobra.Command, ref *string) {
	cmd.Flags().StringVar(ref, "key", "", "the key `K`: its label, \"id:<hex>\", or a backend key URI (required)")
	cmd.MarkFlagRequired("key")
}

// notFoundError says that no key matches a reference. It unwraps to the
// backend's error, which wraps backend.ErrNotFound.
type notFoundError struct {
	ref string
	err error
}

func (e *notFoundError) Error() string {
	return fmt.Sprintf("no key %q in this backend (see \"keyplane list\")", backend.Redact(e.ref))
}
func (e *notFoundError) Unwrap() error { return e.err }

// keyError gives a backend error about ref its context. References are
// shown through backend.Redact: a PKCS#11 key URI may carry a pin-value.
func keyError(ref string, err error) error {
	if errors.Is(err, backend.ErrNotFound) {
		return &notFoundError{ref: ref, err: err}
	}
	if errors.Is(err, backend.ErrKeyRetired) {
		// Say what to do: use the primary, or lower the minimum.
		return fmt.Errorf("%w (use the primary version, or lower the minimum with \"keyplane rotate --key K --min-version N\"; see \"keyplane key info\")", err)
	}
	if strings.Contains(err.Error(), strconv.Quote(backend.Redact(ref))) {
		return err // the backend already says which key
	}
	return fmt.Errorf("key %q: %w", backend.Redact(ref), err)
}

// lookupKey returns the key that ref names.
// withKey opens the backend and runs f with it and the key ref names
// (lookupKey).
func (c *cli) withKey(ctx context.Context, ref string, f func(backend.Backend, *backend.Key) error) error {
	return c.withBackend(ctx, func(b backend.Backend) error {
		k, err := lookupKey(ctx, b, ref)
		if err != nil {
			return err
		}
		return f(b, k)
	})
}

func lookupKey(ctx context.Context, b backend.Backend, ref string) (*backend.Key, error) {
	if ref == "" {
		return nil, fmt.Errorf("--key is empty: %w", backend.ErrInvalidInput)
	}
	k, err := b.Key(ctx, ref)
	if err != nil {
		return nil, keyError(ref, err)
	}
	return k, nil
}

// opKindName says what kind of operation a command wants, for errors.
var opKindName = map[backend.OpKind]string{
	backend.OpSign:    "signature",
	backend.OpDecrypt: "public-key encryption",
	backend.OpAEAD:    "authenticated encryption",
	backend.OpFernet:  "Fernet",
}

// parseOp parses --alg and checks that it is one of kinds.
func parseOp(name string, kinds ...backend.OpKind) (backend.Operation, error) {
	if name == "" {
		return "", fmt.Errorf("--alg is required (one of: %s)", joinAlgorithms(opsOfKind(kinds...)))
	}
	op, err := backend.ParseOperation(name)
	if err != nil {
		return "", fmt.Errorf("unknown algorithm %q (want one of: %s): %w", name, joinAlgorithms(opsOfKind(kinds...)), backend.ErrUnsupported)
	}
	for _, k := range kinds {
		if op.Kind() == k {
			return op, nil
		}
	}
	return "", fmt.Errorf("%s is a %s algorithm; this command takes one of: %s: %w",
		op, opKindName[op.Kind()], joinAlgorithms(opsOfKind(kinds...)), backend.ErrUnsupported)
}

func opsOfKind(kinds ...backend.OpKind) []backend.Operation {
	var ops []backend.Operation
	for _, op := range backend.AllOperations() {
		for _, k := range kinds {
			if op.Kind() == k {
				ops = append(ops, op)
			}
		}
	}
	return ops
}

// checkApplies refuses an operation on a key of another family.
func checkApplies(op backend.Operation, k *backend.Key) error {
	if op.Applies(k.Algorithm) {
		return nil
	}
	var want []backend.Algorithm
	for _, a := range backend.AllAlgorithms() {
		if op.Applies(a) {
			want = append(want, a)
		}
	}
	return fmt.Errorf("%s needs a key of type %s, and key %q is %s: %w",
		op, joinAlgorithms(want), k.Label, k.Algorithm, backend.ErrUnsupported)
}
