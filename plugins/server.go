package plugins

//lint:file-ignore SA1019 rsa-pkcs1v15 decryption is an operation keyplane offers for data that already exists; docs/decisions.md says why and points new data at OAEP

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net"
	"sync"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/pkcs8"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// OpenFunc opens the backend a plugin serves from the configuration the
// host sends after the handshake (see ServeOpen).
type OpenFunc func(ctx context.Context, uri string) (backend.Backend, error)

// server is the plugin side of the protocol: it answers the host's gRPC
// calls with a backend.Backend. Every method turns the backend's error into
// a gRPC status that keeps its sentinel (toStatus).
type server struct {
	pb.UnimplementedBackendServer

	openReq OpenRequestFunc
	secrets []*backend.StaticSecret // the host's, zeroed at close

	mu     sync.RWMutex
	b      backend.Backend // nil until OpenBackend
	direct net.Listener    // the direct channel's socket, once opened

	handles handleCache
}

func newServer(open OpenFunc) *server {
	return &server{openReq: openRequestOf(open), handles: handleCache{m: map[handleKey]any{}}}
}

// backend returns the opened backend, or an error before OpenBackend.
func (s *server) backend() (backend.Backend, error) {
	s.mu.RLock()
	b := s.b
	s.mu.RUnlock()
	if b == nil {
		return nil, toStatus(fmt.Errorf("plugin backend not opened: the host must call OpenBackend first: %w", backend.ErrInvalidInput))
	}
	return b, nil
}

// close closes the backend, once.
func (s *server) close() error {
	s.mu.Lock()
	b := s.b
	s.b = nil
	if s.direct != nil {
		s.direct.Close()
		s.direct = nil
	}
	held := s.secrets
	s.secrets = nil
	s.mu.Unlock()
	s.handles.clear()
	var err error
	if b != nil {
		err = b.Close()
	}
	for _, h := range held {
		h.Zero()
	}
	return err
}

func (s *server) OpenBackend(ctx context.Context, req *pb.OpenBackendRequest) (*pb.OpenBackendResponse, error) {
	return s.openWith(ctx, &OpenRequest{URI: req.GetUri()})
}

// openWith opens the backend, once.
func (s *server) openWith(ctx context.Context, req *OpenRequest) (*pb.OpenBackendResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b != nil {
		return nil, toStatus(fmt.Errorf("plugin backend already opened: %w", backend.ErrInvalidInput))
	}
	b, err := s.openReq(ctx, req)
	if err != nil {
		return nil, toStatus(err)
	}
	if b == nil {
		return nil, toStatus(fmt.Errorf("plugin's open function returned no backend: %w", backend.ErrUnavailable))
	}
	s.b = b
	resp := &pb.OpenBackendResponse{}
	for _, o := range optionalInterfaces {
		if o.in(b) {
			resp.Interfaces = append(resp.Interfaces, o.iface)
		}
	}
	return resp, nil
}

// optionalInterfaces are the optional interfaces OpenBackend reports, in
// the order it reports them, each with the test of whether a backend
// has it.
var optionalInterfaces = []struct {
	iface pb.Interface
	in    func(backend.Backend) bool
}{
	{pb.Interface_INTERFACE_AEAD, implements[backend.AEADBackend]},
	{pb.Interface_INTERFACE_FERNET, implements[backend.FernetBackend]},
	{pb.Interface_INTERFACE_IMPORT, implements[backend.Importer]},
	{pb.Interface_INTERFACE_CERTIFICATES, implements[backend.CertificateStore]},
	{pb.Interface_INTERFACE_KEY_AGREEMENT, implements[backend.KeyAgreement]},
	{pb.Interface_INTERFACE_KEM, implements[backend.KEM]},
	{pb.Interface_INTERFACE_KEY_VERSIONS, implements[backend.KeyVersions]},
	{pb.Interface_INTERFACE_KEY_WRAP, implements[backend.KeyWrapper]},
	{pb.Interface_INTERFACE_KEY_UNWRAP, implements[backend.KeyUnwrapper]},
}

// implements reports whether b has the interface I.
func implements[I any](b backend.Backend) bool {
	_, ok := b.(I)
	return ok
}

