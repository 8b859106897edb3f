package plugins

import (
	"context"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// lacksVersions completes the ErrUnsupported answer of a plugin whose
// backend is no backend.KeyVersions.
const lacksVersions = "has no key versions"

// Rotate, SetMinVersion and DeleteVersion forget every cached handle: a
// handle of a version just retired or deleted must not outlive the change.

func (s *server) Rotate(ctx context.Context, req *pb.KeyRequest) (*pb.KeyResponse, error) {
	return callInner(s, lacksVersions, func(kv backend.KeyVersions) (*pb.KeyResponse, error) {
		defer s.handles.clear()
		return keyReply(kv.Rotate(ctx, req.GetRef()))
	})
}

func (s *server) ListVersions(ctx context.Context, req *pb.KeyRequest) (*pb.ListKeysResponse, error) {
	return callInner(s, lacksVersions, func(kv backend.KeyVersions) (*pb.ListKeysResponse, error) {
		return keysReply(kv.Versions(ctx, req.GetRef()))
	})
}

func (s *server) SetMinVersion(ctx context.Context, req *pb.SetMinVersionRequest) (*pb.KeyVersionsResponse, error) {
	return callInner(s, lacksVersions, func(kv backend.KeyVersions) (*pb.KeyVersionsResponse, error) {
		defer s.handles.clear()
		if err := kv.SetMinVersion(ctx, req.GetRef(), int(req.GetMinVersion())); err != nil {
			return nil, err
		}
		return &pb.KeyVersionsResponse{}, nil
	})
}

func (s *server) DeleteVersion(ctx context.Context, req *pb.DeleteVersionRequest) (*pb.KeyVersionsResponse, error) {
	return callInner(s, lacksVersions, func(kv backend.KeyVersions) (*pb.KeyVersionsResponse, error) {
		defer s.handles.clear()
		if err := kv.DeleteVersion(ctx, req.GetRef(), int(req.GetVersion())); err != nil {
			return nil, err
		}
		return &pb.KeyVersionsResponse{}, nil
	})
}
