package plugins

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// TestDirectChannel checks that Sign goes over the direct channel, that
// the channel accepts only the host's pinned certificate, and that Close
// removes its socket directory.
func TestDirectChannel(t *testing.T) {
	ctx := t.Context()
	b, p := openSoftwarePlugin(t, Options{})
	c := p.h.cur.Load()
	if c == nil || c.direct == nil {
		t.Fatal("keyplane-plugin offered no direct channel")
	}
	if fi, err := os.Stat(c.dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("direct channel directory %s: %v (mode %v), want 0700", c.dir, err, fi.Mode())
	}
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "k", Algorithm: backend.ECP256}); err != nil {
		t.Fatal(err)
	}
	s, err := b.Signer(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("direct"))
	sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), digest[:], sig) {
		t.Fatalf("Sign over the direct channel: %v", err)
	}
	if len(c.direct.idle) != 1 {
		t.Errorf("idle direct connections after one Sign: %d, want 1 (the call did not use the channel)", len(c.direct.idle))
	}
	// A sentinel comes back over it too.
	if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	missing := &remoteSigner{h: p.h, ref: "id:00ff", alg: backend.ECP256, pub: s.Public()}
	if _, err := missing.Sign(rand.Reader, digest[:], crypto.SHA256); !isKind(err, backend.ErrNotFound) {
		t.Errorf("Sign with a deleted key over the direct channel: %v, want ErrNotFound", err)
	}

	// A stranger with its own certificate, or none, is refused.
	stranger, err := oneTimeCert("stranger")
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]*tls.Config{
		"foreign certificate": {Certificates: []tls.Certificate{stranger}, InsecureSkipVerify: true, MinVersion: tls.VersionTLS13},
		"no certificate":      {InsecureSkipVerify: true, MinVersion: tls.VersionTLS13},
	} {
		conn, err := tls.Dial("unix", c.direct.sock, cfg)
		if err != nil {
			continue // refused at the handshake
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		req, _ := proto.Marshal(&pb.SignRequest{Ref: "k", Digest: digest[:], Hash: pb.Hash_HASH_SHA256})
		frame := binary.BigEndian.AppendUint32(nil, uint32(len(req)+1))
		frame = append(append(frame, directSign), req...)
		conn.Write(frame)
		var hdr [4]byte
		if _, err := conn.Read(hdr[:]); err == nil {
			t.Errorf("%s: the plugin answered a direct call", name)
		}
		conn.Close()
	}

	dir := c.dir
	b.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("direct channel directory %s left after Close: %v", dir, err)
	}
}

func isKind(err, kind error) bool { return backend.Kind(err) == kind }

// FuzzDirect feeds random frames to the plugin's direct-channel handler:
// no panic, and every answer is a well-formed frame.
func FuzzDirect(f *testing.F) {
	s := fuzzServer(f)
	for _, m := range []proto.Message{
		&pb.SignRequest{Ref: "ec-p256", Digest: make([]byte, 32), Hash: pb.Hash_HASH_SHA256},
		&pb.SignRequest{Ref: "ed25519", Digest: []byte("m")},
		&pb.DecryptRequest{Ref: "rsa-2048", Ciphertext: make([]byte, 256), Padding: pb.Padding_PADDING_OAEP, OaepHash: pb.Hash_HASH_SHA256},
	} {
		b, _ := proto.Marshal(m)
		op := directSign
		if _, ok := m.(*pb.DecryptRequest); ok {
			op = directDecrypt
		}
		f.Add(append([]byte{op}, b...))
	}
	f.Add([]byte{9, 1, 2})
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) == 0 {
			return
		}
		out := s.handleDirect(frame)
		if len(out) < 5 || int(binary.BigEndian.Uint32(out)) != len(out)-4 {
			t.Fatalf("malformed answer frame %x", out)
		}
		switch out[4] {
		case directOK:
		case directError:
			if _, transport := fromStatus("fuzz", decodeDirectError(t, out[5:])); transport {
				t.Fatalf("error answer taken for a transport failure")
			}
		default:
			t.Fatalf("answer status byte %d", out[4])
		}
	})
}

// decodeDirectError decodes an error answer body the way the host does,
// through directConn.roundTrip on an in-memory connection.
func decodeDirectError(t *testing.T, body []byte) error {
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)+1))
	frame = append(append(frame, directError), body...)
	host, plugin := net.Pipe()
	defer host.Close()
	defer plugin.Close()
	go func() {
		var hdr [4]byte
		if _, err := io.ReadFull(plugin, hdr[:]); err != nil {
			return
		}
		if _, err := io.ReadFull(plugin, make([]byte, binary.BigEndian.Uint32(hdr[:]))); err != nil {
			return
		}
		plugin.Write(frame)
	}()
	err := newDirectConn(host).roundTrip(time.Now().Add(5*time.Second), directSign, &pb.SignRequest{}, &pb.SignResponse{})
	if err == nil {
		t.Fatalf("error answer decoded as success")
	}
	var te *directTransportError
	if errors.As(err, &te) {
		t.Fatalf("error answer %x not decoded: %v", body, err)
	}
	return err
}

