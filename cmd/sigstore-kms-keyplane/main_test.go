package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/common"

	"github.com/keyplane/keyplane/backend"
)

// TestMain lets the test binary be the plugin: cosign runs it through a
// link named sigstore-kms-keyplane (cosign_test.go).
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "sigstore-kms-keyplane" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
	}
	dir, err := os.MkdirTemp("", "sigstore-kms-keyplane-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testTools = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testTools is a directory for programs the tests build, shared by them.
var testTools string

// call runs the plugin on a request as cosign sends it and returns the
// decoded response and the exit code.
func call(t *testing.T, keyID string, m *common.MethodArgs, stdin []byte, env map[string]string) (*common.PluginResp, int) {
	t.Helper()
	req, err := json.Marshal(&common.PluginArgs{
		InitOptions: &common.InitOptions{ProtocolVersion: common.ProtocolVersion, KeyResourceID: keyID, HashFunc: crypto.SHA256},
		MethodArgs:  m,
	})
	if err != nil {
		t.Fatal(err)
	}
	return callRaw(t, []string{common.ProtocolVersion, string(req)}, stdin, env)
}

func callRaw(t *testing.T, args []string, stdin []byte, env map[string]string) (*common.PluginResp, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, bytes.NewReader(stdin), &out, &errb, func(k string) string { return env[k] })
	var resp common.PluginResp
	if code != 2 {
		if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
			t.Fatalf("exit %d, response %q is not JSON: %v (stderr %q)", code, out.String(), err, errb.String())
		}
	}
	return &resp, code
}

// plainKeystore returns a software keystore URI in a fresh directory,
// without a passphrase: the protocol tests open it on every call, and
// deriving the key-encryption key each time (PBKDF2) would be most of
// their run time (two minutes under the race detector). The cosign tests
// use keystore.
func plainKeystore(t *testing.T) string {
	t.Helper()
	t.Setenv("KEYPLANE_PASSPHRASE", "")
	prev := slog.Default() // the keystore warns, on every open, that it is unencrypted
	slog.SetDefault(slog.New(slog.DiscardHandler))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return "software:" + filepath.Join(t.TempDir(), "keys")
}

// keystore returns a software keystore URI in a fresh directory, with its
// passphrase in a file.
func keystore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("keystore passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return "software:" + filepath.Join(dir, "keys") + "?passphrase-source=file:" + pass
}

func signArgs(digest []byte) *common.MethodArgs {
	mo := common.MessageOptions{}
	if digest != nil {
		mo.Digest = &digest
	}
	return &common.MethodArgs{MethodName: common.SignMessageMethodName, SignMessage: &common.SignMessageArgs{SignOptions: &common.SignOptions{MessageOptions: mo}}}
}

func verifyArgs(sig, digest []byte) *common.MethodArgs {
	mo := common.MessageOptions{}
	if digest != nil {
		mo.Digest = &digest
	}
	return &common.MethodArgs{MethodName: common.VerifySignatureMethodName, VerifySignature: &common.VerifySignatureArgs{Signature: sig, VerifyOptions: &common.VerifyOptions{MessageOptions: mo}}}
}

func createArgs(alg string) *common.MethodArgs {
	return &common.MethodArgs{MethodName: common.CreateKeyMethodName, CreateKey: &common.CreateKeyArgs{Algorithm: alg}}
}

