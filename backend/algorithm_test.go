package backend_test

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/mlkem"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

func TestParseAlgorithm(t *testing.T) {
	for _, a := range backend.AllAlgorithms() {
		got, err := backend.ParseAlgorithm(string(a))
		if err != nil || got != a {
			t.Errorf("ParseAlgorithm(%q) = %q, %v", a, got, err)
		}
		if a.Family() == backend.FamilyUnknown {
			t.Errorf("%s has no family", a)
		}
	}
	for _, name := range []string{"", "RSA-2048", "rsa-1024", "rsa2048", " ec-p256", "aes-128", "X25519", "ml-kem-512", "ml-dsa"} {
		_, err := backend.ParseAlgorithm(name)
		if !errors.Is(err, backend.ErrUnsupported) {
			t.Errorf("ParseAlgorithm(%q): %v, want ErrUnsupported", name, err)
			continue
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("%q", name)) || !strings.Contains(err.Error(), "ec-p256") {
			t.Errorf("ParseAlgorithm(%q): error %q should name the input and list the known names", name, err)
		}
	}
}

func TestAlgorithmProperties(t *testing.T) {
	for _, c := range []struct {
		alg    backend.Algorithm
		family backend.Family
		asym   bool
		bits   int
		curve  elliptic.Curve
		secret int
	}{
		{backend.RSA2048, backend.FamilyRSA, true, 2048, nil, 0},
		{backend.RSA3072, backend.FamilyRSA, true, 3072, nil, 0},
		{backend.RSA4096, backend.FamilyRSA, true, 4096, nil, 0},
		{backend.ECP256, backend.FamilyEC, true, 0, elliptic.P256(), 0},
		{backend.ECP384, backend.FamilyEC, true, 0, elliptic.P384(), 0},
		{backend.ECP521, backend.FamilyEC, true, 0, elliptic.P521(), 0},
		{backend.Ed25519, backend.FamilyEd25519, true, 0, nil, 0},
		{backend.AES256, backend.FamilyAES, false, 0, nil, 32},
		{backend.Fernet, backend.FamilyFernet, false, 0, nil, 32},
		{backend.X25519, backend.FamilyX25519, true, 0, nil, 0},
		{backend.MLKEM768, backend.FamilyMLKEM, true, 0, nil, 0},
		{backend.MLKEM1024, backend.FamilyMLKEM, true, 0, nil, 0},
		{backend.MLDSA44, backend.FamilyMLDSA, true, 0, nil, 0},
		{backend.MLDSA65, backend.FamilyMLDSA, true, 0, nil, 0},
		{backend.MLDSA87, backend.FamilyMLDSA, true, 0, nil, 0},
		{"nonsense", backend.FamilyUnknown, false, 0, nil, 0},
	} {
		wantSigns := c.family == backend.FamilyRSA || c.family == backend.FamilyEC || c.family == backend.FamilyEd25519 || c.family == backend.FamilyMLDSA
		if got := c.alg.Signs(); got != wantSigns {
			t.Errorf("%s.Signs() = %v", c.alg, got)
		}
		if got := c.alg.Family(); got != c.family {
			t.Errorf("%s.Family() = %v, want %v", c.alg, got, c.family)
		}
		if got := c.alg.Asymmetric(); got != c.asym {
			t.Errorf("%s.Asymmetric() = %v", c.alg, got)
		}
		if got := c.alg.RSABits(); got != c.bits {
			t.Errorf("%s.RSABits() = %d, want %d", c.alg, got, c.bits)
		}
		if got := c.alg.Curve(); got != c.curve {
			t.Errorf("%s.Curve() = %v, want %v", c.alg, got, c.curve)
		}
		if got := c.alg.SecretSize(); got != c.secret {
			t.Errorf("%s.SecretSize() = %d, want %d", c.alg, got, c.secret)
		}
	}
}

