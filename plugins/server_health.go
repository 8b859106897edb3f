package plugins

import (
	"context"

	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// HealthChecker is an optional method of a plugin's backend.Backend that
// the plugin's answer to the host's health check (Ping) calls: it must
// return at once, nil while the backend can serve, and an error wrapping
// backend.ErrUnavailable when it cannot recover by itself — a PKCS#11
// backend whose module call has not returned, say. The host kills and
// replaces a child whose backend reports such an error, or whose check
// does not answer within Options.HealthTimeout.
type HealthChecker interface {
	Health(ctx context.Context) error
}

// Ping answers the host's health check.
func (s *server) Ping(ctx context.Context, _ *pb.PingRequest) (*pb.PingResponse, error) {
	s.mu.RLock()
	b := s.b
	s.mu.RUnlock()
	if hc, ok := b.(HealthChecker); ok {
		if err := hc.Health(ctx); err != nil {
			return nil, toStatus(err)
		}
	}
	return &pb.PingResponse{}, nil
}
