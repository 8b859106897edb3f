package plugins

import (
	"context"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// The plugin side answers most RPCs in one shape: take the opened backend
// (or one of its optional interfaces), call it, and turn the error into a
// gRPC status that keeps its sentinel. These helpers are that shape, once.
// The functions they call return plain errors, never statuses: toStatus is
// applied here, exactly once (a status passed through it again would lose
// its sentinel).

// callBackend answers an RPC with the opened backend: call's error becomes
// a status (toStatus). Before OpenBackend the answer is backend()'s status.
func callBackend[R any](s *server, call func(backend.Backend) (R, error)) (R, error) {
	var none R
	b, err := s.backend()
	if err != nil {
		return none, err
	}
	r, err := call(b)
	if err != nil {
		return none, toStatus(err)
	}
	return r, nil
}

// callInner is callBackend with the backend's optional interface I. A
// backend without I is answered with ErrUnsupported and what it lacks:
// lacks completes "this plugin's backend …" ("has no key versions").
func callInner[I, R any](s *server, lacks string, call func(I) (R, error)) (R, error) {
	return callBackend(s, func(b backend.Backend) (R, error) {
		x, ok := b.(I)
		if !ok {
			var none R
			return none, fmt.Errorf("this plugin's backend %s: %w", lacks, backend.ErrUnsupported)
		}
		return call(x)
	})
}

// cachedHandle returns the handle of kind for ref from the server's cache,
// or opens it with I's handle maker (a method expression such as
// backend.KEM.Decapsulator) as callInner does, and caches it. When I is
// backend.Backend, lacks is never used.
func cachedHandle[I, H any](ctx context.Context, s *server, kind handleKind, ref, lacks string, open func(I, context.Context, string) (H, error)) (H, error) {
	if v, ok := s.handles.get(kind, ref); ok {
		return v.(H), nil
	}
	h, err := callInner(s, lacks, func(x I) (H, error) { return open(x, ctx, ref) })
	if err != nil {
		return h, err
	}
	s.handles.put(kind, ref, h)
	return h, nil
}
