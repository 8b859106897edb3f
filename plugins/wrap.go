package plugins

import (
	"context"
	"fmt"
	"maps"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/pkcs8"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// A Plugin always has the backend.KeyWrapper and backend.KeyUnwrapper
// methods (docs/decisions.md, "Wrappers and the extension interfaces");
// when the plugin's backend did not report INTERFACE_KEY_WRAP or
// INTERFACE_KEY_UNWRAP they answer ErrUnsupported without a call, and
// Capabilities lists no wrap mechanisms.
//
// The ciphertext of a wrapped key crosses the channel (AutoMTLS) as it
// is; it is secret only to whoever holds the unwrapping key, and neither
// side logs it.
var (
	_ backend.KeyWrapper   = (*Plugin)(nil)
	_ backend.KeyUnwrapper = (*Plugin)(nil)
)

// WrapKey wraps the key ref names under wrappingRef in the plugin's
// backend.
func (p *Plugin) WrapKey(ctx context.Context, ref, wrappingRef string, mech backend.WrapMechanism) (*backend.WrappedKey, error) {
	if !p.reported(pb.Interface_INTERFACE_KEY_WRAP) {
		return nil, fmt.Errorf("%s: wrap %q: the plugin's backend wraps no keys: %w", p.h.t.name, ref, backend.ErrUnsupported)
	}
	if err := checkText("key reference", ref); err != nil {
		return nil, err
	}
	if err := checkText("wrapping key reference", wrappingRef); err != nil {
		return nil, err
	}
	if err := checkText("wrap mechanism", string(mech)); err != nil {
		return nil, err
	}
	resp, err := slowCall(ctx, p, &pb.WrapKeyRequest{Ref: ref, WrappingRef: wrappingRef, Mechanism: string(mech)}, pb.BackendClient.WrapKey)
	if err != nil {
		return nil, err
	}
	w, err := wrappedFromWire(resp)
	if err != nil {
		return nil, fmt.Errorf("%s: wrap %q: the plugin's answer: %w", p.h.t.name, ref, err)
	}
	return w, nil
}

// UnwrapKey unwraps w under unwrappingRef in the plugin's backend.
func (p *Plugin) UnwrapKey(ctx context.Context, w *backend.WrappedKey, unwrappingRef, label string) (*backend.Key, error) {
	if !p.reported(pb.Interface_INTERFACE_KEY_UNWRAP) {
		return nil, fmt.Errorf("%s: unwrap: the plugin's backend unwraps no keys: %w", p.h.t.name, backend.ErrUnsupported)
	}
	if w == nil {
		return nil, fmt.Errorf("%s: unwrap: no wrapped key: %w", p.h.t.name, backend.ErrInvalidInput)
	}
	if err := checkText("unwrapping key reference", unwrappingRef); err != nil {
		return nil, err
	}
	if err := checkText("key label", label); err != nil {
		return nil, err
	}
	ww, err := wrappedToWire(w)
	if err != nil {
		return nil, fmt.Errorf("%s: unwrap %q: %w", p.h.t.name, w.Label, err)
	}
	resp, err := slowCall(ctx, p, &pb.UnwrapKeyRequest{Wrapped: ww, UnwrappingRef: unwrappingRef, Label: label}, pb.BackendClient.UnwrapKey)
	if err != nil {
		return nil, err
	}
	return keyFromWire(resp.GetKey())
}

// wrappedToWire encodes w; its ciphertext is shared, not copied.
func wrappedToWire(w *backend.WrappedKey) (*pb.WrappedKey, error) {
	for what, s := range map[string]string{"wrap mechanism": string(w.Mechanism), "algorithm": string(w.Algorithm), "label": w.Label} {
		if err := checkText("wrapped key's "+what, s); err != nil {
			return nil, err
		}
	}
	out := &pb.WrappedKey{Mechanism: string(w.Mechanism), Algorithm: string(w.Algorithm), Label: w.Label, Id: w.ID,
		Attributes: maps.Clone(w.Attributes), Ciphertext: w.Ciphertext}
	for n := range w.Attributes {
		if err := checkText("wrapped key's attribute name", n); err != nil {
			return nil, err
		}
	}
	if w.Public != nil {
		der, err := pkcs8.MarshalPublicKey(w.Public)
		if err != nil {
			return nil, fmt.Errorf("the wrapped key's public key: %v: %w", err, backend.ErrInvalidInput)
		}
		out.PublicKey = der
	}
	return out, nil
}

// wrappedFromWire decodes w: an empty attribute map is nil (the source
// had none to tell), an empty public key a secret key's.
func wrappedFromWire(w *pb.WrappedKey) (*backend.WrappedKey, error) {
	if w == nil {
		return nil, fmt.Errorf("no wrapped key: %w", backend.ErrInvalidInput)
	}
	out := &backend.WrappedKey{Mechanism: backend.WrapMechanism(w.GetMechanism()), Algorithm: backend.Algorithm(w.GetAlgorithm()),
		Label: w.GetLabel(), ID: w.GetId(), Ciphertext: w.GetCiphertext()}
	if len(w.GetAttributes()) > 0 {
		out.Attributes = maps.Clone(w.GetAttributes())
	}
	if len(w.GetPublicKey()) > 0 {
		pub, err := pkcs8.ParsePublicKey(w.GetPublicKey())
		if err != nil {
			return nil, fmt.Errorf("wrapped key %q with a malformed public key: %v: %w", out.Label, err, backend.ErrInvalidInput)
		}
		out.Public = pub
	}
	return out, nil
}
