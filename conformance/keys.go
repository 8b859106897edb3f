package conformance

import (
	"slices"
	"strings"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// checkCapabilities: the backend reports what it can do, in known names,
// and the optional interfaces it reports are there.
func (s *suite) checkCapabilities(t tb) {
	b := s.backend()
	caps, err := b.Capabilities(t.Context())
	if err != nil {
		t.Fatalf("Capabilities: %v", err)
	}
	if caps == nil {
		t.Fatalf("Capabilities returned nil and no error")
	}
	s.caps = caps
	if caps.Backend == "" {
		t.Errorf("Capabilities.Backend is empty; want the scheme the backend was opened with")
	}
	for _, a := range caps.Algorithms {
		if _, err := backend.ParseAlgorithm(string(a)); err != nil {
			t.Errorf("Capabilities.Algorithms: %v", err)
		}
	}
	for _, op := range caps.Operations {
		if _, err := backend.ParseOperation(string(op)); err != nil {
			t.Errorf("Capabilities.Operations: %v", err)
			continue
		}
		if !slices.ContainsFunc(caps.Algorithms, op.Applies) {
			t.Errorf("Capabilities reports operation %s but no algorithm it applies to", op)
		}
	}
	if _, ok := b.(backend.Importer); caps.Import && !ok {
		t.Errorf("Capabilities.Import is true but %T does not implement backend.Importer", b)
	}
	if _, ok := b.(backend.Exporter); caps.Export && !ok {
		t.Errorf("Capabilities.Export is true but %T does not implement backend.Exporter", b)
	}
	if _, ok := b.(backend.AEADBackend); caps.SupportsOperation(backend.AES256GCM) && !ok {
		t.Errorf("Capabilities reports %s but %T does not implement backend.AEADBackend", backend.AES256GCM, b)
	}
	if _, ok := b.(backend.FernetBackend); caps.SupportsOperation(backend.FernetToken) && !ok {
		t.Errorf("Capabilities reports %s but %T does not implement backend.FernetBackend", backend.FernetToken, b)
	}
	if s.cfg.Reopen && !caps.Persistent {
		t.Errorf("Config.Reopen is set but Capabilities.Persistent is false")
	}
	for _, n := range caps.Notes {
		if strings.Contains(n, "\n") {
			t.Errorf("Capabilities.Notes holds a multi-line note %q; want one fact per line", n)
		}
	}
}

// checkGenerate: GenerateKey makes a key of alg with the right metadata.
// Algorithms the backend does not report are refused with ErrUnsupported.
func (s *suite) checkGenerate(t tb, alg backend.Algorithm) {
	b := s.backend()
	label := s.label("gen-" + string(alg))
	if reason := s.skipReason(alg); reason != "" {
		if !s.caps.SupportsAlgorithm(alg) {
			// It says it cannot: then it must refuse, not make something else.
			k, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: label, Algorithm: alg})
			if err == nil {
				t.Errorf("GenerateKey(%s) made %s although Capabilities does not report %s", alg, describeKey(k), alg)
				return
			}
			if !wantErr(t, err, "GenerateKey of an unreported algorithm", backend.ErrUnsupported) {
				return
			}
		}
		t.Skipf("%s", reason)
	}
	k, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: label, Algorithm: alg})
	if err != nil {
		t.Fatalf("GenerateKey(%q, %s): %v", label, alg, err)
	}
	if k == nil {
		t.Fatalf("GenerateKey(%q, %s) returned a nil key and no error", label, alg)
	}
	sk := &suiteKey{alg: alg, label: label, key: k}
	s.keys[alg] = sk
	checkKeyMetadata(t, "GenerateKey", k, label, alg)
	s.makeEvidence(t, sk)
}

// checkKeyMetadata checks what every Key must say.
func checkKeyMetadata(t tb, what string, k *backend.Key, label string, alg backend.Algorithm) {
	t.Helper()
	if k.Label != label {
		t.Errorf("%s: Label = %q, want %q", what, k.Label, label)
	}
	if k.Algorithm != alg {
		t.Errorf("%s: Algorithm = %q, want %q", what, k.Algorithm, alg)
	}
	if len(k.ID) == 0 {
		t.Errorf("%s: key %q has an empty ID", what, k.Label)
	}
	if k.URI != "" && backend.Redact(k.URI) != k.URI {
		t.Errorf("%s: key %q has a URI that carries a secret (a PIN or passphrase)", what, k.Label)
	}
	if !k.Created.IsZero() && (k.Created.Before(time.Now().Add(-24*time.Hour)) || k.Created.After(time.Now().Add(5*time.Minute))) {
		// The suite's keys were all made moments ago.
		t.Errorf("%s: key %q says it was created %v, not during this run", what, k.Label, k.Created)
	}
	if !alg.Asymmetric() {
		if k.Public != nil {
			t.Errorf("%s: secret key %q has a public key %T", what, k.Label, k.Public)
		}
		return
	}
	got, err := backend.AlgorithmOf(k.Public)
	switch {
	case k.Public == nil:
		t.Errorf("%s: %s key %q has no public key", what, alg, k.Label)
	case err != nil:
		t.Errorf("%s: public key of %q: %v", what, k.Label, err)
	case got != alg:
		t.Errorf("%s: public key of %q is %s, want %s", what, k.Label, got, alg)
	}
	if want := publicKeyTypes(alg); !publicKeyTypeIs(alg, k.Public) {
		t.Errorf("%s: public key of %q is %T, want %s", what, k.Label, k.Public, want)
	}
}

