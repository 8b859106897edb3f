package conformance

import (
	"bytes"
	"crypto/rand"
	"slices"
	"strings"

	"github.com/keyplane/keyplane/backend"
)

// The wrap checks (backend.KeyWrapper, backend.KeyUnwrapper), all with
// aes-key-wrap-pad, the mechanism that wraps every key type:
//
//   - wrap/not-wrappable: a key generated without KeySpec.Wrappable does
//     not leave (ErrUnsupported), under the trusted wrapping key when
//     Config names one, else under an AES-256 key the suite makes;
//   - wrap/untrusted: a key generated Wrappable does not leave under an
//     AES-256 key the suite makes (ErrUnsupported): only a key the
//     backend trusts may wrap it. The backend's reason is logged;
//   - wrap/round-trip/<alg> for ec-p256, rsa-2048 and aes-256, with
//     Config.TrustedWrappingKey: a Wrappable key wraps; the WrappedKey
//     carries its label, ID, algorithm and public key; it unwraps under
//     Config.UnwrappingKey into the same backend under a new label, and
//     the new key signs what the original's public key verifies (opens
//     what the original sealed); one byte changed in the ciphertext is
//     ErrInvalidInput and leaves no key; unwrapping under a taken label
//     is ErrAlreadyExists.
//
// A backend whose Capabilities.Details lists no wrap mechanism
// (backend.DetailWrap) skips them all, as one check, wrap; one that lists
// others but not aes-key-wrap-pad, each check with that reason.

// wrapRoundTripAlgorithms are the key types wrap/round-trip moves.
var wrapRoundTripAlgorithms = []backend.Algorithm{backend.ECP256, backend.RSA2048, backend.AES256}

// runWrap adds the wrap checks to the run.
func (s *suite) runWrap(r runner) {
	if reason := s.noWrapReason(); reason != "" {
		r.run("wrap", func(t tb) { t.Skipf("%s", reason) })
		return
	}
	r.run("wrap/not-wrappable", s.checkWrapNotWrappable)
	r.run("wrap/untrusted", s.checkWrapUntrusted)
	for _, alg := range wrapRoundTripAlgorithms {
		r.run("wrap/round-trip/"+string(alg), func(t tb) { s.checkWrapRoundTrip(t, alg) })
	}
}

// noWrapReason says why the backend wraps nothing at all, or "".
// (Wrappers such as observe and the plugin host implement KeyWrapper
// whatever the backend inside does: the capability report decides.)
func (s *suite) noWrapReason() string {
	if len(wrapMechanisms(s.caps, backend.DetailWrap)) == 0 {
		return `the backend lists no wrap mechanisms (Capabilities.Details["` + backend.DetailWrap + `"] is empty)`
	}
	if _, ok := s.backend().(backend.KeyWrapper); !ok {
		return "the backend lists wrap mechanisms but does not implement backend.KeyWrapper"
	}
	return ""
}

// wrapMechanisms parses the comma-separated list under key in
// caps.Details.
func wrapMechanisms(caps *backend.Capabilities, key string) []backend.WrapMechanism {
	if caps == nil {
		return nil
	}
	var out []backend.WrapMechanism
	for _, m := range strings.Split(caps.Details[key], ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, backend.WrapMechanism(m))
		}
	}
	return out
}

// requireKWP skips t unless the backend lists aes-key-wrap-pad under
// each of keys (DetailWrap, DetailUnwrap).
func (s *suite) requireKWP(t tb, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if !slices.Contains(wrapMechanisms(s.caps, k), backend.WrapAESKeyWrapPad) {
			t.Skipf("the backend does not list %s under Capabilities.Details[%q] (%q)", backend.WrapAESKeyWrapPad, k, s.caps.Details[k])
		}
	}
}

// untrustedWrappingKey makes (once per check) an AES-256 key of the
// suite's own: no key the suite makes is trusted to wrap.
func (s *suite) untrustedWrappingKey(t tb) string {
	t.Helper()
	if !slices.Contains(s.algs, backend.AES256) {
		t.Skipf("the suite's own wrapping key is an %s key, which the backend does not report", backend.AES256)
	}
	label := s.label("wrap-untrusted-kek")
	if _, err := s.backend().Key(t.Context(), label); err == nil {
		return label
	}
	if _, err := s.backend().GenerateKey(t.Context(), backend.KeySpec{Label: label, Algorithm: backend.AES256}); err != nil {
		t.Fatalf("GenerateKey(%s %q): %v", backend.AES256, label, err)
	}
	return label
}

