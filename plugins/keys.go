package plugins

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// remoteSigner is a crypto.Signer whose private key is in the plugin. Its
// options are checked on the host (backend.ParseSignerOpts), so a refused
// option costs no round trip; the rand argument is ignored (the plugin's
// backend draws its own randomness). Sign has no context: each call is
// bounded by Options.CallTimeout.
type remoteSigner struct {
	h   *host
	ref string // id:<hex>
	alg backend.Algorithm
	pub crypto.PublicKey
}

func (s *remoteSigner) Public() crypto.PublicKey { return s.pub }

func (s *remoteSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	params, err := backend.ParseSignerOpts(s.alg, s.pub, digest, opts)
	if err != nil {
		return nil, err
	}
	h, err := hashToWire(params.Hash)
	if err != nil {
		return nil, err
	}
	req := &pb.SignRequest{Ref: s.ref, Digest: digest, Hash: h, Pss: params.PSS, SaltLength: int32(params.SaltLength), MldsaContext: params.Context}
	resp, err := handleCall(s.h, directSign, len(digest), req, pb.BackendClient.Sign)
	if err != nil {
		return nil, err
	}
	return resp.GetSignature(), nil
}

// remoteDecrypter is a crypto.Decrypter whose private key is in the
// plugin. Decrypt has no context: each call is bounded by
// Options.CallTimeout. Every decryption failure is backend.ErrDecryption,
// with no detail from the plugin.
type remoteDecrypter struct {
	h   *host
	ref string
	pub crypto.PublicKey
}

func (d *remoteDecrypter) Public() crypto.PublicKey { return d.pub }

func (d *remoteDecrypter) Decrypt(_ io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	params, err := backend.ParseDecrypterOpts(opts)
	if err != nil {
		return nil, err
	}
	req := &pb.DecryptRequest{Ref: d.ref, Ciphertext: msg, Padding: pb.Padding_PADDING_PKCS1V15, SessionKeyLen: int32(params.SessionKeyLen)}
	if params.OAEP {
		req.Padding = pb.Padding_PADDING_OAEP
		req.SessionKeyLen = 0
		if req.OaepHash, err = hashToWire(params.Hash); err != nil {
			return nil, err
		}
		if req.MgfHash, err = hashToWire(params.MGFHash); err != nil {
			return nil, err
		}
		req.Label = params.Label
	}
	resp, err := handleCall(d.h, directDecrypt, len(msg), req, pb.BackendClient.Decrypt)
	if err != nil {
		return nil, err
	}
	return resp.GetPlaintext(), nil
}

// handleCall is one Sign or Decrypt of a handle: over the direct channel
// (as op) when the child has one and the payload fits, else over gRPC
// (rpc); bounded by Options.CallTimeout either way, the handle methods
// having no context. A failure counts against the child as any call's.
func handleCall[Req proto.Message, R any, Resp interface {
	*R
	proto.Message
}](h *host, op byte, payload int, req Req, rpc func(pb.BackendClient, context.Context, Req, ...grpc.CallOption) (Resp, error)) (Resp, error) {
	c, err := h.live()
	if err != nil {
		return nil, err
	}
	if c.direct != nil && payload <= maxDirectRequest {
		resp := Resp(new(R))
		if ok, err := c.direct.tryCall(time.Now().Add(h.opts.CallTimeout), op, req, resp); ok {
			if err != nil {
				return nil, h.failDirect(c, err)
			}
			h.succeeded(c)
			return resp, nil
		}
	}
	ctx, cancel := callContext(context.Background(), h.opts.CallTimeout)
	defer cancel()
	resp, err := rpc(c.rpc, ctx, req)
	if err != nil {
		return nil, h.fail(ctx, c, err)
	}
	h.succeeded(c)
	return resp, nil
}

// remoteAEAD is a backend.AEAD whose key is in the plugin.
type remoteAEAD struct {
	p                   *Plugin
	ref                 string
	nonceSize, overhead int
}

