package plugins

import (
	"context"
	"crypto/x509"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/software"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// fuzzBackend keeps fuzzing fast: no RSA key generation (seconds per key)
// and a bounded number of keys.
type fuzzBackend struct{ *software.Keystore }

func (f fuzzBackend) GenerateKey(ctx context.Context, spec backend.KeySpec) (*backend.Key, error) {
	if spec.Algorithm.Family() == backend.FamilyRSA {
		return nil, backend.ErrUnsupported
	}
	if keys, _ := f.Keys(ctx); len(keys) > 64 {
		return nil, backend.ErrUnsupported
	}
	return f.Keystore.GenerateKey(ctx, spec)
}

var (
	fuzzOnce sync.Once
	fuzzSrv  *server
	fuzzErr  error
)

// fuzzServer is one plugin server over a memory keystore holding a key of
// every algorithm, labelled by algorithm name.
func fuzzServer(t testing.TB) *server {
	fuzzOnce.Do(func() {
		ctx := context.Background()
		ks, err := software.Open(ctx, "software:memory")
		if err != nil {
			fuzzErr = err
			return
		}
		for _, alg := range []backend.Algorithm{backend.RSA2048, backend.ECP256, backend.Ed25519, backend.AES256, backend.Fernet} {
			if _, err := ks.GenerateKey(ctx, backend.KeySpec{Label: string(alg), Algorithm: alg}); err != nil {
				fuzzErr = err
				return
			}
		}
		fuzzSrv = newServer(func(context.Context, string) (backend.Backend, error) { return fuzzBackend{ks}, nil })
		_, fuzzErr = fuzzSrv.OpenBackend(ctx, &pb.OpenBackendRequest{})
	})
	if fuzzErr != nil {
		t.Fatal(fuzzErr)
	}
	return fuzzSrv
}

// fuzzCalls are the server's handlers, each with its request type.
var fuzzCalls = []struct {
	name string
	new  func() proto.Message
	call func(s *server, ctx context.Context, m proto.Message) (proto.Message, error)
}{
	{"OpenBackend", func() proto.Message { return &pb.OpenBackendRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			return s.OpenBackend(ctx, m.(*pb.OpenBackendRequest))
		}},
	{"OpenBackendWithSecrets", func() proto.Message { return &pb.OpenBackendWithSecretsRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			return s.OpenBackendWithSecrets(ctx, m.(*pb.OpenBackendWithSecretsRequest))
		}},
	{"GetCapabilities", func() proto.Message { return &pb.CapabilitiesRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			return s.GetCapabilities(ctx, m.(*pb.CapabilitiesRequest))
		}},
	{"GenerateKey", func() proto.Message { return &pb.GenerateKeyRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			return s.GenerateKey(ctx, m.(*pb.GenerateKeyRequest))
		}},
	{"GetKey", func() proto.Message { return &pb.KeyRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			return s.GetKey(ctx, m.(*pb.KeyRequest))
		}},
	{"ListKeys", func() proto.Message { return &pb.ListKeysRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			return s.ListKeys(ctx, m.(*pb.ListKeysRequest))
		}},
	{"DeleteKey", func() proto.Message { return &pb.KeyRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			r := m.(*pb.KeyRequest)
			if !strings.HasPrefix(r.GetRef(), "fuzz") {
				return nil, nil // keep the seeded keys
			}
			return s.DeleteKey(ctx, r)
		}},
	{"ImportKey", func() proto.Message { return &pb.ImportKeyRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			return s.ImportKey(ctx, m.(*pb.ImportKeyRequest))
		}},
	{"GetSigner", func() proto.Message { return &pb.KeyRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			return s.GetSigner(ctx, m.(*pb.KeyRequest))
		}},
	{"Sign", func() proto.Message { return &pb.SignRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			return s.Sign(ctx, m.(*pb.SignRequest))
		}},
	{"GetDecrypter", func() proto.Message { return &pb.KeyRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			return s.GetDecrypter(ctx, m.(*pb.KeyRequest))
		}},
	{"Decrypt", func() proto.Message { return &pb.DecryptRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			return s.Decrypt(ctx, m.(*pb.DecryptRequest))
		}},
	{"GetAEAD", func() proto.Message { return &pb.KeyRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			return s.GetAEAD(ctx, m.(*pb.KeyRequest))
		}},
	{"AEADSeal", func() proto.Message { return &pb.AEADSealRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			return s.AEADSeal(ctx, m.(*pb.AEADSealRequest))
		}},
	{"AEADOpen", func() proto.Message { return &pb.AEADOpenRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			return s.AEADOpen(ctx, m.(*pb.AEADOpenRequest))
		}},
	{"GetFernet", func() proto.Message { return &pb.KeyRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			return s.GetFernet(ctx, m.(*pb.KeyRequest))
		}},
	{"FernetMAC", func() proto.Message { return &pb.FernetMACRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			return s.FernetMAC(ctx, m.(*pb.FernetMACRequest))
		}},
	{"FernetEncryptCBC", func() proto.Message { return &pb.FernetCBCRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			return s.FernetEncryptCBC(ctx, m.(*pb.FernetCBCRequest))
		}},
	{"FernetDecryptCBC", func() proto.Message { return &pb.FernetCBCRequest{} },
		func(s *server, ctx context.Context, m proto.Message) (proto.Message, error) {
			return s.FernetDecryptCBC(ctx, m.(*pb.FernetCBCRequest))
		}},
}

// FuzzServer feeds random bytes, decoded as each request type, to the
// plugin server's handlers: no panic, and every failure is a gRPC status
// with a code (what the host maps back to a keyplane sentinel).
func FuzzServer(f *testing.F) {
	seed := func(i int, m proto.Message) {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte{byte(i)}, b...))
	}
	index := func(name string) int {
		for i, c := range fuzzCalls {
			if c.name == name {
				return i
			}
		}
		f.Fatalf("no call %s", name)
		return 0
	}
	for _, alg := range []string{"rsa-2048", "ec-p256", "ed25519", "aes-256", "fernet"} {
		for _, name := range []string{"GetKey", "GetSigner", "GetDecrypter", "GetAEAD", "GetFernet"} {
			seed(index(name), &pb.KeyRequest{Ref: alg})
		}
	}
	for _, m := range wireSamples {
		for i, c := range fuzzCalls {
			if proto.MessageName(c.new()) == proto.MessageName(m) {
				seed(i, m)
			}
		}
	}
	digest := make([]byte, 32)
	seed(index("Sign"), &pb.SignRequest{Ref: "ec-p256", Digest: digest, Hash: pb.Hash_HASH_SHA256})
	seed(index("Sign"), &pb.SignRequest{Ref: "rsa-2048", Digest: digest, Hash: pb.Hash_HASH_SHA256, Pss: true, SaltLength: 32})
	seed(index("Sign"), &pb.SignRequest{Ref: "ed25519", Digest: []byte("msg")})
	seed(index("Decrypt"), &pb.DecryptRequest{Ref: "rsa-2048", Ciphertext: make([]byte, 256), Padding: pb.Padding_PADDING_OAEP, OaepHash: pb.Hash_HASH_SHA256})
	seed(index("Decrypt"), &pb.DecryptRequest{Ref: "rsa-2048", Ciphertext: make([]byte, 256), Padding: pb.Padding_PADDING_PKCS1V15, SessionKeyLen: 16})
	seed(index("AEADOpen"), &pb.AEADOpenRequest{Ref: "aes-256", Sealed: make([]byte, 40)})
	seed(index("FernetDecryptCBC"), &pb.FernetCBCRequest{Ref: "fernet", Iv: make([]byte, 16), Data: make([]byte, 32)})
	seed(index("GenerateKey"), &pb.GenerateKeyRequest{Label: "fuzz-1", Algorithm: "ed25519"})
	seed(index("DeleteKey"), &pb.KeyRequest{Ref: "fuzz-1"})
	seed(index("ImportKey"), &pb.ImportKeyRequest{Label: "fuzz-2", Material: &pb.ImportKeyRequest_SecretKey{SecretKey: &pb.SecretKey{Algorithm: "aes-256", Value: make([]byte, 32)}}})
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		c := fuzzCalls[int(data[0])%len(fuzzCalls)]
		req := c.new()
		if err := proto.Unmarshal(data[1:], req); err != nil {
			return
		}
		if ir, ok := req.(*pb.ImportKeyRequest); ok {
			if der := ir.GetPkcs8PrivateKey(); der != nil {
				if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
					if alg, _ := backend.AlgorithmOf(k); alg.Family() == backend.FamilyRSA {
						return // valid RSA imports are slow and prove nothing new
					}
				}
			}
		}
		_, err := c.call(s, context.Background(), req)
		if err == nil {
			return
		}
		st, ok := status.FromError(err)
		if !ok || st.Code() == codes.OK {
			t.Fatalf("%s: error %v is not a gRPC status", c.name, err)
		}
		if out, _ := fromStatus("fuzz", err); out == nil {
			t.Fatalf("%s: status %v maps to no error", c.name, err)
		}
	})
}
