package plugins

import (
	"context"
	"fmt"
	"math"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// A Plugin always has the backend.KeyVersions methods (rather than one
// more optional part in withInterfaces); for a plugin whose backend has no
// key versions they return backend.ErrUnsupported, as an older plugin's
// UNIMPLEMENTED answer does.
var _ backend.KeyVersions = (*Plugin)(nil)

// versioned returns nil when the plugin's backend has key versions.
func (p *Plugin) versioned() error {
	return p.supports(pb.Interface_INTERFACE_KEY_VERSIONS, "has no key versions")
}

// Rotate makes a new primary version of the key in the plugin.
func (p *Plugin) Rotate(ctx context.Context, ref string) (*backend.Key, error) {
	if err := checkText("key reference", ref); err != nil {
		return nil, err
	}
	if err := p.versioned(); err != nil {
		return nil, err
	}
	resp, err := slowCall(ctx, p, &pb.KeyRequest{Ref: ref}, pb.BackendClient.Rotate)
	if err != nil {
		return nil, err
	}
	return keyFromWire(resp.GetKey())
}

// Versions lists the versions of the key in the plugin, oldest first.
func (p *Plugin) Versions(ctx context.Context, ref string) ([]*backend.Key, error) {
	if err := checkText("key reference", ref); err != nil {
		return nil, err
	}
	if err := p.versioned(); err != nil {
		return nil, err
	}
	resp, err := call(ctx, p, &pb.KeyRequest{Ref: ref}, pb.BackendClient.ListVersions)
	if err != nil {
		return nil, err
	}
	return keysFromWire(resp.GetKeys())
}

// SetMinVersion retires the versions below min of the key in the plugin.
func (p *Plugin) SetMinVersion(ctx context.Context, ref string, min int) error {
	if err := checkText("key reference", ref); err != nil {
		return err
	}
	if err := p.versioned(); err != nil {
		return err
	}
	if min < math.MinInt32 || min > math.MaxInt32 {
		return fmt.Errorf("minimum version %d out of range: %w", min, backend.ErrInvalidInput)
	}
	_, err := call(ctx, p, &pb.SetMinVersionRequest{Ref: ref, MinVersion: int32(min)}, pb.BackendClient.SetMinVersion)
	return err
}

// DeleteVersion destroys one version of the key in the plugin.
func (p *Plugin) DeleteVersion(ctx context.Context, ref string, version int) error {
	if err := checkText("key reference", ref); err != nil {
		return err
	}
	if err := p.versioned(); err != nil {
		return err
	}
	if version < math.MinInt32 || version > math.MaxInt32 {
		return fmt.Errorf("key version %d out of range: %w", version, backend.ErrInvalidInput)
	}
	_, err := slowCall(ctx, p, &pb.DeleteVersionRequest{Ref: ref, Version: int32(version)}, pb.BackendClient.DeleteVersion)
	return err
}
