package conformance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// suite is the state one run carries from check to check: the backend
// under test, its capabilities, and the keys made so far.
type suite struct {
	cfg Config

	mu   sync.Mutex
	b    backend.Backend // the instance under test; replaced by Reopen
	done bool            // cleanup and Close already ran

	caps *backend.Capabilities
	// algs are the algorithms under test, in backend.AllAlgorithms() order.
	algs []backend.Algorithm
	// keys are the keys made by generate/<alg>, by algorithm.
	keys map[backend.Algorithm]*suiteKey
	// certsBeforeReopen is the chain (DER) certs/before-reopen stored.
	certsBeforeReopen [][]byte
	// agreeKeys: the agreement checks made their key of the algorithm.
	agreeKeys map[backend.Algorithm]bool
}

// suiteKey is a key the suite generated, with what it did with it before a
// reopen, to check again after.
type suiteKey struct {
	alg   backend.Algorithm
	label string
	key   *backend.Key

	// Evidence made before a reopen.
	sigOp      backend.Operation // a signature...
	sigDigest  []byte            // ...over this digest (the message for Ed25519)
	sig        []byte
	ciphertext []byte // an RSA ciphertext of plaintext (OAEP or PKCS#1 v1.5, see decOp)
	decOp      backend.Operation
	plaintext  []byte
	sealed     []byte // an AEAD message sealing plaintext
	mac        []byte // a Fernet MAC over plaintext
	kemCT      []byte // an ML-KEM ciphertext encapsulating plaintext as the shared key
}

func newSuite(cfg Config) *suite {
	return &suite{cfg: cfg, keys: map[backend.Algorithm]*suiteKey{}, agreeKeys: map[backend.Algorithm]bool{}}
}

func (s *suite) backend() backend.Backend {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b
}

func (s *suite) setBackend(b backend.Backend) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = b
}

// label returns a label under the suite's prefix.
func (s *suite) label(name string) string { return s.cfg.LabelPrefix + name }

// ours reports whether a key label belongs to this run.
func (s *suite) ours(label string) bool { return strings.Contains(label, s.cfg.LabelPrefix) }

// key returns the generated key of alg, or skips t when there is none.
func (s *suite) key(t tb, alg backend.Algorithm) *suiteKey {
	t.Helper()
	k := s.keys[alg]
	if k == nil || k.key == nil {
		t.Skipf("no %s key: generate/%s did not make one", alg, alg)
	}
	return k
}

// supports reports whether the backend reports op and an algorithm under
// test it applies to.
func (s *suite) supports(op backend.Operation) bool {
	return s.caps != nil && s.caps.SupportsOperation(op)
}

// requireOp skips t unless the backend reports op.
func (s *suite) requireOp(t tb, op backend.Operation) {
	t.Helper()
	if !s.supports(op) {
		t.Skipf("the backend does not report operation %s", op)
	}
}

// firstKey returns the first generated key whose algorithm matches, or nil.
func (s *suite) firstKey(match func(backend.Algorithm) bool) *suiteKey {
	for _, a := range s.algs {
		if k := s.keys[a]; k != nil && k.key != nil && match(a) {
			return k
		}
	}
	return nil
}

