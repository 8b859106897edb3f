package plugins

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// maxDirectInFlight bounds the calls in flight on the direct channel, and
// so its connections: each call holds a thread blocked in read() for its
// duration (blocking_unix.go). Calls beyond it go over gRPC, which needs
// no thread while waiting.
var maxDirectInFlight = max(16, 4*runtime.GOMAXPROCS(0))

// directPool is the host end of the direct channel: connections to the
// plugin's socket, each carrying one call at a time, at most
// maxDirectInFlight of them.
type directPool struct {
	sock   string
	tls    *tls.Config
	slots  chan struct{} // one per call in flight
	idle   chan *directConn
	closed atomic.Bool
	dialed atomic.Int64 // connections opened, ever
}

type directConn struct {
	c   net.Conn // a *tls.Conn, or a net.Pipe end in tests
	buf []byte   // the request, then the answer; zeroed after each call
}

func newDirectConn(c net.Conn) *directConn {
	return &directConn{c: c, buf: make([]byte, 0, 512)}
}

// openDirect sets up the direct channel of child c. It returns nil when
// the plugin does not offer one (an older plugin) or it cannot be set up;
// calls then go over gRPC.
func (h *host) openDirect(ctx context.Context, c *child) *directPool {
	dir := c.dir
	cert, err := oneTimeCert("keyplane host")
	if err != nil {
		h.logger.Debug("direct channel not used", "error", err)
		return nil
	}
	resp, err := c.rpc.OpenDirect(ctx, &pb.OpenDirectRequest{Version: directVersion, Dir: dir, ClientCertificate: cert.Certificate[0]})
	if err != nil {
		h.logger.Debug("direct channel not used", "error", err)
		return nil
	}
	if resp.GetVersion() != directVersion || filepath.Dir(resp.GetSocket()) != dir || len(resp.GetServerCertificate()) == 0 {
		h.logger.Warn("plugin answered OpenDirect with an unusable channel; using gRPC only", "version", resp.GetVersion())
		return nil
	}
	return &directPool{
		sock:  resp.GetSocket(),
		tls:   directTLS(cert, resp.GetServerCertificate(), false),
		slots: make(chan struct{}, maxDirectInFlight),
		idle:  make(chan *directConn, maxDirectInFlight),
	}
}

func (p *directPool) get(deadline time.Time) (*directConn, error) {
	select {
	case dc := <-p.idle:
		return dc, nil
	default:
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "unix", p.sock)
	if err != nil {
		return nil, err
	}
	if raw, err = blocking(raw); err != nil {
		return nil, err
	}
	p.dialed.Add(1)
	c := tls.Client(raw, p.tls)
	if err := c.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return newDirectConn(c), nil
}

func (p *directPool) put(dc *directConn) {
	if p.closed.Load() {
		dc.c.Close()
		return
	}
	select {
	case p.idle <- dc:
	default:
		dc.c.Close()
	}
}

// close closes the idle connections. Connections in use are closed by
// their callers when they fail. The socket's directory belongs to the
// child (child.stop removes it).
func (p *directPool) close() {
	if !p.closed.CompareAndSwap(false, true) {
		return
	}
	for {
		select {
		case dc := <-p.idle:
			dc.c.Close()
		default:
			return
		}
	}
}

// tryCall sends one request and reads its answer into resp, when fewer
// than maxDirectInFlight calls are in flight; else it returns false at
// once and the caller goes over gRPC. The error is a gRPC status error for
// a failure the plugin reported, or a *directTransportError when the
// connection failed.
func (p *directPool) tryCall(deadline time.Time, op byte, req, resp proto.Message) (bool, error) {
	select {
	case p.slots <- struct{}{}:
	default:
		return false, nil
	}
	defer func() { <-p.slots }()
	return true, p.call(deadline, op, req, resp)
}

// call is tryCall once a slot is held.
func (p *directPool) call(deadline time.Time, op byte, req, resp proto.Message) error {
	dc, err := p.get(deadline)
	if err != nil {
		return &directTransportError{err: err, timeout: isTimeout(err)}
	}
	err = dc.roundTrip(deadline, op, req, resp)
	var te *directTransportError
	if errors.As(err, &te) {
		dc.c.Close()
		return err
	}
	p.put(dc)
	return err
}

func (dc *directConn) roundTrip(deadline time.Time, op byte, req, resp proto.Message) error {
	if err := dc.c.SetDeadline(deadline); err != nil {
		return &directTransportError{err: err}
	}
	out := append(dc.buf[:0], 0, 0, 0, 0, op)
	out, err := proto.MarshalOptions{}.MarshalAppend(out, req)
	if err != nil {
		return status.Error(codes.InvalidArgument, fmt.Sprintf("encoding request: %v", err))
	}
	binary.BigEndian.PutUint32(out[:4], uint32(len(out)-4))
	dc.buf = out
	if _, err := dc.c.Write(out); err != nil {
		return &directTransportError{err: err, timeout: isTimeout(err)}
	}
	whole, in, err := readFrame(dc.c, dc.buf)
	dc.buf = whole[:0]
	// The answer may be a plaintext: zeroed once decoded (proto.Unmarshal
	// copies bytes fields).
	defer clear(whole)
	if err != nil {
		return &directTransportError{err: err, timeout: isTimeout(err)}
	}
	switch in[0] {
	case directOK:
		if err := proto.Unmarshal(in[1:], resp); err != nil {
			return &directTransportError{err: fmt.Errorf("malformed answer: %v", err)}
		}
		return nil
	case directError:
		st := &spb.Status{}
		if err := proto.Unmarshal(in[1:], st); err != nil {
			return &directTransportError{err: fmt.Errorf("malformed error answer: %v", err)}
		}
		return status.ErrorProto(st)
	}
	return &directTransportError{err: fmt.Errorf("answer status byte %d", in[0])}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
