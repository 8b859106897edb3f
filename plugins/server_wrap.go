package plugins

import (
	"context"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// WrapKey and UnwrapKey call the plugin backend's KeyWrapper and
// KeyUnwrapper; ErrUnsupported when it has none. The ciphertext is not
// logged, and the request's copy is zeroed once the backend unwrapped it.

func (s *server) WrapKey(ctx context.Context, req *pb.WrapKeyRequest) (*pb.WrappedKey, error) {
	b, err := s.backend()
	if err != nil {
		return nil, err
	}
	kw, ok := b.(backend.KeyWrapper)
	if !ok {
		return nil, toStatus(fmt.Errorf("this plugin's backend wraps no keys: %w", backend.ErrUnsupported))
	}
	w, err := kw.WrapKey(ctx, req.GetRef(), req.GetWrappingRef(), backend.WrapMechanism(req.GetMechanism()))
	if err != nil {
		return nil, toStatus(err)
	}
	if w == nil {
		return nil, toStatus(fmt.Errorf("wrap %q: the backend returned no wrapped key: %w", req.GetRef(), backend.ErrUnavailable))
	}
	out, err := wrappedToWire(w)
	if err != nil {
		return nil, toStatus(err)
	}
	return out, nil
}

func (s *server) UnwrapKey(ctx context.Context, req *pb.UnwrapKeyRequest) (*pb.KeyResponse, error) {
	b, err := s.backend()
	if err != nil {
		return nil, err
	}
	ku, ok := b.(backend.KeyUnwrapper)
	if !ok {
		return nil, toStatus(fmt.Errorf("this plugin's backend unwraps no keys: %w", backend.ErrUnsupported))
	}
	w, err := wrappedFromWire(req.GetWrapped())
	if err != nil {
		return nil, toStatus(fmt.Errorf("unwrap: %w", err))
	}
	defer clear(w.Ciphertext)
	k, err := ku.UnwrapKey(ctx, w, req.GetUnwrappingRef(), req.GetLabel())
	return keyResponse(k, err)
}