func TestAlgorithmOf(t *testing.T) {
	rsa2048 := testRSAKeys(t)[2048]
	rsa1024 := testRSAKeys(t)[1024]
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	x25519, _ := ecdh.X25519().GenerateKey(rand.Reader)
	ecdhP384, _ := ecdh.P384().GenerateKey(rand.Reader)
	kem768, _ := mlkem.GenerateKey768()
	kem1024, _ := mlkem.GenerateKey1024()

	for _, c := range []struct {
		name string
		key  any
		want backend.Algorithm
	}{
		{"RSA-2048 public", &rsa2048.PublicKey, backend.RSA2048},
		{"RSA-2048 private", rsa2048, backend.RSA2048},
		{"P-256 public", &p256.PublicKey, backend.ECP256},
		{"P-256 private", p256, backend.ECP256},
		{"P-384", p384, backend.ECP384},
		{"P-521", &p521.PublicKey, backend.ECP521},
		{"Ed25519 public", edPub, backend.Ed25519},
		{"Ed25519 private", edPriv, backend.Ed25519},
		{"X25519", x25519, backend.X25519},
		{"X25519 public", x25519.PublicKey(), backend.X25519},
		{"ECDH P-384", ecdhP384, backend.ECP384},
		{"ML-KEM-768 decapsulation key", kem768, backend.MLKEM768},
		{"ML-KEM-768 encapsulation key", kem768.EncapsulationKey(), backend.MLKEM768},
		{"ML-KEM-1024 decapsulation key", kem1024, backend.MLKEM1024},
		{"ML-KEM-1024 encapsulation key", kem1024.EncapsulationKey(), backend.MLKEM1024},
		{"ML-KEM-768 as a crypto.Decapsulator", otherDecapsulator{kem768}, backend.MLKEM768},
	} {
		got, err := backend.AlgorithmOf(c.key)
		if err != nil || got != c.want {
			t.Errorf("AlgorithmOf(%s) = %q, %v; want %q", c.name, got, err, c.want)
		}
	}

	for _, c := range []struct {
		name string
		key  any
		want error
	}{
		{"RSA-1024", rsa1024, backend.ErrUnsupported},
		{"P-224", p224, backend.ErrUnsupported},
		{"nil *ecdh.PublicKey", (*ecdh.PublicKey)(nil), backend.ErrInvalidInput},
		{"nil *ecdh.PrivateKey", (*ecdh.PrivateKey)(nil), backend.ErrInvalidInput},
		{"nil *mlkem.EncapsulationKey768", (*mlkem.EncapsulationKey768)(nil), backend.ErrInvalidInput},
		{"nil *mlkem.DecapsulationKey1024", (*mlkem.DecapsulationKey1024)(nil), backend.ErrInvalidInput},
		{"nil", nil, backend.ErrUnsupported},
		{"a string", "key", backend.ErrUnsupported},
		{"ed25519 public of 31 bytes", ed25519.PublicKey(edPub[:31]), backend.ErrInvalidInput},
		{"ed25519 private of 10 bytes", ed25519.PrivateKey(make([]byte, 10)), backend.ErrInvalidInput},
		{"nil *rsa.PublicKey", (*rsa.PublicKey)(nil), backend.ErrInvalidInput},
		{"nil *rsa.PrivateKey", (*rsa.PrivateKey)(nil), backend.ErrInvalidInput},
		{"RSA without modulus", &rsa.PublicKey{E: 65537}, backend.ErrInvalidInput},
		{"nil *ecdsa.PublicKey", (*ecdsa.PublicKey)(nil), backend.ErrInvalidInput},
		{"nil *ecdsa.PrivateKey", (*ecdsa.PrivateKey)(nil), backend.ErrInvalidInput},
		{"EC without curve", &ecdsa.PublicKey{}, backend.ErrInvalidInput},
		{"a secret key", backend.SecretKey{Algorithm: backend.AES256, Value: make([]byte, 32)}, backend.ErrUnsupported},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got backend.Algorithm
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						err = fmt.Errorf("panic: %v", p)
					}
				}()
				got, err = backend.AlgorithmOf(c.key)
			}()
			if !errors.Is(err, c.want) {
				t.Fatalf("AlgorithmOf = %q, %v; want %v", got, err, c.want)
			}
		})
	}
}