// checkSameCreated: where the backend knows when a key was made, it says
// the same every time (to the second: stores may keep no more).
func checkSameCreated(t tb, what string, want, got *backend.Key) {
	t.Helper()
	if want.Created.IsZero() || got.Created.IsZero() {
		return
	}
	if d := got.Created.Sub(want.Created); d > 2*time.Second || d < -2*time.Second {
		t.Errorf("%s: created %v, but GenerateKey said %v", what, got.Created, want.Created)
	}
}

// checkKeyLookup: the key is found by label, by "id:<hex>" and by its URI,
// with the same metadata and public key; its Signer has the same public
// key.
func (s *suite) checkKeyLookup(t tb, alg backend.Algorithm) {
	sk := s.key(t, alg)
	b := s.backend()
	refs := []string{sk.label, "id:" + sk.key.IDHex()}
	if sk.key.URI != "" {
		refs = append(refs, sk.key.URI)
	}
	for _, ref := range refs {
		k, err := b.Key(t.Context(), ref)
		if err != nil {
			t.Errorf("Key(%q): %v", ref, err)
			continue
		}
		checkKeyMetadata(t, "Key("+ref+")", k, sk.label, alg)
		if string(k.ID) != string(sk.key.ID) {
			t.Errorf("Key(%q): ID %x, want %x (as GenerateKey said)", ref, k.ID, sk.key.ID)
		}
		checkSameCreated(t, "Key("+ref+")", sk.key, k)
		if alg.Asymmetric() && !equalPublic(sk.key.Public, k.Public) {
			t.Errorf("Key(%q): public key differs from the one GenerateKey returned", ref)
		}
	}
	if !alg.Asymmetric() {
		return
	}
	for _, ref := range refs {
		if !alg.Signs() {
			break
		}
		signer, err := b.Signer(t.Context(), ref)
		if err != nil {
			t.Errorf("Signer(%q): %v", ref, err)
			continue
		}
		if !equalPublic(sk.key.Public, signer.Public()) {
			t.Errorf("Signer(%q).Public() differs from the key's public key", ref)
		}
	}
	if alg.Family() == backend.FamilyMLKEM {
		s.checkDecapsulatorPublic(t, sk)
	}
	if alg.Family() == backend.FamilyRSA {
		d, err := b.Decrypter(t.Context(), sk.label)
		if err != nil {
			t.Errorf("Decrypter(%q): %v", sk.label, err)
		} else if !equalPublic(sk.key.Public, d.Public()) {
			t.Errorf("Decrypter(%q).Public() differs from the key's public key", sk.label)
		}
	}
	if ex, ok := b.(backend.Exporter); ok && s.caps.Export {
		priv, err := ex.ExportKey(t.Context(), sk.label)
		if err != nil {
			t.Errorf("ExportKey(%q): %v", sk.label, err)
			return
		}
		if pub := exportedPublic(priv); pub == nil || !equalPublic(sk.key.Public, pub) {
			t.Errorf("ExportKey(%q) returned %T, whose public key is not the key's", sk.label, priv)
		}
	}
}

// checkList: Keys lists every generated key with its metadata, and the
// list is sorted by label.
func (s *suite) checkList(t tb) {
	keys, err := s.backend().Keys(t.Context())
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	if !slices.IsSortedFunc(keys, func(a, b *backend.Key) int { return strings.Compare(a.Label, b.Label) }) {
		labels := make([]string, len(keys))
		for i, k := range keys {
			labels[i] = k.Label
		}
		t.Errorf("Keys is not sorted by label: %q", labels)
	}
	for _, alg := range s.algs {
		sk := s.keys[alg]
		if sk == nil {
			continue
		}
		i := slices.IndexFunc(keys, func(k *backend.Key) bool { return k.Label == sk.label })
		if i < 0 {
			t.Errorf("Keys does not list %q", sk.label)
			continue
		}
		k := keys[i]
		checkKeyMetadata(t, "Keys", k, sk.label, alg)
		if string(k.ID) != string(sk.key.ID) {
			t.Errorf("Keys lists %q with ID %x, want %x", sk.label, k.ID, sk.key.ID)
		}
		if alg.Asymmetric() && !equalPublic(sk.key.Public, k.Public) {
			t.Errorf("Keys lists %q with another public key", sk.label)
		}
		if n := len(slices.DeleteFunc(slices.Clone(keys), func(k *backend.Key) bool { return k.Label != sk.label })); n != 1 {
			t.Errorf("Keys lists %q %d times", sk.label, n)
		}
	}
}
