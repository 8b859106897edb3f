package plugins

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/software"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// bareBackend has only the backend.Backend methods of the backend inside:
// none of the optional interfaces.
type bareBackend struct{ backend.Backend }

// serverRPC is one plugin-side RPC, called straight on the server.
type serverRPC struct {
	name  string
	lacks string // the ErrUnsupported answer of a backend without the interface; "" for the plain methods
	call  func(ctx context.Context, s *server) error
}

func serverRPCs() []serverRPC {
	ref := &pb.KeyRequest{Ref: "k"}
	return []serverRPC{
		{"GetKey", "", callRPC((*server).GetKey, ref)},
		{"ListKeys", "", callRPC((*server).ListKeys, &pb.ListKeysRequest{})},
		{"DeleteKey", "", callRPC((*server).DeleteKey, ref)},
		{"GetSigner", "", callRPC((*server).GetSigner, ref)},
		{"GetDecrypter", "", callRPC((*server).GetDecrypter, ref)},
		{"Rotate", "has no key versions", callRPC((*server).Rotate, ref)},
		{"ListVersions", "has no key versions", callRPC((*server).ListVersions, ref)},
		{"SetMinVersion", "has no key versions", callRPC((*server).SetMinVersion, &pb.SetMinVersionRequest{Ref: "k", MinVersion: 2})},
		{"DeleteVersion", "has no key versions", callRPC((*server).DeleteVersion, &pb.DeleteVersionRequest{Ref: "k", Version: 1})},
		{"StoreCertificates", "stores no certificates", callRPC((*server).StoreCertificates, &pb.StoreCertificatesRequest{Ref: "k"})},
		{"GetCertificates", "stores no certificates", callRPC((*server).GetCertificates, ref)},
		{"DeleteCertificates", "stores no certificates", callRPC((*server).DeleteCertificates, ref)},
		{"GetKeyExchanger", "does no key agreement", callRPC((*server).GetKeyExchanger, ref)},
		{"GetDecapsulator", "has no KEM keys", callRPC((*server).GetDecapsulator, ref)},
		{"GetAEAD", "has no AEAD keys", callRPC((*server).GetAEAD, ref)},
		{"GetFernet", "has no Fernet keys", callRPC((*server).GetFernet, ref)},
		{"WrapKey", "wraps no keys", callRPC((*server).WrapKey, &pb.WrapKeyRequest{Ref: "k", WrappingRef: "w", Mechanism: "aes-key-wrap-pad"})},
		{"UnwrapKey", "unwraps no keys", callRPC((*server).UnwrapKey, &pb.UnwrapKeyRequest{UnwrappingRef: "w", Label: "k"})},
	}
}

// callRPC is serverRPC.call for a server method and its request.
func callRPC[Req, Resp any](method func(*server, context.Context, Req) (Resp, error), req Req) func(context.Context, *server) error {
	return func(ctx context.Context, s *server) error {
		_, err := method(s, ctx, req)
		return err
	}
}

// wantStatus checks that err is a status carrying sentinel want (as the
// host reads it) with a message containing msg.
func wantStatus(t *testing.T, what string, err error, code codes.Code, want error, msg string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Errorf("%s: %T %v is not a gRPC status", what, err, err)
		return
	}
	if st.Code() != code {
		t.Errorf("%s: status code %v, want %v (%v)", what, st.Code(), code, err)
	}
	if !strings.Contains(st.Message(), msg) {
		t.Errorf("%s: message %q does not say %q", what, st.Message(), msg)
	}
	out, transport := fromStatus("p", err)
	if transport || !errors.Is(out, want) {
		t.Errorf("%s: read on the host as %v (transport %v), want %v", what, out, transport, want)
	}
}

// TestServerAnswersBeforeOpen: every RPC of the plugin side answers
// ErrInvalidInput, naming OpenBackend, before the host opened the backend.
func TestServerAnswersBeforeOpen(t *testing.T) {
	s := newServer(func(ctx context.Context, uri string) (backend.Backend, error) {
		return nil, errors.New("not called")
	})
	for _, r := range serverRPCs() {
		wantStatus(t, r.name, r.call(t.Context(), s), codes.InvalidArgument, backend.ErrInvalidInput, "the host must call OpenBackend first")
	}
}

