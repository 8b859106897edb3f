package plugins

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// OpenDirect listens for direct connections in the host's directory.
func (s *server) OpenDirect(_ context.Context, req *pb.OpenDirectRequest) (*pb.OpenDirectResponse, error) {
	if req.GetVersion() != directVersion {
		return nil, toStatus(fmt.Errorf("direct channel version %d (this plugin speaks %d): %w", req.GetVersion(), directVersion, backend.ErrUnsupported))
	}
	dir := req.GetDir()
	fi, err := os.Lstat(dir)
	if err != nil || !filepath.IsAbs(dir) || !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 {
		return nil, toStatus(fmt.Errorf("direct channel: %q is not a private directory: %w", dir, backend.ErrInvalidInput))
	}
	if _, err := x509.ParseCertificate(req.GetClientCertificate()); err != nil {
		return nil, toStatus(fmt.Errorf("direct channel: malformed host certificate: %w", backend.ErrInvalidInput))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.direct != nil {
		return nil, toStatus(fmt.Errorf("direct channel already open: %w", backend.ErrInvalidInput))
	}
	cert, err := oneTimeCert("keyplane plugin")
	if err != nil {
		return nil, toStatus(fmt.Errorf("direct channel: certificate: %v: %w", err, backend.ErrUnavailable))
	}
	sock := filepath.Join(dir, "direct.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		return nil, toStatus(fmt.Errorf("direct channel: %v: %w", err, backend.ErrUnavailable))
	}
	s.direct = l
	go s.acceptDirect(l, directTLS(cert, req.GetClientCertificate(), true))
	return &pb.OpenDirectResponse{Version: directVersion, Socket: sock, ServerCertificate: cert.Certificate[0]}, nil
}

// acceptDirect serves each direct connection on its own goroutine, which
// reads it with blocking system calls (blocking_unix.go): the thread that
// waits for a request is the one the kernel wakes, and it goes straight on
// to the backend.
func (s *server) acceptDirect(l net.Listener, cfg *tls.Config) {
	for {
		c, err := l.Accept()
		if err != nil {
			return // closed
		}
		if c, err = blocking(c); err != nil {
			continue // the host sees the connection closed
		}
		go s.serveDirect(tls.Server(c, cfg))
	}
}

// serveDirect answers the calls on one direct connection, one at a time.
func (s *server) serveDirect(c net.Conn) {
	defer c.Close()
	var buf []byte
	for {
		whole, in, err := readFrame(c, buf)
		buf = whole[:0]
		if err != nil {
			return
		}
		out := s.handleDirect(in)
		_, err = c.Write(out)
		clear(out) // may hold a plaintext
		if err != nil {
			return
		}
	}
}

// handleDirect runs one direct request (operation byte and message) and
// returns the whole answer frame, length included. It never fails: errors
// are answer frames.
func (s *server) handleDirect(frame []byte) []byte {
	ctx := context.Background()
	var (
		resp proto.Message
		err  error
	)
	switch op, body := frame[0], frame[1:]; op {
	case directSign:
		req := &pb.SignRequest{}
		if err = proto.Unmarshal(body, req); err == nil {
			resp, err = s.Sign(ctx, req)
		} else {
			err = toStatus(fmt.Errorf("direct channel: malformed SignRequest: %w", backend.ErrInvalidInput))
		}
	case directDecrypt:
		req := &pb.DecryptRequest{}
		if err = proto.Unmarshal(body, req); err == nil {
			resp, err = s.Decrypt(ctx, req)
		} else {
			err = toStatus(fmt.Errorf("direct channel: malformed DecryptRequest: %w", backend.ErrInvalidInput))
		}
	default:
		err = toStatus(fmt.Errorf("direct channel: unknown operation %d: %w", op, backend.ErrUnsupported))
	}
	out := make([]byte, 5, 128)
	if err != nil {
		st, ok := status.FromError(err)
		if !ok {
			st = status.New(codes.Unknown, err.Error())
		}
		out[4] = directError
		out, _ = proto.MarshalOptions{}.MarshalAppend(out, st.Proto())
	} else {
		out[4] = directOK
		out, _ = proto.MarshalOptions{}.MarshalAppend(out, resp)
		if r, ok := resp.(*pb.DecryptResponse); ok {
			clear(r.GetPlaintext()) // encoded in out, which the caller zeroes
		}
	}
	binary.BigEndian.PutUint32(out[:4], uint32(len(out)-4))
	return out
}