func (a *remoteAEAD) NonceSize() int { return a.nonceSize }
func (a *remoteAEAD) Overhead() int  { return a.overhead }

func (a *remoteAEAD) Seal(ctx context.Context, plaintext, ad []byte) ([]byte, error) {
	resp, err := call(ctx, a.p, &pb.AEADSealRequest{Ref: a.ref, Plaintext: plaintext, AdditionalData: ad}, pb.BackendClient.AEADSeal)
	if err != nil {
		return nil, err
	}
	return resp.GetSealed(), nil
}

func (a *remoteAEAD) Open(ctx context.Context, sealed, ad []byte) ([]byte, error) {
	resp, err := call(ctx, a.p, &pb.AEADOpenRequest{Ref: a.ref, Sealed: sealed, AdditionalData: ad}, pb.BackendClient.AEADOpen)
	if err != nil {
		return nil, err
	}
	return resp.GetPlaintext(), nil
}

// remoteFernet is a backend.FernetKey whose key is in the plugin.
type remoteFernet struct {
	p   *Plugin
	ref string
}

func (f *remoteFernet) MAC(ctx context.Context, data []byte) ([]byte, error) {
	resp, err := call(ctx, f.p, &pb.FernetMACRequest{Ref: f.ref, Data: data}, pb.BackendClient.FernetMAC)
	if err != nil {
		return nil, err
	}
	return resp.GetMac(), nil
}

func (f *remoteFernet) EncryptCBC(ctx context.Context, iv, plaintext []byte) ([]byte, error) {
	resp, err := call(ctx, f.p, &pb.FernetCBCRequest{Ref: f.ref, Iv: iv, Data: plaintext}, pb.BackendClient.FernetEncryptCBC)
	if err != nil {
		return nil, err
	}
	return resp.GetData(), nil
}

func (f *remoteFernet) DecryptCBC(ctx context.Context, iv, ciphertext []byte) ([]byte, error) {
	resp, err := call(ctx, f.p, &pb.FernetCBCRequest{Ref: f.ref, Iv: iv, Data: ciphertext}, pb.BackendClient.FernetDecryptCBC)
	if err != nil {
		return nil, err
	}
	return resp.GetData(), nil
}

// aead is AEADBackend.AEAD.
func (p *Plugin) aead(ctx context.Context, ref string) (backend.AEAD, error) {
	if err := checkText("key reference", ref); err != nil {
		return nil, err
	}
	info, err := call(ctx, p, &pb.KeyRequest{Ref: ref}, pb.BackendClient.GetAEAD)
	if err != nil {
		return nil, err
	}
	k, err := keyFromWire(info.GetKey())
	if err != nil {
		return nil, err
	}
	// A nonce size of 0 is a service-formatted AEAD (backend.DetailAEADLayout).
	if info.GetNonceSize() < 0 || info.GetOverhead() <= 0 || info.GetOverhead() < info.GetNonceSize() {
		return nil, fmt.Errorf("%s: AEAD with nonce size %d and overhead %d: %w", p.h.t.name, info.GetNonceSize(), info.GetOverhead(), backend.ErrUnavailable)
	}
	return &remoteAEAD{p: p, ref: keyRefOf(k, ref), nonceSize: int(info.GetNonceSize()), overhead: int(info.GetOverhead())}, nil
}

// fernet is FernetBackend.Fernet.
func (p *Plugin) fernet(ctx context.Context, ref string) (backend.FernetKey, error) {
	if err := checkText("key reference", ref); err != nil {
		return nil, err
	}
	resp, err := call(ctx, p, &pb.KeyRequest{Ref: ref}, pb.BackendClient.GetFernet)
	if err != nil {
		return nil, err
	}
	k, err := keyFromWire(resp.GetKey())
	if err != nil {
		return nil, err
	}
	return &remoteFernet{p: p, ref: keyRefOf(k, ref)}, nil
}