func parsePEM(t *testing.T, b []byte) crypto.PublicKey {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		t.Fatalf("not a PUBLIC KEY PEM: %q", b)
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// TestAlgorithms: defaultAlgorithm and supportedAlgorithms answer with
// sigstore's names.
func TestAlgorithms(t *testing.T) {
	r, code := call(t, "unused", &common.MethodArgs{MethodName: common.DefaultAlgorithmMethodName, DefaultAlgorithm: &common.DefaultAlgorithmArgs{}}, nil, nil)
	if code != 0 || r.DefaultAlgorithm == nil || r.DefaultAlgorithm.DefaultAlgorithm != "ecdsa-sha2-256-nistp256" {
		t.Errorf("defaultAlgorithm: exit %d, %+v", code, r)
	}
	r, code = call(t, "unused", &common.MethodArgs{MethodName: common.SupportedAlgorithmsMethodName, SupportedAlgorithms: &common.SupportedAlgorithmsArgs{}}, nil, nil)
	want := "ecdsa-sha2-256-nistp256 ecdsa-sha2-384-nistp384 ecdsa-sha2-512-nistp521 rsa-sign-pkcs1-2048-sha256 rsa-sign-pkcs1-3072-sha256 rsa-sign-pkcs1-4096-sha256 ed25519"
	if code != 0 || r.SupportedAlgorithms == nil || strings.Join(r.SupportedAlgorithms.SupportedAlgorithms, " ") != want {
		t.Errorf("supportedAlgorithms: exit %d, %+v", code, r)
	}
}

// TestSignVerifyEachAlgorithm: a key of each algorithm is created through
// createKey, signs through signMessage the way cosign asks (the message
// and its digest; the digest alone; the message alone), and the signature
// verifies with the standard library and through verifySignature; another
// message's signature is refused.
func TestSignVerifyEachAlgorithm(t *testing.T) {
	ks := plainKeystore(t)
	msg := []byte("a blob to sign\n")
	for _, alg := range sigstoreAlgorithms() {
		t.Run(alg.Name, func(t *testing.T) {
			id := ks + "#" + alg.Name
			r, code := call(t, id, createArgs(alg.Name), nil, nil)
			if code != 0 || r.CreateKey == nil {
				t.Fatalf("createKey: exit %d, %q", code, r.ErrorMessage)
			}
			pub := parsePEM(t, r.CreateKey.PublicKeyPEM)
			r, code = call(t, id, &common.MethodArgs{MethodName: common.PublicKeyMethodName, PublicKey: &common.PublicKeyArgs{PublicKeyOptions: &common.PublicKeyOptions{}}}, nil, nil)
			if code != 0 || !bytes.Equal(r.PublicKey.PublicKeyPEM, pemOf(t, pub)) {
				t.Fatalf("publicKey: exit %d, %q", code, r.ErrorMessage)
			}
			var digest []byte
			if alg.Hash != 0 {
				h := alg.Hash.New()
				h.Write(msg)
				digest = h.Sum(nil)
			}
			type form struct {
				name          string
				stdin, digest []byte
			}
			forms := []form{{"message and digest", msg, digest}, {"digest alone", nil, digest}}
			if alg.Hash == 0 || alg.Hash == crypto.SHA256 {
				forms = append(forms, form{"message alone", msg, nil}) // hashed with initOptions.hashFunc (SHA-256)
			}
			for _, f := range forms {
				if alg.Hash == 0 && f.digest == nil && f.stdin == nil {
					continue
				}
				r, code := call(t, id, signArgs(f.digest), f.stdin, nil)
				if code != 0 || r.SignMessage == nil {
					t.Fatalf("%s: signMessage: exit %d, %q", f.name, code, r.ErrorMessage)
				}
				sig := r.SignMessage.Signature
				if !stdVerify(pub, alg.Hash, msg, sig) {
					t.Errorf("%s: the signature does not verify with the standard library", f.name)
				}
				if r, code := call(t, id, verifyArgs(sig, f.digest), f.stdin, nil); code != 0 || r.ErrorMessage != "" {
					t.Errorf("%s: verifySignature: exit %d, %q", f.name, code, r.ErrorMessage)
				}
				if r, code := call(t, id, verifyArgs(sig, nil), []byte("another blob\n"), nil); code != 1 || !strings.Contains(r.ErrorMessage, "invalid signature") {
					t.Errorf("%s: verifySignature of another message: exit %d, %q", f.name, code, r.ErrorMessage)
				}
			}
		})
	}
}

func pemOf(t *testing.T, pub crypto.PublicKey) []byte {
	t.Helper()
	b, err := publicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stdVerify checks sig over msg with the standard library alone.
func stdVerify(pub crypto.PublicKey, h crypto.Hash, msg, sig []byte) bool {
	var digest []byte
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256(msg)
		digest = d[:]
	case crypto.SHA384:
		d := sha512.Sum384(msg)
		digest = d[:]
	case crypto.SHA512:
		d := sha512.Sum512(msg)
		digest = d[:]
	}
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(pub, digest, sig)
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, h, digest, sig) == nil
	case ed25519.PublicKey:
		return ed25519.Verify(pub, msg, sig)
	}
	return false
}

