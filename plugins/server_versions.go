package plugins

import (
	"context"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// keyVersions returns the plugin backend's KeyVersions.
func (s *server) keyVersions() (backend.KeyVersions, error) {
	b, err := s.backend()
	if err != nil {
		return nil, err
	}
	kv, ok := b.(backend.KeyVersions)
	if !ok {
		return nil, toStatus(fmt.Errorf("this plugin's backend has no key versions: %w", backend.ErrUnsupported))
	}
	return kv, nil
}

// Rotate, SetMinVersion and DeleteVersion forget every cached handle: a
// handle of a version just retired or deleted must not outlive the change.

func (s *server) Rotate(ctx context.Context, req *pb.KeyRequest) (*pb.KeyResponse, error) {
	kv, err := s.keyVersions()
	if err != nil {
		return nil, err
	}
	defer s.handles.clear()
	k, err := kv.Rotate(ctx, req.GetRef())
	return keyResponse(k, err)
}

func (s *server) ListVersions(ctx context.Context, req *pb.KeyRequest) (*pb.ListKeysResponse, error) {
	kv, err := s.keyVersions()
	if err != nil {
		return nil, err
	}
	keys, err := kv.Versions(ctx, req.GetRef())
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &pb.ListKeysResponse{Keys: make([]*pb.Key, 0, len(keys))}
	for _, k := range keys {
		w, err := keyToWire(k)
		if err != nil {
			return nil, toStatus(err)
		}
		resp.Keys = append(resp.Keys, w)
	}
	return resp, nil
}

func (s *server) SetMinVersion(ctx context.Context, req *pb.SetMinVersionRequest) (*pb.KeyVersionsResponse, error) {
	kv, err := s.keyVersions()
	if err != nil {
		return nil, err
	}
	defer s.handles.clear()
	if err := kv.SetMinVersion(ctx, req.GetRef(), int(req.GetMinVersion())); err != nil {
		return nil, toStatus(err)
	}
	return &pb.KeyVersionsResponse{}, nil
}

func (s *server) DeleteVersion(ctx context.Context, req *pb.DeleteVersionRequest) (*pb.KeyVersionsResponse, error) {
	kv, err := s.keyVersions()
	if err != nil {
		return nil, err
	}
	defer s.handles.clear()
	if err := kv.DeleteVersion(ctx, req.GetRef(), int(req.GetVersion())); err != nil {
		return nil, toStatus(err)
	}
	return &pb.KeyVersionsResponse{}, nil
}