// wrappableKey generates a key of alg with KeySpec.Wrappable, or skips t
// when the backend cannot make one (ErrUnsupported).
func (s *suite) wrappableKey(t tb, alg backend.Algorithm, name string) *backend.Key {
	t.Helper()
	label := s.label(name)
	k, err := s.backend().GenerateKey(t.Context(), backend.KeySpec{Label: label, Algorithm: alg, Wrappable: true})
	skipUnsupported(t, "GenerateKey(Wrappable "+string(alg)+")", err)
	if err != nil {
		t.Fatalf("GenerateKey(%s %q, Wrappable): %v", alg, label, err)
	}
	checkKeyMetadata(t, "GenerateKey(Wrappable)", k, label, alg)
	return k
}

// checkWrapNotWrappable: a key generated without Wrappable is refused
// with ErrUnsupported.
func (s *suite) checkWrapNotWrappable(t tb) {
	s.requireKWP(t, backend.DetailWrap)
	sk := s.firstKey(func(a backend.Algorithm) bool { return a != backend.Fernet })
	if sk == nil {
		t.Skipf("no key was generated")
	}
	wrapping := s.cfg.TrustedWrappingKey
	if wrapping == "" {
		wrapping = s.untrustedWrappingKey(t)
	}
	w, err := s.backend().(backend.KeyWrapper).WrapKey(t.Context(), sk.label, wrapping, backend.WrapAESKeyWrapPad)
	if wantErr(t, err, "WrapKey of "+describeKey(sk.key)+", generated without Wrappable, under "+wrapping, backend.ErrUnsupported) {
		t.Logf("refused: %v", err)
	}
	if w != nil {
		t.Errorf("WrapKey refused %q but returned a wrapped key", sk.label)
	}
}

// checkWrapUntrusted: a Wrappable key is refused with ErrUnsupported
// under a wrapping key the suite made (which nothing marked trusted).
func (s *suite) checkWrapUntrusted(t tb) {
	s.requireKWP(t, backend.DetailWrap)
	alg := s.wrapAlg()
	if alg == "" {
		t.Skipf("the backend reports none of %v", wrapRoundTripAlgorithms)
	}
	wrapping := s.untrustedWrappingKey(t)
	k := s.wrappableKey(t, alg, "wrap-untrusted-"+string(alg))
	w, err := s.backend().(backend.KeyWrapper).WrapKey(t.Context(), k.Label, wrapping, backend.WrapAESKeyWrapPad)
	if !wantErr(t, err, "WrapKey of the Wrappable "+describeKey(k)+" under the suite's own "+wrapping, backend.ErrUnsupported) {
		return
	}
	if w != nil {
		t.Errorf("WrapKey refused %q but returned a wrapped key", k.Label)
	}
	switch msg := err.Error(); {
	case strings.Contains(msg, "CKA_TRUSTED") || strings.Contains(msg, "CKA_WRAP_WITH_TRUSTED"):
		t.Logf("the backend enforces CKA_WRAP_WITH_TRUSTED: %v", err)
	default:
		t.Logf("refused (the suite's key may not wrap at all): %v", err)
	}
}

// wrapAlg is the first algorithm of wrapRoundTripAlgorithms under test.
func (s *suite) wrapAlg() backend.Algorithm {
	for _, a := range wrapRoundTripAlgorithms {
		if slices.Contains(s.algs, a) {
			return a
		}
	}
	return ""
}