// TestCreateKeyExisting: createKey keeps a key of the same algorithm and
// refuses one of another.
func TestCreateKeyExisting(t *testing.T) {
	id := plainKeystore(t) + "#k"
	r1, _ := call(t, id, createArgs("ecdsa-sha2-256-nistp256"), nil, nil)
	r2, code := call(t, id, createArgs("ecdsa-sha2-256-nistp256"), nil, nil)
	if code != 0 || r2.CreateKey == nil || !bytes.Equal(r1.CreateKey.PublicKeyPEM, r2.CreateKey.PublicKeyPEM) {
		t.Errorf("second createKey: exit %d, %q; want the same key", code, r2.ErrorMessage)
	}
	r, code := call(t, id, createArgs("ed25519"), nil, nil)
	if code != 1 || !strings.Contains(r.ErrorMessage, "exists and is ec-p256") {
		t.Errorf("createKey of another algorithm: exit %d, %q", code, r.ErrorMessage)
	}
	r, code = call(t, id, createArgs("rsa-sign-pss-2048-sha256"), nil, nil)
	if code != 1 || !strings.Contains(r.ErrorMessage, `"rsa-sign-pss-2048-sha256" is not one the keyplane plugin offers`) {
		t.Errorf("createKey of an algorithm not offered: exit %d, %q", code, r.ErrorMessage)
	}
}

// TestBadRequests: what is not the protocol, or asks for what the plugin
// cannot do, gets a clear error message (exit 1), or the usage (exit 2).
func TestBadRequests(t *testing.T) {
	ks := plainKeystore(t)
	k := ks + "#k"
	if r, code := call(t, k, createArgs("ecdsa-sha2-384-nistp384"), nil, nil); code != 0 {
		t.Fatalf("createKey: %q", r.ErrorMessage)
	}
	if _, code := callRaw(t, nil, nil, nil); code != 2 {
		t.Errorf("no arguments: exit %d, want 2", code)
	}
	d32 := make([]byte, 32)
	for _, tt := range []struct {
		name  string
		args  []string
		stdin []byte
		want  string
	}{
		{"version", []string{"v2", "{}"}, nil, `protocol version "v2" is not supported`},
		{"not JSON", []string{"v1", "{"}, nil, "not the protocol's JSON"},
		{"no method", []string{"v1", `{"initOptions":{"protocolVersion":"v1"}}`}, nil, "no initOptions or no method"},
		{"init version", []string{"v1", `{"initOptions":{"protocolVersion":"v0"},"methodName":"publicKey"}`}, nil, `initOptions.protocolVersion "v0"`},
		{"unknown method", request(t, k, &common.MethodArgs{MethodName: "cryptoSigner"}), nil, `method "cryptoSigner" is not part of protocol v1`},
		{"digest of the wrong size", request(t, k, signArgs(d32[:20])), nil, "a 20-byte digest fits neither SHA-256 nor SHA-384"},
		{"digest of another message", request(t, k, signArgs(sha384(t, "other"))), []byte("message"), "is not the SHA-384 digest of the message"},
		{"missing key", request(t, ks+"#nosuch", signArgs(nil)), []byte("m"), `key "nosuch"`},
		{"no backend", request(t, "release", signArgs(nil)), []byte("m"), "names no backend"},
		{"no key", request(t, ks+"#", signArgs(nil)), []byte("m"), `no key after "#"`},
		{"bad escape", request(t, ks+"#a%zz", signArgs(nil)), []byte("m"), "not percent-encoded correctly"},
	} {
		r, code := callRaw(t, tt.args, tt.stdin, nil)
		if code != 1 || !strings.Contains(r.ErrorMessage, tt.want) {
			t.Errorf("%s: exit %d, %q; want exit 1 and %q", tt.name, code, r.ErrorMessage, tt.want)
		}
	}
}

func request(t *testing.T, keyID string, m *common.MethodArgs) []string {
	t.Helper()
	b, err := json.Marshal(&common.PluginArgs{InitOptions: &common.InitOptions{ProtocolVersion: "v1", KeyResourceID: keyID, HashFunc: crypto.SHA256}, MethodArgs: m})
	if err != nil {
		t.Fatal(err)
	}
	return []string{"v1", string(b)}
}

