package observe_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// tap sits between observe and a real backend and keeps every byte string
// that passes through a key use — digests, messages, plaintexts,
// ciphertexts, signatures, IVs, additional data, key material — so that a
// test can look for each in the audit log and the spans. It is not a fake:
// every call goes to the real backend.
type tap struct {
	backend.Backend
	mu     sync.Mutex
	seen   [][]byte
	labels map[string]bool // key labels, which records may hold
}

func (t *tap) keep(bs ...[]byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, b := range bs {
		// Short strings match by chance (the suite seals "keyplane",
		// which every record's message holds); digests, signatures,
		// ciphertexts and keys are longer.
		if len(b) >= 12 {
			t.seen = append(t.seen, append([]byte(nil), b...))
		}
	}
}

// checkAbsent fails t when any kept byte string appears in text, raw, in
// hex or in base64.
// Labels of keys (in labels, from every tap of the run) are skipped: the
// suite uses a key's label as data too, and records name keys.
func (t *tap) checkAbsent(tb testing.TB, where, text string, labels map[string]bool) {
	tb.Helper()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, b := range t.seen {
		if labels[string(b)] {
			continue
		}
		for _, form := range []string{
			string(b), hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
			base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
			base64.RawURLEncoding.EncodeToString(b), fmt.Sprint(b),
		} {
			if strings.Contains(text, form) {
				tb.Errorf("%s holds data that passed through a key use (%d bytes, as %q)", where, len(b), form)
				return
			}
		}
	}
}

// keyLabels returns the labels of the keys made or imported through t.
func (t *tap) keyLabels() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for l := range t.labels {
		out = append(out, l)
	}
	return out
}

func (t *tap) count() int { t.mu.Lock(); defer t.mu.Unlock(); return len(t.seen) }

func (t *tap) Signer(ctx context.Context, ref string) (crypto.Signer, error) {
	s, err := t.Backend.Signer(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &tapSigner{s, t}, nil
}

func (t *tap) Decrypter(ctx context.Context, ref string) (crypto.Decrypter, error) {
	d, err := t.Backend.Decrypter(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &tapDecrypter{d, t}, nil
}

func (t *tap) AEAD(ctx context.Context, ref string) (backend.AEAD, error) {
	a, err := t.Backend.(backend.AEADBackend).AEAD(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &tapAEAD{a, t}, nil
}

func (t *tap) Fernet(ctx context.Context, ref string) (backend.FernetKey, error) {
	f, err := t.Backend.(backend.FernetBackend).Fernet(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &tapFernet{f, t}, nil
}

func (t *tap) label(l string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.labels == nil {
		t.labels = map[string]bool{}
	}
	t.labels[l] = true
}

func (t *tap) GenerateKey(ctx context.Context, spec backend.KeySpec) (*backend.Key, error) {
	t.label(spec.Label)
	return t.Backend.GenerateKey(ctx, spec)
}

func (t *tap) ImportKey(ctx context.Context, label string, key any) (*backend.Key, error) {
	t.label(label)
	t.keepKey(key)
	return t.Backend.(backend.Importer).ImportKey(ctx, label, key)
}

func (t *tap) keepKey(key any) {
	// x509 panics on some malformed keys the suite imports on purpose.
	defer func() { _ = recover() }()
	switch k := key.(type) {
	case backend.SecretKey:
		t.keep(k.Value)
	case nil:
	default:
		if der, err := x509.MarshalPKCS8PrivateKey(k); err == nil {
			t.keep(der)
		}
	}
}

// tapExporter is a tap over a backend that exports keys.
type tapExporter struct{ *tap }

func (t tapExporter) ExportKey(ctx context.Context, ref string) (any, error) {
	k, err := t.Backend.(backend.Exporter).ExportKey(ctx, ref)
	t.keepKey(k)
	return k, err
}

type tapSigner struct {
	crypto.Signer
	t *tap
}

func (s *tapSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := s.Signer.Sign(r, digest, opts)
	s.t.keep(digest, sig)
	return sig, err
}

type tapDecrypter struct {
	crypto.Decrypter
	t *tap
}

func (d *tapDecrypter) Decrypt(r io.Reader, ct []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	pt, err := d.Decrypter.Decrypt(r, ct, opts)
	d.t.keep(ct, pt)
	return pt, err
}

type tapAEAD struct {
	backend.AEAD
	t *tap
}

func (a *tapAEAD) Seal(ctx context.Context, pt, ad []byte) ([]byte, error) {
	out, err := a.AEAD.Seal(ctx, pt, ad)
	a.t.keep(pt, ad, out)
	return out, err
}

func (a *tapAEAD) Open(ctx context.Context, sealed, ad []byte) ([]byte, error) {
	out, err := a.AEAD.Open(ctx, sealed, ad)
	a.t.keep(sealed, ad, out)
	return out, err
}

type tapFernet struct {
	backend.FernetKey
	t *tap
}

func (f *tapFernet) MAC(ctx context.Context, data []byte) ([]byte, error) {
	out, err := f.FernetKey.MAC(ctx, data)
	f.t.keep(data, out)
	return out, err
}

func (f *tapFernet) EncryptCBC(ctx context.Context, iv, pt []byte) ([]byte, error) {
	out, err := f.FernetKey.EncryptCBC(ctx, iv, pt)
	f.t.keep(iv, pt, out)
	return out, err
}

func (f *tapFernet) DecryptCBC(ctx context.Context, iv, ct []byte) ([]byte, error) {
	out, err := f.FernetKey.DecryptCBC(ctx, iv, ct)
	f.t.keep(iv, ct, out)
	return out, err
}
