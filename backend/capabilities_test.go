package backend_test

import (
	"crypto"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

func TestCapabilitiesSupports(t *testing.T) {
	c := &backend.Capabilities{
		Algorithms: []backend.Algorithm{backend.ECP256, backend.AES256},
		Operations: []backend.Operation{backend.ECDSASHA256, backend.AES256GCM},
	}
	for _, a := range backend.AllAlgorithms() {
		want := a == backend.ECP256 || a == backend.AES256
		if got := c.SupportsAlgorithm(a); got != want {
			t.Errorf("SupportsAlgorithm(%s) = %v", a, got)
		}
	}
	for _, op := range backend.AllOperations() {
		want := op == backend.ECDSASHA256 || op == backend.AES256GCM
		if got := c.SupportsOperation(op); got != want {
			t.Errorf("SupportsOperation(%s) = %v", op, got)
		}
	}
}

func TestCapabilitiesJSON(t *testing.T) {
	c := backend.Capabilities{
		Backend:    "software",
		Algorithms: []backend.Algorithm{backend.Ed25519},
		Operations: []backend.Operation{backend.PureEd25519},
		Import:     true,
		Details:    map[string]string{"k": "v"},
	}
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"backend":"software","algorithms":["ed25519"],"operations":["ed25519"],"import":true,"export":false,"persistent":false,"details":{"k":"v"}}`
	if string(data) != want {
		t.Fatalf("JSON\n got %s\nwant %s", data, want)
	}
}

func TestSecretKeyNeverPrintsValue(t *testing.T) {
	s := backend.SecretKey{Algorithm: backend.AES256, Value: []byte("0123456789abcdef0123456789abcdef")}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X"} {
		for _, v := range []any{s, &s, []backend.SecretKey{s}, struct{ K backend.SecretKey }{s}} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, "0123456789") || strings.Contains(strings.ToLower(out), "30313233") || strings.Contains(out, "48 49 50") {
				t.Errorf("fmt.Sprintf(%q, %T) = %q shows the key", verb, v, out)
			}
		}
	}
	if got := s.String(); !strings.Contains(got, "aes-256") || !strings.Contains(got, "redacted") {
		t.Errorf("String() = %q, want the algorithm and \"redacted\"", got)
	}
}

func TestCapabilitiesDetailLimits(t *testing.T) {
	anySalt := &backend.Capabilities{}
	hash := &backend.Capabilities{Details: map[string]string{backend.DetailPSSSalt: backend.PSSSaltHashLength, backend.DetailOAEP: backend.OAEPNoLabel}}
	max := &backend.Capabilities{Details: map[string]string{backend.DetailPSSSalt: backend.PSSSaltMaximum}}
	for _, c := range []struct {
		caps                  *backend.Capabilities
		salt, hashLen, maxLen int
		want                  bool
	}{
		{anySalt, 20, 32, 222, true}, {anySalt, 222, 32, 222, true}, {anySalt, 223, 32, 222, false}, {anySalt, 0, 32, 222, false},
		{hash, 32, 32, 222, true}, {hash, 20, 32, 222, false}, {hash, 222, 32, 222, false},
		{max, 222, 32, 222, true}, {max, 32, 32, 222, false},
	} {
		if got := c.caps.PSSSaltSupported(c.salt, c.hashLen, c.maxLen); got != c.want {
			t.Errorf("%v.PSSSaltSupported(%d, %d, %d) = %v", c.caps.Details, c.salt, c.hashLen, c.maxLen, got)
		}
	}
	if !anySalt.OAEPSupported(5, crypto.SHA256, crypto.SHA1) {
		t.Errorf("without Details, OAEP with a label and MGF1-SHA1 is supported")
	}
	if !hash.OAEPSupported(0, crypto.SHA256, 0) || !hash.OAEPSupported(0, crypto.SHA256, crypto.SHA256) ||
		hash.OAEPSupported(1, crypto.SHA256, crypto.SHA256) || hash.OAEPSupported(0, crypto.SHA256, crypto.SHA1) {
		t.Errorf("with oaep=%s: only no label and the same MGF1 hash are supported", backend.OAEPNoLabel)
	}
}
