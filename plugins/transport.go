package plugins

import (
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/experimental"
)

// Window and buffer sizes of the one HTTP/2 connection between host and
// plugin. Fixed windows also turn off gRPC's bandwidth-delay probing, which
// only adds pings on a local socket.
const (
	// maxMessage bounds one request to the plugin (gRPC's default is 4 MiB,
	// too small for AEAD over a large file or Ed25519 over a large message).
	maxMessage     = 256 << 20
	windowSize     = 1 << 20
	connWindowSize = 4 << 20
	bufferSize     = 64 << 10
)

// newGRPCServer builds the plugin's gRPC server with go-plugin's options
// (its TLS credentials) and ours.
func newGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts,
		grpc.InitialWindowSize(windowSize),
		grpc.InitialConnWindowSize(connWindowSize),
		grpc.WriteBufferSize(bufferSize),
		grpc.ReadBufferSize(bufferSize),
		grpc.MaxRecvMsgSize(maxMessage),
		experimental.BufferPool(newZeroingPool()),
	)
	return goplugin.DefaultGRPCServer(opts)
}

// dialOptions are the host's options for the connection to the plugin.
func dialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithInitialWindowSize(windowSize),
		grpc.WithInitialConnWindowSize(connWindowSize),
		grpc.WithWriteBufferSize(bufferSize),
		grpc.WithReadBufferSize(bufferSize),
		experimental.WithBufferPool(newZeroingPool()),
	}
}