// TestServerAnswersWithoutInterface: a backend without an optional
// interface is answered ErrUnsupported saying what it lacks; the plain
// methods reach the backend and carry its sentinel (no key "k").
func TestServerAnswersWithoutInterface(t *testing.T) {
	ctx := t.Context()
	s := newServer(func(ctx context.Context, uri string) (backend.Backend, error) {
		b, err := software.Open(ctx, uri)
		if err != nil {
			return nil, err
		}
		return bareBackend{b}, nil
	})
	resp, err := s.OpenBackend(ctx, &pb.OpenBackendRequest{Uri: "software:memory"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.close() })
	if len(resp.GetInterfaces()) != 0 {
		t.Errorf("OpenBackend of a backend without optional interfaces reported %v", resp.GetInterfaces())
	}
	for _, r := range serverRPCs() {
		err := r.call(ctx, s)
		switch {
		case r.name == "ListKeys":
			if err != nil {
				t.Errorf("ListKeys on an empty keystore: %v", err)
			}
		case r.lacks == "":
			wantStatus(t, r.name, err, codes.NotFound, backend.ErrNotFound, `"k"`)
		default:
			wantStatus(t, r.name, err, codes.Unimplemented, backend.ErrUnsupported, "this plugin's backend "+r.lacks+": ")
		}
	}
}

// TestServerAnswersWithInterface: with the interfaces there, the
// answers are the backend's own: its sentinel for a missing key, its
// values (and the key-version changes forget cached handles).
func TestServerAnswersWithInterface(t *testing.T) {
	ctx := t.Context()
	s := newServer(func(ctx context.Context, uri string) (backend.Backend, error) { return software.Open(ctx, uri) })
	resp, err := s.OpenBackend(ctx, &pb.OpenBackendRequest{Uri: "software:memory"})
	if err != nil {
		t.Fatal(err)
	}
	// Every optional interface of the software backend, in this order; it wraps no keys.
	want := []pb.Interface{pb.Interface_INTERFACE_AEAD, pb.Interface_INTERFACE_FERNET, pb.Interface_INTERFACE_IMPORT,
		pb.Interface_INTERFACE_CERTIFICATES, pb.Interface_INTERFACE_KEY_AGREEMENT, pb.Interface_INTERFACE_KEM, pb.Interface_INTERFACE_KEY_VERSIONS}
	if !slices.Equal(resp.GetInterfaces(), want) {
		t.Errorf("OpenBackend of the software backend reported %v, want %v", resp.GetInterfaces(), want)
	}
	t.Cleanup(func() { s.close() })
	for _, r := range serverRPCs() {
		switch r.name {
		case "ListKeys", "StoreCertificates":
			continue // no error to expect: an empty list; an empty chain is the backend's to judge
		case "WrapKey", "UnwrapKey": // the software backend wraps no keys
			wantStatus(t, r.name, r.call(ctx, s), codes.Unimplemented, backend.ErrUnsupported, "this plugin's backend "+r.lacks+": ")
			continue
		}
		wantStatus(t, r.name, r.call(ctx, s), codes.NotFound, backend.ErrNotFound, `"k"`)
	}

	gen, err := s.GenerateKey(ctx, &pb.GenerateKeyRequest{Label: "v", Algorithm: string(backend.ECP256)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSigner(ctx, &pb.KeyRequest{Ref: "v"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.handles.get(handleSigner, "v"); !ok {
		t.Fatal("GetSigner cached no signer")
	}
	rot, err := s.Rotate(ctx, &pb.KeyRequest{Ref: "v"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.handles.get(handleSigner, "v"); ok {
		t.Error("Rotate kept a cached signer")
	}
	if rot.GetKey().GetVersion() != 2 || rot.GetKey().GetLabel() != gen.GetKey().GetLabel() {
		t.Errorf("Rotate answered key %v, want version 2 of %q", rot.GetKey(), gen.GetKey().GetLabel())
	}
	vs, err := s.ListVersions(ctx, &pb.KeyRequest{Ref: "v"})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs.GetKeys()) != 2 {
		t.Errorf("ListVersions: %d versions, want 2", len(vs.GetKeys()))
	}
	list, err := s.ListKeys(ctx, &pb.ListKeysRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetKeys()) != 1 || list.GetKeys()[0].GetLabel() != "v" {
		t.Errorf("ListKeys: %v, want the one key v", list.GetKeys())
	}
	if _, err := s.GetSigner(ctx, &pb.KeyRequest{Ref: "v"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteKey(ctx, &pb.KeyRequest{Ref: "v"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.handles.get(handleSigner, "v"); ok {
		t.Error("DeleteKey kept a cached signer")
	}
}
