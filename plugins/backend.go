package plugins

import (
	"context"
	"crypto"
	"fmt"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/pkcs8"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// Plugin is a backend.Backend whose keys live in a plugin process. Open
// returns it wrapped in a value that also implements the optional
// interfaces (backend.AEADBackend, backend.FernetBackend,
// backend.Importer) the plugin's backend reported; backend.Exporter is
// never offered across the boundary. The extension interfaces
// backend.KeyAgreement and backend.KEM are always there, and answer
// backend.ErrUnsupported when the plugin's backend lacks them.
type Plugin struct {
	h *host
}

var _ backend.Backend = (*Plugin)(nil)

// PID returns the process ID of the plugin's live child process, or 0 when
// none is running (before the first start, after a crash, after Close).
func (p *Plugin) PID() int {
	if c := p.h.cur.Load(); c != nil && !c.dead.Load() {
		return c.pid
	}
	return 0
}

// Executable returns the path of the plugin executable.
func (p *Plugin) Executable() string { return p.h.t.exe }

// call runs one RPC on the live child (starting one if needed), bounded
// by ctx and by the host's deadline (Options.CallTimeout), and maps its
// error.
func call[Req, Resp any](ctx context.Context, p *Plugin, req Req, rpc func(pb.BackendClient, context.Context, Req, ...grpc.CallOption) (Resp, error)) (Resp, error) {
	return callWithin(ctx, p, p.h.opts.CallTimeout, req, rpc)
}

// slowCall is call for the RPCs that may take long on a token (key
// generation, import): bounded by max(CallTimeout, slowCallTimeout).
func slowCall[Req, Resp any](ctx context.Context, p *Plugin, req Req, rpc func(pb.BackendClient, context.Context, Req, ...grpc.CallOption) (Resp, error)) (Resp, error) {
	return callWithin(ctx, p, max(p.h.opts.CallTimeout, slowCallTimeout), req, rpc)
}

func callWithin[Req, Resp any](ctx context.Context, p *Plugin, d time.Duration, req Req, rpc func(pb.BackendClient, context.Context, Req, ...grpc.CallOption) (Resp, error)) (Resp, error) {
	var zero Resp
	c, err := p.h.conn(ctx)
	if err != nil {
		return zero, err
	}
	cctx, cancel := callContext(ctx, d)
	defer cancel()
	resp, err := rpc(c.rpc, cctx, req)
	if err != nil {
		return zero, p.h.fail(cctx, c, err)
	}
	p.h.succeeded(c)
	return resp, nil
}

func (p *Plugin) Capabilities(ctx context.Context) (*backend.Capabilities, error) {
	w, err := call(ctx, p, &pb.CapabilitiesRequest{}, pb.BackendClient.GetCapabilities)
	if err != nil {
		return nil, err
	}
	caps := capsFromWire(w)
	inner := caps.Backend
	caps.Backend = p.h.t.scheme
	caps.Export = false
	caps.Certificates = caps.Certificates && p.hasCerts() == nil // certs.go
	if !p.reported(pb.Interface_INTERFACE_KEY_WRAP) {
		delete(caps.Details, backend.DetailWrap) // wrap.go
	}
	if !p.reported(pb.Interface_INTERFACE_KEY_UNWRAP) {
		delete(caps.Details, backend.DetailUnwrap)
	}
	caps.Notes = append(caps.Notes, fmt.Sprintf("runs out of process in %s (backend %q); keys are not exported across the plugin boundary", p.h.t.exe, inner))
	return caps, nil
}

func (p *Plugin) GenerateKey(ctx context.Context, spec backend.KeySpec) (*backend.Key, error) {
	if !utf8.ValidString(string(spec.Algorithm)) {
		return nil, fmt.Errorf("unknown key type %q: %w", spec.Algorithm, backend.ErrUnsupported)
	}
	if err := checkText("key label", spec.Label); err != nil {
		return nil, err
	}
	// Only a plugin that wraps keys knows GenerateKeyRequest.wrappable:
	// an older one would drop the field and make a key that never leaves.
	if spec.Wrappable && !p.reported(pb.Interface_INTERFACE_KEY_WRAP) {
		return nil, fmt.Errorf("%s: generate %q: wrappable keys: the plugin's backend wraps no keys: %w", p.h.t.name, spec.Label, backend.ErrUnsupported)
	}
	resp, err := slowCall(ctx, p, &pb.GenerateKeyRequest{Label: spec.Label, Algorithm: string(spec.Algorithm), Wrappable: spec.Wrappable}, pb.BackendClient.GenerateKey)
	if err != nil {
		return nil, err
	}
	return keyFromWire(resp.GetKey())
}

func (p *Plugin) Key(ctx context.Context, ref string) (*backend.Key, error) {
	if err := checkText("key reference", ref); err != nil {
		return nil, err
	}
	resp, err := call(ctx, p, &pb.KeyRequest{Ref: ref}, pb.BackendClient.GetKey)
	if err != nil {
		return nil, err
	}
	return keyFromWire(resp.GetKey())
}

func (p *Plugin) Keys(ctx context.Context) ([]*backend.Key, error) {
	resp, err := call(ctx, p, &pb.ListKeysRequest{}, pb.BackendClient.ListKeys)
	if err != nil {
		return nil, err
	}
	return keysFromWire(resp.GetKeys())
}

func (p *Plugin) DeleteKey(ctx context.Context, ref string) error {
	if err := checkText("key reference", ref); err != nil {
		return err
	}
	_, err := call(ctx, p, &pb.KeyRequest{Ref: ref}, pb.BackendClient.DeleteKey)
	return err
}

// Close stops the plugin process and waits for it to exit (and for any
// process retired after a crash to be reaped). Later calls,
// on the backend and on every signer and decrypter it handed out, return
// backend.ErrClosed. Close is idempotent.
func (p *Plugin) Close() error { return p.h.close() }

// Signer returns a crypto.Signer whose Sign runs in the plugin.
func (p *Plugin) Signer(ctx context.Context, ref string) (crypto.Signer, error) {
	k, err := p.keyPairHandle(ctx, ref, pb.BackendClient.GetSigner)
	if err != nil {
		return nil, err
	}
	return &remoteSigner{h: p.h, ref: keyRefOf(k, ref), alg: k.Algorithm, pub: k.Public}, nil
}

// Decrypter returns a crypto.Decrypter whose Decrypt runs in the plugin.
func (p *Plugin) Decrypter(ctx context.Context, ref string) (crypto.Decrypter, error) {
	k, err := p.keyPairHandle(ctx, ref, pb.BackendClient.GetDecrypter)
	if err != nil {
		return nil, err
	}
	return &remoteDecrypter{h: p.h, ref: keyRefOf(k, ref), pub: k.Public}, nil
}

// keyPairHandle has the plugin make a handle of ref with rpc (GetSigner,
// GetDecrypter) and returns the key it is for, which must have a public
// key.
func (p *Plugin) keyPairHandle(ctx context.Context, ref string, rpc func(pb.BackendClient, context.Context, *pb.KeyRequest, ...grpc.CallOption) (*pb.KeyResponse, error)) (*backend.Key, error) {
	if err := checkText("key reference", ref); err != nil {
		return nil, err
	}
	resp, err := call(ctx, p, &pb.KeyRequest{Ref: ref}, rpc)
	if err != nil {
		return nil, err
	}
	k, err := keyFromWire(resp.GetKey())
	if err != nil {
		return nil, err
	}
	if k.Public == nil {
		return nil, fmt.Errorf("%s: key %q has no public key: %w", p.h.t.name, ref, backend.ErrUnsupported)
	}
	return k, nil
}

// importKey is Importer.ImportKey: private keys cross the channel as
// PKCS#8 DER, secret keys as raw bytes.
func (p *Plugin) importKey(ctx context.Context, label string, key any) (*backend.Key, error) {
	if err := checkText("key label", label); err != nil {
		return nil, err
	}
	req := &pb.ImportKeyRequest{Label: label}
	switch k := key.(type) {
	case backend.SecretKey:
		req.Material = &pb.ImportKeyRequest_SecretKey{SecretKey: &pb.SecretKey{Algorithm: string(k.Algorithm), Value: k.Value}}
	case *backend.SecretKey:
		if k == nil {
			return nil, fmt.Errorf("import: nil secret key: %w", backend.ErrInvalidInput)
		}
		req.Material = &pb.ImportKeyRequest_SecretKey{SecretKey: &pb.SecretKey{Algorithm: string(k.Algorithm), Value: k.Value}}
	default:
		if _, err := backend.AlgorithmOf(key); err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
		der, err := pkcs8.MarshalPrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("import: key of type %T cannot be encoded as PKCS#8: %w", key, backend.ErrUnsupported)
		}
		defer clear(der)
		req.Material = &pb.ImportKeyRequest_Pkcs8PrivateKey{Pkcs8PrivateKey: der}
	}
	resp, err := slowCall(ctx, p, req, pb.BackendClient.ImportKey)
	if err != nil {
		return nil, err
	}
	return keyFromWire(resp.GetKey())
}

func (p *Plugin) plugin() *Plugin { return p }

// ChildStarts reports how many plugin processes have been started and made
// live: 1 after Open, one more for each child that replaced a crashed,
// hung or unhealthy one. Package observe reports ChildStarts()-1 as the
// plugin's restarts.
func (p *Plugin) ChildStarts() uint64 { return p.h.starts.Load() }

// AsPlugin returns the *Plugin inside a backend that Open returned, also
// through wrappers (package observe's) that have an Unwrap method.
func AsPlugin(b backend.Backend) (*Plugin, bool) {
	for b != nil {
		if pb, ok := b.(interface{ plugin() *Plugin }); ok {
			return pb.plugin(), true
		}
		u, ok := b.(interface{ Unwrap() backend.Backend })
		if !ok {
			break
		}
		b = u.Unwrap()
	}
	return nil, false
}

// checkText refuses strings the protocol cannot carry: proto3 strings are
// UTF-8, and a label or reference that is not is malformed anyway.
func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q is not valid UTF-8: %w", what, s, backend.ErrInvalidInput)
	}
	return nil
}