// otherDecapsulator is a crypto.Decapsulator of a type AlgorithmOf does
// not know, as a backend's handle is.
type otherDecapsulator struct{ dk *mlkem.DecapsulationKey768 }

func (o otherDecapsulator) Encapsulator() crypto.Encapsulator     { return o.dk.EncapsulationKey() }
func (o otherDecapsulator) Decapsulate(ct []byte) ([]byte, error) { return o.dk.Decapsulate(ct) }

func TestParseOperation(t *testing.T) {
	if len(backend.AllOperations()) != 21 {
		t.Errorf("%d operations, want 21", len(backend.AllOperations()))
	}
	for _, op := range backend.AllOperations() {
		got, err := backend.ParseOperation(string(op))
		if err != nil || got != op {
			t.Errorf("ParseOperation(%q) = %q, %v", op, got, err)
		}
		if op.Kind() == 0 || op.Family() == backend.FamilyUnknown {
			t.Errorf("%s: kind %v, family %v", op, op.Kind(), op.Family())
		}
	}
	for _, name := range []string{"", "RSA-PSS-SHA256", "rsa-pss", "ecdsa-sha1", "rsa-oaep-md5", "ed25519ph"} {
		_, err := backend.ParseOperation(name)
		if !errors.Is(err, backend.ErrUnsupported) {
			t.Errorf("ParseOperation(%q): %v, want ErrUnsupported", name, err)
		} else if !strings.Contains(err.Error(), "rsa-pss-sha256") {
			t.Errorf("ParseOperation(%q): error %q should list the known names", name, err)
		}
	}
	if backend.Operation("nope").Kind() != 0 || backend.Operation("nope").Applies(backend.RSA2048) {
		t.Errorf("an unknown operation has a kind or applies to a key")
	}
}

func TestOperationProperties(t *testing.T) {
	for _, c := range []struct {
		op     backend.Operation
		kind   backend.OpKind
		family backend.Family
		hash   crypto.Hash
		pss    bool
	}{
		{backend.RSAPKCS1v15SHA256, backend.OpSign, backend.FamilyRSA, crypto.SHA256, false},
		{backend.RSAPKCS1v15SHA512, backend.OpSign, backend.FamilyRSA, crypto.SHA512, false},
		{backend.RSAPSSSHA384, backend.OpSign, backend.FamilyRSA, crypto.SHA384, true},
		{backend.ECDSASHA384, backend.OpSign, backend.FamilyEC, crypto.SHA384, false},
		{backend.PureEd25519, backend.OpSign, backend.FamilyEd25519, 0, false},
		{backend.RSAOAEPSHA1, backend.OpDecrypt, backend.FamilyRSA, crypto.SHA1, false},
		{backend.RSAOAEPSHA512, backend.OpDecrypt, backend.FamilyRSA, crypto.SHA512, false},
		{backend.RSAPKCS1v15, backend.OpDecrypt, backend.FamilyRSA, 0, false},
		{backend.AES256GCM, backend.OpAEAD, backend.FamilyAES, 0, false},
		{backend.FernetToken, backend.OpFernet, backend.FamilyFernet, 0, false},
		{backend.PureMLDSA, backend.OpSign, backend.FamilyMLDSA, 0, false},
		{backend.ECDH, backend.OpAgree, backend.FamilyEC, 0, false},
		{backend.X25519Agreement, backend.OpAgree, backend.FamilyX25519, 0, false},
		{backend.MLKEMDecapsulation, backend.OpDecapsulate, backend.FamilyMLKEM, 0, false},
	} {
		if c.op.Kind() != c.kind || c.op.Family() != c.family || c.op.Hash() != c.hash || c.op.PSS() != c.pss {
			t.Errorf("%s: kind %v family %v hash %v pss %v; want %v %v %v %v",
				c.op, c.op.Kind(), c.op.Family(), c.op.Hash(), c.op.PSS(), c.kind, c.family, c.hash, c.pss)
		}
	}
}

