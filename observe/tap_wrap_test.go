package observe_test

import (
	"context"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// The tap passes key wrapping on to the backend it taps, keeping each
// ciphertext so that the run's checks find it in no record or span.

func (t *tap) WrapKey(ctx context.Context, ref, wrappingRef string, mech backend.WrapMechanism) (*backend.WrappedKey, error) {
	kw, ok := t.Backend.(backend.KeyWrapper)
	if !ok {
		return nil, fmt.Errorf("tap: %T wraps no keys: %w", t.Backend, backend.ErrUnsupported)
	}
	w, err := kw.WrapKey(ctx, ref, wrappingRef, mech)
	if w != nil {
		t.keep(w.Ciphertext)
	}
	return w, err
}

func (t *tap) UnwrapKey(ctx context.Context, w *backend.WrappedKey, unwrappingRef, label string) (*backend.Key, error) {
	ku, ok := t.Backend.(backend.KeyUnwrapper)
	if !ok {
		return nil, fmt.Errorf("tap: %T unwraps no keys: %w", t.Backend, backend.ErrUnsupported)
	}
	t.label(label)
	if w != nil {
		t.keep(w.Ciphertext)
	}
	return ku.UnwrapKey(ctx, w, unwrappingRef, label)
}
