package plugins

import (
	"context"
	"errors"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// ProtocolVersion is the go-plugin handshake protocol version of the
// keyplane plugin protocol. It moves with the proto package: version 1 is
// keyplane.plugin.v1. Additions to v1 keep it; a breaking change is a new
// package (keyplane.plugin.v2) and ProtocolVersion 2.
const ProtocolVersion = 1

// Handshake returns the go-plugin handshake host and plugin must agree
// on (a function, not a variable, so that no importer can change it). The
// magic cookie only tells a plugin executable that a keyplane host started
// it (so that running it by hand prints a helpful message instead of
// waiting); it is not a security measure.
func Handshake() goplugin.HandshakeConfig {
	return goplugin.HandshakeConfig{
		ProtocolVersion:  ProtocolVersion,
		MagicCookieKey:   "KEYPLANE_PLUGIN_MAGIC_COOKIE",
		MagicCookieValue: "b6a1c0e5-keyplane-plugin-v1-6f2d9a7e3c41",
	}
}

// pluginName is the one plugin in the go-plugin plugin set.
const pluginName = "backend"

// grpcPlugin is the go-plugin glue: the plugin side registers the server,
// the host side gets the generated client.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	srv *server // plugin side only
}

func (p *grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	if p.srv == nil {
		return errors.New("keyplane plugin: no server to register")
	}
	pb.RegisterBackendServer(s, p.srv)
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pb.NewBackendClient(c), nil
}