// TestSocketDirAfterKill: a child killed with SIGKILL cannot remove its
// sockets; the host removes their directory when it notices.
func TestSocketDirAfterKill(t *testing.T) {
	ctx := t.Context()
	b, p := openSoftwarePlugin(t, Options{})
	c := p.h.cur.Load()
	entries, err := os.ReadDir(c.dir)
	if err != nil || len(entries) != 2 {
		t.Fatalf("socket directory %s holds %v (err %v), want go-plugin's socket and the direct socket", c.dir, entries, err)
	}
	if err := syscall.Kill(c.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := b.Keys(ctx)
		if err == nil {
			break
		}
		if !isKind(err, backend.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("Keys after a kill: %v", err)
		}
	}
	for {
		if _, err := os.Stat(c.dir); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("socket directory %s of the killed child is still there", c.dir)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDirectInFlightBound: a burst of callers far beyond
// maxDirectInFlight all get verified signatures, the direct channel never
// holds more than maxDirectInFlight connections (the rest go over gRPC),
// and so the threads blocked in read() stay bounded.
func TestDirectInFlightBound(t *testing.T) {
	const bound, callers, each = 4, 64, 10
	old := maxDirectInFlight
	maxDirectInFlight = bound
	t.Cleanup(func() { maxDirectInFlight = old })

	p, s := openDirectSigner(t, Options{})
	c := p.h.cur.Load()
	threads := pprof.Lookup("threadcreate").Count()
	digest := sha256.Sum256([]byte("burst"))
	var wg sync.WaitGroup
	errs := make(chan error, callers*each)
	for range callers {
		wg.Go(func() {
			for range each {
				sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
				if err == nil && !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), digest[:], sig) {
					err = errors.New("signature does not verify")
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := c.direct.dialed.Load(); n < 1 || n > bound {
		t.Errorf("direct connections opened for %d concurrent callers: %d, want 1..%d", callers, n, bound)
	}
	grew := pprof.Lookup("threadcreate").Count() - threads
	t.Logf("%d callers × %d signatures: %d direct connections, %d threads created", callers, each, c.direct.dialed.Load(), grew)
	if grew > 2*bound+runtime.GOMAXPROCS(0)+8 {
		t.Errorf("%d threads created for %d callers with at most %d direct calls in flight", grew, callers, bound)
	}
}

// TestDirectCallTimeout: a plugin that stops answering (SIGSTOP) fails a
// direct call after CallTimeout with DeadlineExceeded and ErrUnavailable,
// not later and not never; the stopped child is then killed and replaced
// (supervise.go), so the next call reaches a new process — whose memory
// keystore starts empty.
func TestDirectCallTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	p, s := openDirectSigner(t, Options{CallTimeout: timeout, HealthInterval: -1})
	c := p.h.cur.Load()
	digest := sha256.Sum256([]byte("timeout"))
	if err := syscall.Kill(c.pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(c.pid, syscall.SIGCONT)
	waitStopped(t, c.pid) // kill(2) returns before the process has stopped
	start := time.Now()
	_, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) || !isKind(err, backend.ErrUnavailable) {
		t.Fatalf("Sign to a stopped plugin: %v, want DeadlineExceeded and ErrUnavailable", err)
	}
	if took < timeout*8/10 || took > 10*timeout {
		t.Errorf("Sign to a stopped plugin failed after %v, want about %v", took, timeout)
	}
	// The new child's start may take longer than a 300 ms deadline on a
	// loaded machine: callers get ErrUnavailable until it is up.
	for retry := time.Now().Add(10 * time.Second); ; {
		_, err = s.Sign(rand.Reader, digest[:], crypto.SHA256)
		if !isKind(err, backend.ErrUnavailable) || time.Now().After(retry) {
			break
		}
	}
	if !isKind(err, backend.ErrNotFound) {
		t.Fatalf("Sign after the stopped plugin was replaced: %v, want ErrNotFound from a new, empty child", err)
	}
	if n := p.h.cur.Load(); n == nil || n.pid == c.pid {
		t.Fatalf("the stopped child %d was not replaced", c.pid)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, f, err := procStat(c.pid); err != nil || f[0] == "Z" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stopped child %d is still alive", c.pid)
		}
	}
}

// waitStopped waits until process pid is stopped (state T in /proc), on
// Linux; elsewhere it waits a moment.
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		_, f, err := procStat(pid)
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			return
		}
		if len(f) > 0 && f[0] == "T" {
			return
		}
	}
	t.Fatalf("process %d did not stop", pid)
}

// openDirectSigner opens plugin+software:memory with opts (closed when the
// test ends), makes a P-256 key and returns the plugin and a signer for
// the key, after one signature over the direct channel.
func openDirectSigner(t *testing.T, opts Options) (*Plugin, crypto.Signer) {
	t.Helper()
	ctx := t.Context()
	b, p := openSoftwarePlugin(t, opts)
	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "k", Algorithm: backend.ECP256}); err != nil {
		t.Fatal(err)
	}
	s, err := b.Signer(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("first"))
	if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	return p, s
}

// openSoftwarePlugin opens plugin+software:memory with opts, closed when
// the test ends.
func openSoftwarePlugin(t *testing.T, opts Options) (backend.Backend, *Plugin) {
	t.Helper()
	b, err := Open(t.Context(), "plugin+software:memory", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	p, _ := AsPlugin(b)
	return b, p
}
