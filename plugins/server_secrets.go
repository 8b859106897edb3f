package plugins

import (
	"context"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// OpenRequest is what the host sends a plugin to open its backend: the
// configuration (as OpenFunc's uri) and the secrets that the host's
// program supplied in code (plugins.Config.PIN and .Passphrase), which
// came over the mutually authenticated TLS channel. PIN and Passphrase
// are nil when the host sent none; each call returns a fresh copy, which
// the caller may zero. The plugin keeps the bytes until its backend is
// closed, then zeroes them.
type OpenRequest struct {
	URI        string
	PIN        backend.SecretFunc
	Passphrase backend.SecretFunc
}

// OpenRequestFunc opens the backend a plugin serves (see ServeOpenRequest).
type OpenRequestFunc func(ctx context.Context, req *OpenRequest) (backend.Backend, error)

// ServeOpenRequest is ServeOpen for a plugin that can take a PIN or a
// passphrase from the host's program: open gets them as SecretFuncs, to
// put in its backend's Config. The keyplane-plugin executable is built on
// it.
func ServeOpenRequest(open OpenRequestFunc) {
	serve(&server{openReq: open, handles: handleCache{m: map[handleKey]any{}}})
}

// openRequestOf adapts an OpenFunc, which takes no secrets: a host that
// sends some is refused.
func openRequestOf(open OpenFunc) OpenRequestFunc {
	return func(ctx context.Context, req *OpenRequest) (backend.Backend, error) {
		if req.PIN != nil || req.Passphrase != nil {
			return nil, fmt.Errorf("this plugin takes no PIN or passphrase from the host's program (it is built on plugins.ServeOpen; plugins.ServeOpenRequest takes them): %w", backend.ErrUnsupported)
		}
		return open(ctx, req.URI)
	}
}

// OpenBackendWithSecrets is OpenBackend with the host's secrets.
func (s *server) OpenBackendWithSecrets(ctx context.Context, req *pb.OpenBackendWithSecretsRequest) (*pb.OpenBackendResponse, error) {
	or := &OpenRequest{URI: req.GetUri()}
	var held []*backend.StaticSecret
	seen := map[string]bool{}
	for _, sec := range req.GetSecrets() {
		role := sec.GetRole()
		if seen[role] || (role != RolePIN && role != RolePassphrase) || len(sec.GetValue()) == 0 {
			clear(sec.Value)
			for _, h := range held {
				h.Zero()
			}
			return nil, toStatus(fmt.Errorf("plugin: OpenBackendWithSecrets: a secret of role %q is unknown, repeated or empty (known: %s, %s): %w", role, RolePIN, RolePassphrase, backend.ErrInvalidInput))
		}
		seen[role] = true
		h := backend.NewStaticSecret(sec.GetValue())
		clear(sec.Value) // the request's copy; gRPC's buffer is its own
		held = append(held, h)
		switch role {
		case RolePIN:
			or.PIN = h.Secret
		case RolePassphrase:
			or.Passphrase = h.Secret
		}
	}
	resp, err := s.openWith(ctx, or)
	if err != nil {
		for _, h := range held {
			h.Zero()
		}
		return nil, err
	}
	s.mu.Lock()
	s.secrets = held
	s.mu.Unlock()
	return resp, nil
}