func TestOperationsFor(t *testing.T) {
	for _, c := range []struct {
		alg  backend.Algorithm
		want []backend.Operation
	}{
		{backend.RSA3072, []backend.Operation{
			backend.RSAPKCS1v15SHA256, backend.RSAPKCS1v15SHA384, backend.RSAPKCS1v15SHA512,
			backend.RSAPSSSHA256, backend.RSAPSSSHA384, backend.RSAPSSSHA512,
			backend.RSAOAEPSHA1, backend.RSAOAEPSHA256, backend.RSAOAEPSHA384, backend.RSAOAEPSHA512, backend.RSAPKCS1v15,
		}},
		{backend.ECP521, []backend.Operation{backend.ECDSASHA256, backend.ECDSASHA384, backend.ECDSASHA512, backend.ECDH}},
		{backend.X25519, []backend.Operation{backend.X25519Agreement}},
		{backend.MLKEM1024, []backend.Operation{backend.MLKEMDecapsulation}},
		{backend.MLDSA65, []backend.Operation{backend.PureMLDSA}},
		{backend.Ed25519, []backend.Operation{backend.PureEd25519}},
		{backend.AES256, []backend.Operation{backend.AES256GCM}},
		{backend.Fernet, []backend.Operation{backend.FernetToken}},
		{"nonsense", nil},
	} {
		if got := backend.OperationsFor(c.alg); !slices.Equal(got, c.want) {
			t.Errorf("OperationsFor(%s) = %v, want %v", c.alg, got, c.want)
		}
	}
	// Every operation applies to some algorithm.
	for _, op := range backend.AllOperations() {
		if !slices.ContainsFunc(backend.AllAlgorithms(), op.Applies) {
			t.Errorf("%s applies to no algorithm", op)
		}
	}
}

// TestOperationOptsAccepted: the options an operation hands out are
// accepted by ParseSignerOpts/ParseDecrypterOpts and mean that operation.
func TestOperationOptsAccepted(t *testing.T) {
	pubs := map[backend.Family]crypto.PublicKey{
		backend.FamilyRSA: &testRSAKeys(t)[2048].PublicKey,
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pubs[backend.FamilyEC] = &p256.PublicKey
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	pubs[backend.FamilyEd25519] = edPub
	algOf := map[backend.Family]backend.Algorithm{backend.FamilyRSA: backend.RSA2048, backend.FamilyEC: backend.ECP256, backend.FamilyEd25519: backend.Ed25519, backend.FamilyMLDSA: backend.MLDSA44}

	for _, op := range backend.AllOperations() {
		switch op.Kind() {
		case backend.OpSign:
			if op.DecrypterOpts() != nil {
				t.Errorf("%s.DecrypterOpts() is not nil", op)
			}
			in := []byte("message")
			if op.Hash() != 0 {
				in = sum(op.Hash(), "message")
			}
			p, err := backend.ParseSignerOpts(algOf[op.Family()], pubs[op.Family()], in, op.SignerOpts())
			if err != nil {
				t.Errorf("%s: ParseSignerOpts(op.SignerOpts()): %v", op, err)
				continue
			}
			if p.Hash != op.Hash() || p.PSS != op.PSS() {
				t.Errorf("%s: SignerOpts parse to %+v", op, p)
			}
			if op.PSS() && p.SaltLength != op.Hash().Size() {
				t.Errorf("%s: PSS salt %d, want the hash length %d", op, p.SaltLength, op.Hash().Size())
			}
		case backend.OpDecrypt:
			if op.SignerOpts() != nil {
				t.Errorf("%s.SignerOpts() is not nil", op)
			}
			p, err := backend.ParseDecrypterOpts(op.DecrypterOpts())
			if err != nil {
				t.Errorf("%s: ParseDecrypterOpts(op.DecrypterOpts()): %v", op, err)
				continue
			}
			if p.OAEP != (op != backend.RSAPKCS1v15) || p.Hash != op.Hash() || (p.OAEP && p.MGFHash != op.Hash()) || p.Label != nil {
				t.Errorf("%s: DecrypterOpts parse to %+v", op, p)
			}
		default:
			if op.SignerOpts() != nil || op.DecrypterOpts() != nil {
				t.Errorf("%s hands out signer or decrypter options", op)
			}
		}
	}
}
