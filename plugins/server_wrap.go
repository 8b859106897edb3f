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
	return callInner(s, "wraps no keys", func(kw backend.KeyWrapper) (*pb.WrappedKey, error) {
		w, err := kw.WrapKey(ctx, req.GetRef(), req.GetWrappingRef(), backend.WrapMechanism(req.GetMechanism()))
		if err != nil {
			return nil, err
		}
		if w == nil {
			return nil, fmt.Errorf("wrap %q: the backend returned no wrapped key: %w", req.GetRef(), backend.ErrUnavailable)
		}
		return wrappedToWire(w)
	})
}

func (s *server) UnwrapKey(ctx context.Context, req *pb.UnwrapKeyRequest) (*pb.KeyResponse, error) {
	return callInner(s, "unwraps no keys", func(ku backend.KeyUnwrapper) (*pb.KeyResponse, error) {
		w, err := wrappedFromWire(req.GetWrapped())
		if err != nil {
			return nil, fmt.Errorf("unwrap: %w", err)
		}
		defer clear(w.Ciphertext)
		return keyReply(ku.UnwrapKey(ctx, w, req.GetUnwrappingRef(), req.GetLabel()))
	})
}