// checkWrapRoundTrip: a Wrappable key of alg wraps under the trusted
// wrapping key, unwraps into the same backend under a new label and does
// what the original does; a damaged ciphertext and a taken label are
// refused.
func (s *suite) checkWrapRoundTrip(t tb, alg backend.Algorithm) {
	if !slices.Contains(s.algs, alg) {
		t.Skipf("the backend does not report algorithm %s", alg)
	}
	s.requireKWP(t, backend.DetailWrap, backend.DetailUnwrap)
	if s.cfg.TrustedWrappingKey == "" {
		t.Skipf("no trusted wrapping key: Config.TrustedWrappingKey (keyplane conformance --trusted-wrapping-key) names none; on PKCS#11 the token's security officer makes one (pkcs11.CreateTrustedWrappingKey, keyplane wrapping-key create)")
	}
	ku, ok := s.backend().(backend.KeyUnwrapper)
	if !ok {
		t.Fatalf("the backend lists unwrap mechanisms but does not implement backend.KeyUnwrapper")
	}
	unwrapping := s.cfg.UnwrappingKey
	if unwrapping == "" {
		unwrapping = s.cfg.TrustedWrappingKey
	}
	ctx := t.Context()
	b := s.backend()
	orig := s.wrappableKey(t, alg, "wrap-"+string(alg))

	// What the original does, to check the unwrapped key against.
	var sealed, plaintext []byte
	if alg == backend.AES256 && s.supports(backend.AES256GCM) {
		plaintext = randomBytes(32)
		aead := s.aeadFor(t, orig.Label, false)
		var err error
		if sealed, err = aead.Seal(ctx, plaintext, nil); err != nil {
			t.Fatalf("Seal with %s: %v", describeKey(orig), err)
		}
	}

	w, err := b.(backend.KeyWrapper).WrapKey(ctx, orig.Label, s.cfg.TrustedWrappingKey, backend.WrapAESKeyWrapPad)
	if err != nil {
		t.Fatalf("WrapKey(%q) under the trusted wrapping key %q: %v", orig.Label, s.cfg.TrustedWrappingKey, err)
	}
	if w.Label != orig.Label || !bytes.Equal(w.ID, orig.ID) || w.Algorithm != alg || w.Mechanism != backend.WrapAESKeyWrapPad || !equalPublic(w.Public, orig.Public) {
		t.Errorf("WrappedKey %v (ID %x, public %T): want label %q, ID %x, %s, %s and the key's public key", w, w.ID, w.Public, orig.Label, orig.ID, alg, backend.WrapAESKeyWrapPad)
	}
	if len(w.Ciphertext) == 0 {
		t.Fatalf("WrapKey(%q) returned no ciphertext", orig.Label)
	}
	if strings.Contains(w.String(), string(w.Ciphertext)) {
		t.Errorf("WrappedKey.String shows the ciphertext")
	}

	// Back into the same backend, under a new label and a new ID (the
	// original holds its own).
	moved := *w
	moved.ID = nil
	label := s.label("unwrapped-" + string(alg))
	nk, err := ku.UnwrapKey(ctx, &moved, unwrapping, label)
	if err != nil {
		t.Fatalf("UnwrapKey(%s) under %q as %q: %v", w, unwrapping, label, err)
	}
	checkKeyMetadata(t, "UnwrapKey", nk, label, alg)
	if !equalPublic(nk.Public, orig.Public) {
		t.Errorf("the unwrapped key's public key is not the original's")
	}
	if alg.Signs() {
		op := s.signOp(alg)
		if op == "" {
			t.Logf("the backend reports no signature operation of %s: the unwrapped key is not used", alg)
		} else {
			signer, err := b.Signer(ctx, label)
			if err != nil {
				t.Fatalf("Signer(%q): %v", label, err)
			}
			c := signCases(op, orig.Public)[0]
			msg := signInput(op, randomBytes(32))
			sig, err := signer.Sign(rand.Reader, msg, c.opts)
			if err != nil {
				t.Fatalf("Sign with the unwrapped key (%s): %v", op, err)
			}
			if err := verifySignature(orig.Public, op, c, msg, sig); err != nil {
				t.Errorf("a %s signature of the unwrapped key does not verify with the original's public key: %v", op, err)
			}
		}
	}
	if sealed != nil {
		got, err := s.aeadFor(t, label, false).Open(ctx, sealed, nil)
		if err != nil || !bytes.Equal(got, plaintext) {
			t.Errorf("the unwrapped key opens what the original sealed: %x, %v; want the plaintext", got, err)
		}
	}

	// One byte changed: refused, nothing left behind.
	damaged := moved
	damaged.Ciphertext = flip(w.Ciphertext, len(w.Ciphertext)/2)
	dlabel := s.label("unwrapped-damaged-" + string(alg))
	if _, err := ku.UnwrapKey(ctx, &damaged, unwrapping, dlabel); wantErr(t, err, "UnwrapKey of a ciphertext with one byte changed", backend.ErrInvalidInput) {
		if _, err := b.Key(ctx, dlabel); !wantErr(t, err, "Key("+dlabel+") after a refused unwrap", backend.ErrNotFound) {
			t.Errorf("a refused unwrap left a key behind")
		}
	}

	// A taken label.
	_, err = ku.UnwrapKey(ctx, &moved, unwrapping, label)
	wantErr(t, err, "UnwrapKey under the taken label "+label, backend.ErrAlreadyExists)
}
