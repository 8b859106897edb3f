package plugins

import (
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// wireSamples are messages whose encoding is pinned in testdata/wire/.
var wireSamples = map[string]proto.Message{
	"open-backend-request": &pb.OpenBackendRequest{Uri: "software:memory"},
	"open-backend-response": &pb.OpenBackendResponse{Interfaces: []pb.Interface{
		pb.Interface_INTERFACE_AEAD, pb.Interface_INTERFACE_FERNET, pb.Interface_INTERFACE_IMPORT}},
	"sign-request-pss":     &pb.SignRequest{Ref: "id:0a0b", Digest: []byte{1, 2, 3, 4}, Hash: pb.Hash_HASH_SHA256, Pss: true, SaltLength: 32},
	"sign-request-ed25519": &pb.SignRequest{Ref: "release", Digest: []byte("message")},
	"decrypt-request-oaep": &pb.DecryptRequest{Ref: "id:01", Ciphertext: []byte{9, 9}, Padding: pb.Padding_PADDING_OAEP,
		OaepHash: pb.Hash_HASH_SHA384, MgfHash: pb.Hash_HASH_SHA1, Label: []byte("lbl")},
	"decrypt-request-pkcs1v15": &pb.DecryptRequest{Ref: "id:01", Ciphertext: []byte{7}, Padding: pb.Padding_PADDING_PKCS1V15, SessionKeyLen: 16},
	"import-secret": &pb.ImportKeyRequest{Label: "aes", Material: &pb.ImportKeyRequest_SecretKey{
		SecretKey: &pb.SecretKey{Algorithm: "aes-256", Value: []byte{0xaa, 0xbb}}}},
	"import-pkcs8": &pb.ImportKeyRequest{Label: "rsa", Material: &pb.ImportKeyRequest_Pkcs8PrivateKey{Pkcs8PrivateKey: []byte{0x30, 0x00}}},
	"key": &pb.Key{Id: []byte{0xde, 0xad}, Label: "k", Algorithm: "ec-p256", PublicKey: []byte{0x30, 0x01},
		CreatedUnixNano: 1700000000000000000, Uri: "pkcs11:id=%de%ad"},
	"capabilities": &pb.Capabilities{Backend: "software", Algorithms: []string{"ec-p256"}, Operations: []string{"ecdsa-sha256"},
		Import: true, Persistent: true, Notes: []string{"n"}, Details: map[string]string{"a": "b"}},
	"aead-seal-request":              &pb.AEADSealRequest{Ref: "id:02", Plaintext: []byte("p"), AdditionalData: []byte("ad")},
	"fernet-cbc-request":             &pb.FernetCBCRequest{Ref: "id:03", Iv: make([]byte, 16), Data: []byte("d")},
	"open-direct-request":            &pb.OpenDirectRequest{Version: 1, Dir: "/tmp/keyplane-plugin-1", ClientCertificate: []byte{0x30, 0x02}},
	"store-certificates-request":     &pb.StoreCertificatesRequest{Ref: "id:04", Certificates: [][]byte{{0x30, 0x04}, {0x30, 0x05}}},
	"certificates-response":          &pb.CertificatesResponse{Certificates: [][]byte{{0x30, 0x06}}},
	"open-direct-response":           &pb.OpenDirectResponse{Version: 1, Socket: "/tmp/keyplane-plugin-1/direct.sock", ServerCertificate: []byte{0x30, 0x03}},
	"generate-key-request-wrappable": &pb.GenerateKeyRequest{Label: "moving", Algorithm: "ec-p256", Wrappable: true},
	"wrap-key-request":               &pb.WrapKeyRequest{Ref: "moving", WrappingRef: "kek", Mechanism: "aes-key-wrap-pad"},
	"wrapped-key":                    wrappedKeySample,
	"unwrap-key-request":             &pb.UnwrapKeyRequest{Wrapped: wrappedKeySample, UnwrappingRef: "kek", Label: "moved"},
}

var wrappedKeySample = &pb.WrappedKey{Mechanism: "aes-key-wrap-pad", Algorithm: "ec-p256", Label: "moving", Id: []byte{0x0a},
	PublicKey: []byte{0x30, 0x07}, Attributes: map[string]bool{"CKA_EXTRACTABLE": true, "CKA_SIGN": true, "CKA_DECRYPT": false},
	Ciphertext: []byte{0xc1, 0xc2}}

// TestWireForm pins the encoding of sample messages: a change here breaks
// plugins built against an older keyplane.plugin.v1. Regenerate only for a
// deliberate, compatible addition: go test ./plugins -run TestWireForm -update
func TestWireForm(t *testing.T) {
	for name, msg := range wireSamples {
		got, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		path := filepath.Join("testdata", "wire", name+".hex")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(hex.EncodeToString(got)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run with -update to create it)", name, err)
		}
		if hex.EncodeToString(got) != strings.TrimSpace(string(want)) {
			t.Errorf("%s: wire form changed:\n got %x\nwant %s", name, got, strings.TrimSpace(string(want)))
		}
		// And the pinned bytes still decode to the same message.
		raw, _ := hex.DecodeString(strings.TrimSpace(string(want)))
		back := msg.ProtoReflect().Type().New().Interface()
		if err := proto.Unmarshal(raw, back); err != nil || !proto.Equal(back, msg) {
			t.Errorf("%s: pinned bytes decode to %v (err %v), want %v", name, back, err, msg)
		}
	}
}