func (s *server) GetCapabilities(ctx context.Context, _ *pb.CapabilitiesRequest) (*pb.Capabilities, error) {
	b, err := s.backend()
	if err != nil {
		return nil, err
	}
	c, err := b.Capabilities(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	if c == nil {
		return nil, toStatus(fmt.Errorf("backend reported no capabilities: %w", backend.ErrUnavailable))
	}
	w := capsToWire(c)
	if _, ok := b.(backend.CertificateStore); !ok {
		w.Certificates = false // a wrapper passing on its inner backend's report
	}
	if _, ok := b.(backend.KeyWrapper); !ok {
		delete(w.Details, backend.DetailWrap)
	}
	if _, ok := b.(backend.KeyUnwrapper); !ok {
		delete(w.Details, backend.DetailUnwrap)
	}
	return w, nil
}

func (s *server) GenerateKey(ctx context.Context, req *pb.GenerateKeyRequest) (*pb.KeyResponse, error) {
	b, err := s.backend()
	if err != nil {
		return nil, err
	}
	k, err := b.GenerateKey(ctx, backend.KeySpec{Label: req.GetLabel(), Algorithm: backend.Algorithm(req.GetAlgorithm()), Wrappable: req.GetWrappable()})
	return keyResponse(k, err)
}

func (s *server) GetKey(ctx context.Context, req *pb.KeyRequest) (*pb.KeyResponse, error) {
	return s.keyFor(ctx, req.GetRef())
}

func (s *server) ListKeys(ctx context.Context, _ *pb.ListKeysRequest) (*pb.ListKeysResponse, error) {
	return callBackend(s, func(b backend.Backend) (*pb.ListKeysResponse, error) {
		return keysReply(b.Keys(ctx))
	})
}

func (s *server) DeleteKey(ctx context.Context, req *pb.KeyRequest) (*pb.DeleteKeyResponse, error) {
	return callBackend(s, func(b backend.Backend) (*pb.DeleteKeyResponse, error) {
		// Whatever happens, forget every handle: a handle for the deleted
		// key must not outlive it.
		defer s.handles.clear()
		if err := b.DeleteKey(ctx, req.GetRef()); err != nil {
			return nil, err
		}
		return &pb.DeleteKeyResponse{}, nil
	})
}

func (s *server) ImportKey(ctx context.Context, req *pb.ImportKeyRequest) (*pb.KeyResponse, error) {
	b, err := s.backend()
	if err != nil {
		return nil, err
	}
	imp, ok := b.(backend.Importer)
	if !ok {
		return nil, toStatus(fmt.Errorf("this plugin's backend cannot import keys: %w", backend.ErrUnsupported))
	}
	var key any
	switch m := req.GetMaterial().(type) {
	case *pb.ImportKeyRequest_Pkcs8PrivateKey:
		der := m.Pkcs8PrivateKey
		priv, err := pkcs8.ParsePrivateKey(der)
		clear(der)
		if err != nil {
			// The parser's message names no key bytes.
			return nil, toStatus(fmt.Errorf("import: malformed PKCS#8 private key: %w", backend.ErrInvalidInput))
		}
		key = priv
	case *pb.ImportKeyRequest_SecretKey:
		if m.SecretKey == nil {
			return nil, toStatus(fmt.Errorf("import: empty secret key: %w", backend.ErrInvalidInput))
		}
		key = backend.SecretKey{Algorithm: backend.Algorithm(m.SecretKey.GetAlgorithm()), Value: m.SecretKey.GetValue()}
	default:
		return nil, toStatus(fmt.Errorf("import: no key material in the request: %w", backend.ErrInvalidInput))
	}
	k, err := imp.ImportKey(ctx, req.GetLabel(), key)
	if sk, ok := key.(backend.SecretKey); ok {
		clear(sk.Value)
	}
	return keyResponse(k, err)
}

// keyResponse is keyReply with its error as a status (toStatus).
func keyResponse(k *backend.Key, err error) (*pb.KeyResponse, error) {
	resp, err := keyReply(k, err)
	if err != nil {
		return nil, toStatus(err)
	}
	return resp, nil
}

// keyReply is the answer carrying k, or err; its errors are plain (for
// callBackend and callInner, which make them statuses).
func keyReply(k *backend.Key, err error) (*pb.KeyResponse, error) {
	if err != nil {
		return nil, err
	}
	w, err := keyToWire(k)
	if err != nil {
		return nil, err
	}
	return &pb.KeyResponse{Key: w}, nil
}

// keysReply is the answer listing keys, or err; its errors are plain, as
// keyReply's.
func keysReply(keys []*backend.Key, err error) (*pb.ListKeysResponse, error) {
	if err != nil {
		return nil, err
	}
	resp := &pb.ListKeysResponse{Keys: make([]*pb.Key, 0, len(keys))}
	for _, k := range keys {
		w, err := keyToWire(k)
		if err != nil {
			return nil, err
		}
		resp.Keys = append(resp.Keys, w)
	}
	return resp, nil
}

// signer returns the crypto.Signer for ref, from the cache when it can.
func (s *server) signer(ctx context.Context, ref string) (crypto.Signer, error) {
	return cachedHandle(ctx, s, handleSigner, ref, "", backend.Backend.Signer)
}

func (s *server) decrypter(ctx context.Context, ref string) (crypto.Decrypter, error) {
	return cachedHandle(ctx, s, handleDecrypter, ref, "", backend.Backend.Decrypter)
}

// keyFor looks a key up: GetKey, and the Get* answers after a handle was
// obtained.
func (s *server) keyFor(ctx context.Context, ref string) (*pb.KeyResponse, error) {
	return callBackend(s, func(b backend.Backend) (*pb.KeyResponse, error) {
		return keyReply(b.Key(ctx, ref))
	})
}

func (s *server) GetSigner(ctx context.Context, req *pb.KeyRequest) (*pb.KeyResponse, error) {
	if _, err := s.signer(ctx, req.GetRef()); err != nil {
		return nil, err
	}
	return s.keyFor(ctx, req.GetRef())
}

func (s *server) GetDecrypter(ctx context.Context, req *pb.KeyRequest) (*pb.KeyResponse, error) {
	if _, err := s.decrypter(ctx, req.GetRef()); err != nil {
		return nil, err
	}
	return s.keyFor(ctx, req.GetRef())
}

func (s *server) Sign(ctx context.Context, req *pb.SignRequest) (*pb.SignResponse, error) {
	h, err := hashFromWire(req.GetHash())
	if err != nil {
		return nil, toStatus(err)
	}
	var opts crypto.SignerOpts = h
	if req.GetPss() {
		if req.GetSaltLength() <= 0 {
			return nil, toStatus(fmt.Errorf("sign: PSS request with salt length %d (the host resolves it to a positive length): %w", req.GetSaltLength(), backend.ErrInvalidInput))
		}
		opts = &rsa.PSSOptions{SaltLength: int(req.GetSaltLength()), Hash: h}
	}
	if c := req.GetMldsaContext(); c != "" {
		if h != 0 || req.GetPss() {
			return nil, toStatus(fmt.Errorf("sign: an ML-DSA context string with hash %v: %w", h, backend.ErrInvalidInput))
		}
		opts = &backend.MLDSAOptions{Context: c}
	}
	sg, err := s.signer(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	sig, err := sg.Sign(rand.Reader, req.GetDigest(), opts)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.SignResponse{Signature: sig}, nil
}

func (s *server) Decrypt(ctx context.Context, req *pb.DecryptRequest) (*pb.DecryptResponse, error) {
	var opts crypto.DecrypterOpts
	switch req.GetPadding() {
	case pb.Padding_PADDING_PKCS1V15:
		if req.GetSessionKeyLen() < 0 {
			return nil, toStatus(fmt.Errorf("decrypt: negative session key length: %w", backend.ErrInvalidInput))
		}
		opts = &rsa.PKCS1v15DecryptOptions{SessionKeyLen: int(req.GetSessionKeyLen())}
	case pb.Padding_PADDING_OAEP:
		h, err := hashFromWire(req.GetOaepHash())
		if err != nil {
			return nil, toStatus(err)
		}
		mgf, err := hashFromWire(req.GetMgfHash())
		if err != nil {
			return nil, toStatus(err)
		}
		if h == 0 {
			return nil, toStatus(fmt.Errorf("decrypt: OAEP request without a hash: %w", backend.ErrInvalidInput))
		}
		opts = &rsa.OAEPOptions{Hash: h, MGFHash: mgf, Label: req.GetLabel()}
	default:
		return nil, toStatus(fmt.Errorf("decrypt: padding %d: %w", int32(req.GetPadding()), backend.ErrUnsupported))
	}
	d, err := s.decrypter(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	pt, err := d.Decrypt(rand.Reader, req.GetCiphertext(), opts)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.DecryptResponse{Plaintext: pt}, nil
}