func sha384(t *testing.T, s string) []byte {
	d := sha512.Sum384([]byte(s))
	return d[:]
}

// TestKeyRefSecretsRefused: a reference holding a PIN or passphrase is
// refused before anything is opened, without the secret in the message;
// so is KEYPLANE_BACKEND holding one.
func TestKeyRefSecretsRefused(t *testing.T) {
	const pin = "4711-not-to-be-seen"
	for _, id := range []string{
		"pkcs11:token=t?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=" + pin + "#k",
		"pkcs11:token=t;pin-value=" + pin + "?module-path=/usr/lib/softhsm/libsofthsm2.so#k",
		"software:/tmp/x?passphrase=" + pin + "#k",
	} {
		_, err := parseKeyRef(id, func(string) string { return "" })
		if !errors.Is(err, backend.ErrInvalidInput) || !strings.Contains(err.Error(), "pin-source=file:") || strings.Contains(err.Error(), pin) {
			t.Errorf("parseKeyRef(…) = %v; want ErrInvalidInput pointing to pin-source=file:, without the secret", err)
		}
	}
	_, err := parseKeyRef("release", func(string) string { return "pkcs11:token=t?pin-value=" + pin })
	if err == nil || strings.Contains(err.Error(), pin) {
		t.Errorf("KEYPLANE_BACKEND with a PIN: %v", err)
	}
}

// TestKeyRefForms: the backend URI before the last "#", the key after it
// percent-decoded, KEYPLANE_BACKEND without "#".
func TestKeyRefForms(t *testing.T) {
	env := map[string]string{"KEYPLANE_BACKEND": "software:/srv/keys"}
	for _, tt := range []struct{ id, backend, key string }{
		{"pkcs11:token=signing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin#release", "pkcs11:token=signing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin", "release"},
		{"software:/srv/keys#id:0a1b", "software:/srv/keys", "id:0a1b"},
		{"software:/srv/keys#with%23hash%20and%20space", "software:/srv/keys", "with#hash and space"},
		{"release", "software:/srv/keys", "release"},
	} {
		got, err := parseKeyRef(tt.id, func(k string) string { return env[k] })
		if err != nil || got.Backend != tt.backend || got.Key != tt.key {
			t.Errorf("parseKeyRef(%q) = %+v, %v; want %s and %s", tt.id, got, err, tt.backend, tt.key)
		}
	}
}

// TestSignatureHash: the hash chosen for each request form (cosign's
// initOptions always say SHA-256; its digest is of the key type's
// default hash).
func TestSignatureHash(t *testing.T) {
	sha512h, sha384h := crypto.SHA512, crypto.SHA384
	for _, tt := range []struct {
		alg       backend.Algorithm
		requested *crypto.Hash
		digest    int // length; 0: none
		want      crypto.Hash
		err       string
	}{
		{backend.ECP256, nil, 32, crypto.SHA256, ""},
		{backend.ECP256, nil, 0, crypto.SHA256, ""},
		{backend.ECP384, nil, 48, crypto.SHA384, ""},
		{backend.ECP384, nil, 0, crypto.SHA256, ""}, // the message, hashed as initOptions say
		{backend.ECP521, nil, 64, crypto.SHA512, ""},
		{backend.ECP256, &sha512h, 64, crypto.SHA512, ""},
		{backend.ECP256, &sha384h, 32, 0, "not a SHA-384 digest"},
		{backend.RSA3072, nil, 32, crypto.SHA256, ""},
		{backend.Ed25519, nil, 0, 0, ""},
		{backend.Ed25519, nil, 64, 0, "Ed25519ph (a digest) is not supported"},
		{backend.AES256, nil, 32, 0, "cannot sign for sigstore"},
	} {
		var digest []byte
		if tt.digest > 0 {
			digest = make([]byte, tt.digest)
		}
		got, err := signatureHash(tt.alg, tt.requested, crypto.SHA256, digest)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s, digest %d: %v, %v; want an error with %q", tt.alg, tt.digest, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s, digest %d: %v, %v; want %v", tt.alg, tt.digest, got, err, tt.want)
		}
	}
	// A hash number from the request that is no hash at all.
	if _, err := signatureHash(backend.ECP256, nil, crypto.Hash(999), nil); err == nil {
		t.Error("hash 999: no error")
	}
}