// TestDescriptorOnlyGrows checks the protocol against
// testdata/descriptor.txt, one line per RPC, field and enum value: every
// pinned line must still be there, unchanged (field numbers, types, names).
// New lines are allowed (additions are compatible); -update records them.
func TestDescriptorOnlyGrows(t *testing.T) {
	fd := pb.File_keyplane_plugin_v1_backend_proto
	var lines []string
	lines = append(lines, "package "+string(fd.Package()))
	svcs := fd.Services()
	for i := range svcs.Len() {
		s := svcs.Get(i)
		for j := range s.Methods().Len() {
			m := s.Methods().Get(j)
			lines = append(lines, fmt.Sprintf("rpc %s.%s(%s) %s", s.Name(), m.Name(), m.Input().FullName(), m.Output().FullName()))
		}
	}
	var walk func(protoreflect.MessageDescriptors)
	walk = func(msgs protoreflect.MessageDescriptors) {
		for i := range msgs.Len() {
			m := msgs.Get(i)
			for j := range m.Fields().Len() {
				f := m.Fields().Get(j)
				kind := f.Kind().String()
				switch {
				case f.Message() != nil:
					kind = string(f.Message().FullName())
				case f.Enum() != nil:
					kind = string(f.Enum().FullName())
				}
				oneof := ""
				if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
					oneof = " oneof " + string(o.Name())
				}
				lines = append(lines, fmt.Sprintf("field %s.%s = %d %s %s%s", m.FullName(), f.Name(), f.Number(), f.Cardinality(), kind, oneof))
			}
			walk(m.Messages())
		}
	}
	walk(fd.Messages())
	enums := fd.Enums()
	for i := range enums.Len() {
		e := enums.Get(i)
		for j := range e.Values().Len() {
			v := e.Values().Get(j)
			lines = append(lines, fmt.Sprintf("enum %s.%s = %d", e.FullName(), v.Name(), v.Number()))
		}
	}
	slices.Sort(lines)
	path := filepath.Join("testdata", "descriptor.txt")
	if *update {
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(want)), "\n") {
		if !slices.Contains(lines, l) {
			t.Errorf("pinned protocol element changed or removed: %q (a breaking change needs keyplane.plugin.v2)", l)
		}
	}
}

// TestCapabilitiesRoundTrip: every field of backend.Capabilities crosses
// the process boundary (a field left out of capsToWire reads false or
// empty in the host, and the suite then checks the wrong behaviour).
func TestCapabilitiesRoundTrip(t *testing.T) {
	in := &backend.Capabilities{Backend: "pkcs11", Description: "d",
		Algorithms: []backend.Algorithm{backend.RSA2048}, Operations: []backend.Operation{backend.RSAPKCS1v15},
		Import: true, Export: true, Persistent: true, PKCS1v15ImplicitRejection: true, Certificates: true,
		Notes: []string{"n"}, Details: map[string]string{"a": "b"}}
	out := capsFromWire(capsToWire(in))
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("capabilities after the wire:\n got %+v\nwant %+v", out, in)
	}
}