// runAll runs every check in order. It returns an error only when the
// backend could not be opened at all.
func (s *suite) runAll(r runner) error {
	b, err := r.open()
	if err != nil {
		return fmt.Errorf("conformance: opening the backend: %w", err)
	}
	s.setBackend(b)
	defer s.finish(r)

	r.run("capabilities", s.checkCapabilities)
	if s.caps == nil {
		return nil
	}
	s.planAlgorithms()

	// Keys: generate one of each algorithm, find it, list it.
	for _, alg := range backend.AllAlgorithms() {
		r.run("generate/"+string(alg), func(t tb) { s.checkGenerate(t, alg) })
	}
	for _, alg := range s.algs {
		r.run("key/"+string(alg), func(t tb) { s.checkKeyLookup(t, alg) })
	}
	r.run("list", s.checkList)

	// Operations with the generated keys.
	for _, alg := range s.algs {
		for _, op := range backend.OperationsFor(alg) {
			switch op.Kind() {
			case backend.OpSign:
				r.run("sign/"+string(alg)+"/"+string(op), func(t tb) { s.checkSign(t, alg, op) })
			case backend.OpDecrypt:
				r.run("decrypt/"+string(alg)+"/"+string(op), func(t tb) { s.checkDecrypt(t, alg, op) })
			}
		}
	}
	s.runPostQuantum(r)
	if slices.Contains(s.algs, backend.AES256) {
		r.run("aead/seal-open", s.checkAEADRoundTrip)
		r.run("aead/nonces", s.checkAEADNonces)
		r.run("aead/tamper", s.checkAEADTamper)
		r.run("aead/wrong-key", s.checkAEADWrongKey)
	}
	if slices.Contains(s.algs, backend.Fernet) {
		r.run("fernet/round-trip", s.checkFernetRoundTrip)
		r.run("fernet/bad-input", s.checkFernetBadInput)
		r.run("fernet/wrong-key", s.checkFernetWrongKey)
	}
	s.runAgreement(r)

	// The standard library's users of crypto.Signer.
	for _, alg := range s.algs {
		if x509Signs(alg) {
			r.run("interop/x509/"+string(alg), func(t tb) { s.checkX509(t, alg) })
			r.run("interop/tls/"+string(alg), func(t tb) { s.checkTLS(t, alg) })
		}
	}

	// Import.
	for _, alg := range importAlgorithms {
		if slices.Contains(s.algs, alg) {
			r.run("import/"+string(alg), func(t tb) { s.checkImport(t, alg) })
		}
	}
	r.run("import/duplicate-label", s.checkImportDuplicate)
	r.run("import/bad-input", s.checkImportBadInput)

	// Certificates stored with keys (certs.go).
	r.run("certs/round-trip", s.checkCertsRoundTrip)
	r.run("certs/bad-input", s.checkCertsBadInput)
	r.run("certs/tls", s.checkCertsTLS)
	r.run("certs/delete", s.checkCertsDelete)

	// Errors.
	r.run("errors/not-found", s.checkNotFound)
	r.run("errors/duplicate-label", s.checkDuplicateLabel)
	r.run("errors/bad-label", s.checkBadLabels)
	r.run("errors/bad-reference", s.checkBadReferences)
	r.run("errors/unknown-algorithm", s.checkUnknownAlgorithm)
	r.run("errors/wrong-key-type", s.checkWrongKeyType)
	for _, alg := range s.algs {
		if alg.Signs() {
			r.run("errors/sign-options/"+string(alg), func(t tb) { s.checkSignOptions(t, alg) })
		}
	}
	r.run("errors/decrypt-options", s.checkDecryptOptions)

	// Key versions and rotation (backend.KeyVersions).
	s.runVersions(r)

	// Key wrapping (backend.KeyWrapper, backend.KeyUnwrapper; wrap.go).
	s.runWrap(r)

	// Many goroutines at once.
	r.run("concurrency/shared-keys", s.checkConcurrentShared)
	r.run("concurrency/generate", s.checkConcurrentGenerate)

	// Close and open again.
	if s.cfg.Reopen {
		r.run("certs/before-reopen", s.checkCertsBeforeReopen)
		s.reopen(r)
		if s.backend() == nil {
			return nil
		}
		r.run("certs/after-reopen", s.checkCertsAfterReopen)
	}

	// Delete, clean up, close.
	for _, alg := range s.algs {
		r.run("delete/"+string(alg), func(t tb) { s.checkDelete(t, alg) })
	}
	r.run("cleanup", s.checkCleanup)
	r.run("close", s.checkClose)
	return nil
}

// planAlgorithms decides which algorithms to test.
func (s *suite) planAlgorithms() {
	for _, a := range backend.AllAlgorithms() {
		if s.skipReason(a) == "" {
			s.algs = append(s.algs, a)
		}
	}
}

// skipReason says why algorithm a is not tested, or "".
func (s *suite) skipReason(a backend.Algorithm) string {
	switch {
	case !s.caps.SupportsAlgorithm(a):
		return fmt.Sprintf("the backend does not report algorithm %s", a)
	case s.cfg.Algorithms != nil && !slices.Contains(s.cfg.Algorithms, a):
		return fmt.Sprintf("%s not selected in Config.Algorithms", a)
	case s.cfg.Short && a == backend.RSA4096:
		return "rsa-4096 key generation is slow; skipped in short mode"
	}
	return ""
}

// finish deletes what is left of the suite's keys and closes the backend,
// when the checks did not get that far.
func (s *suite) finish(r runner) {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done {
		return
	}
	ctx, cancel := context.WithTimeout(r.context(), time.Minute)
	defer cancel()
	s.deleteOurs(ctx)
	s.closeBackend()
}

// cleanupAfterAbort is finish for a run that ended in a panic or t.Fatal.
func (s *suite) cleanupAfterAbort() {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done || s.backend() == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.deleteOurs(ctx)
	s.closeBackend()
}

// deleteOurs deletes every key whose label carries the prefix, and returns
// the errors it met.
func (s *suite) deleteOurs(ctx context.Context) []error {
	b := s.backend()
	if b == nil {
		return nil
	}
	keys, err := b.Keys(ctx)
	if err != nil {
		return []error{fmt.Errorf("listing keys to delete: %w", err)}
	}
	var errs []error
	for _, k := range keys {
		if !s.ours(k.Label) {
			continue
		}
		ref := k.Label
		if len(k.ID) > 0 {
			ref = "id:" + k.IDHex()
		}
		if err := b.DeleteKey(ctx, ref); err != nil {
			errs = append(errs, fmt.Errorf("deleting %s: %w", describeKey(k), err))
		}
	}
	return errs
}

func (s *suite) closeBackend() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	if s.b == nil {
		return nil
	}
	return s.b.Close()
}
