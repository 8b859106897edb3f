package conformance

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/keyplane/keyplane/backend"
)

// errorList collects errors from many goroutines; the check reports the
// first few and the count.
type errorList struct {
	mu   sync.Mutex
	errs []string
}

func (e *errorList) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, fmt.Sprintf(format, args...))
}

func (e *errorList) report(t tb) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, msg := range e.errs {
		if i == 5 {
			t.Errorf("... and %d more errors", len(e.errs)-5)
			break
		}
		t.Errorf("%s", msg)
	}
}

// goSafe runs fn in a goroutine of wg, turning a panic (in the backend)
// into an error of the check instead of a crash of the program.
func goSafe(wg *sync.WaitGroup, errs *errorList, fn func()) {
	wg.Go(func() {
		defer func() {
			if p := recover(); p != nil {
				errs.add("panic: %v\n%s", p, debug.Stack())
			}
		}()
		fn()
	})
}

func (s *suite) iterations() int {
	if s.cfg.Short {
		return 4
	}
	return 12
}

// concurrentSigner is a generated key that signs, with one crypto.Signer
// shared by every goroutine.
type concurrentSigner struct {
	sk     *suiteKey
	shared crypto.Signer
}

// checkConcurrentShared: Concurrency goroutines at once sign with a
// generated key of each family (the same crypto.Signer shared by all, and a
// Signer of each goroutine's own), decrypt with an RSA key, seal and open
// with the AES key, and list keys. Every signature verifies, every
// plaintext comes back.
func (s *suite) checkConcurrentShared(t tb) {
	b := s.backend()
	ctx := t.Context()
	var signers []concurrentSigner
	var rsaKey, aesKey *suiteKey
	families := map[backend.Family]bool{} // one key of each family is enough
	for _, alg := range s.algs {
		sk := s.keys[alg]
		switch {
		case sk == nil || families[alg.Family()]:
		case sk.sigOp != "":
			families[alg.Family()] = true
			signer, err := b.Signer(ctx, sk.label)
			if err != nil {
				t.Fatalf("Signer(%q): %v", sk.label, err)
			}
			signers = append(signers, concurrentSigner{sk, signer})
			if rsaKey == nil && sk.decOp != "" {
				rsaKey = sk
			}
		case sk.sealed != nil:
			aesKey = sk
		}
	}
	if len(signers) == 0 && rsaKey == nil && aesKey == nil {
		t.Skipf("no key that signs, decrypts or seals")
	}
	var shared crypto.Decrypter
	if rsaKey != nil {
		d, err := b.Decrypter(ctx, rsaKey.label)
		if err != nil {
			t.Fatalf("Decrypter(%q): %v", rsaKey.label, err)
		}
		shared = d
	}

	var errs errorList
	var wg sync.WaitGroup
	for g := range s.cfg.Concurrency {
		goSafe(&wg, &errs, func() {
			for i := range s.iterations() {
				for _, k := range signers {
					own, err := b.Signer(ctx, k.sk.label)
					if err != nil {
						errs.add("goroutine %d: Signer(%q): %v", g, k.sk.label, err)
						continue
					}
					concurrentSign(k.shared, k.sk, g, "shared", &errs)
					concurrentSign(own, k.sk, g, "own", &errs)
				}
				if rsaKey != nil {
					concurrentDecrypt(ctx, b, shared, rsaKey, g, &errs)
				}
				if aesKey != nil {
					s.concurrentAEAD(ctx, aesKey, g, &errs)
				}
				if i%4 == 0 {
					if _, err := b.Keys(ctx); err != nil {
						errs.add("goroutine %d: Keys: %v", g, err)
					}
				}
			}
		})
	}
	wg.Wait()
	errs.report(t)
}

func concurrentSign(signer crypto.Signer, sk *suiteKey, g int, which string, errs *errorList) {
	c := signCases(sk.sigOp, sk.key.Public)[0]
	in := signInput(sk.sigOp, randomBytes(32))
	sig, err := signer.Sign(rand.Reader, in, c.opts)
	if err != nil {
		errs.add("goroutine %d: %s with the %s signer of %q: %v", g, sk.sigOp, which, sk.label, err)
		return
	}
	if err := verifySignature(sk.key.Public, sk.sigOp, c, in, sig); err != nil {
		errs.add("goroutine %d: %s with the %s signer of %q: signature does not verify: %v", g, sk.sigOp, which, sk.label, err)
	}
}

func concurrentDecrypt(ctx context.Context, b backend.Backend, shared crypto.Decrypter, sk *suiteKey, g int, errs *errorList) {
	own, err := b.Decrypter(ctx, sk.label)
	if err != nil {
		errs.add("goroutine %d: Decrypter(%q): %v", g, sk.label, err)
		return
	}
	for _, d := range []crypto.Decrypter{shared, own} {
		msg := randomBytes(20)
		ct, err := encryptFor(sk.key.Public.(*rsa.PublicKey), sk.decOp, sk.decOp.DecrypterOpts(), msg)
		if err != nil {
			errs.add("goroutine %d: crypto/rsa encryption: %v", g, err)
			return
		}
		got, err := d.Decrypt(rand.Reader, ct, sk.decOp.DecrypterOpts())
		if err != nil {
			errs.add("goroutine %d: %s with %q: %v", g, sk.decOp, sk.label, err)
		} else if !bytes.Equal(got, msg) {
			errs.add("goroutine %d: %s with %q gave the wrong plaintext", g, sk.decOp, sk.label)
		}
	}
}

func (s *suite) concurrentAEAD(ctx context.Context, sk *suiteKey, g int, errs *errorList) {
	ab, ok := s.backend().(backend.AEADBackend)
	if !ok {
		return
	}
	aead, err := ab.AEAD(ctx, sk.label)
	if err != nil {
		errs.add("goroutine %d: AEAD(%q): %v", g, sk.label, err)
		return
	}
	pt := randomBytes(64)
	sealed, err := aead.Seal(ctx, pt, nil)
	if err != nil {
		errs.add("goroutine %d: Seal: %v", g, err)
		return
	}
	got, err := aead.Open(ctx, sealed, nil)
	if err != nil || !bytes.Equal(got, pt) {
		errs.add("goroutine %d: Open of a message just sealed: %v", g, err)
	}
}

// checkConcurrentGenerate: Concurrency goroutines each generate a key
// under its own label at once, sign with it, list, and delete it; nothing
// is lost or mixed up.
func (s *suite) checkConcurrentGenerate(t tb) {
	alg := backend.Algorithm("")
	for _, a := range []backend.Algorithm{backend.Ed25519, backend.ECP256, backend.ECP384, backend.ECP521, backend.RSA2048, backend.AES256, backend.Fernet} {
		if s.keys[a] != nil {
			alg = a
			break
		}
	}
	if alg == "" {
		t.Skipf("no algorithm under test that generates quickly")
	}
	b := s.backend()
	ctx := t.Context()
	n := s.cfg.Concurrency
	if alg.Family() == backend.FamilyRSA && n > 4 {
		n = 4 // RSA key generation is slow
	}
	var errs errorList
	keys := make([]*backend.Key, n)
	var wg sync.WaitGroup
	for g := range n {
		goSafe(&wg, &errs, func() {
			label := s.label(fmt.Sprintf("concurrent-%d", g))
			k, err := b.GenerateKey(ctx, backend.KeySpec{Label: label, Algorithm: alg})
			if err != nil {
				errs.add("goroutine %d: GenerateKey(%q, %s): %v", g, label, alg, err)
				return
			}
			keys[g] = k
			if k.Label != label {
				errs.add("goroutine %d: GenerateKey(%q) returned a key labelled %q", g, label, k.Label)
			}
			if !alg.Asymmetric() {
				return
			}
			signer, err := b.Signer(ctx, label)
			if err != nil {
				errs.add("goroutine %d: Signer(%q): %v", g, label, err)
				return
			}
			if !equalPublic(signer.Public(), k.Public) {
				errs.add("goroutine %d: Signer(%q) has another key's public key", g, label)
			}
			for _, op := range backend.OperationsFor(alg) {
				if op.Kind() == backend.OpSign && s.supports(op) {
					concurrentSign(signer, &suiteKey{label: label, key: k, sigOp: op}, g, "new", &errs)
					break
				}
			}
		})
	}
	wg.Wait()

	listed, err := b.Keys(ctx)
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	ids := map[string]bool{}
	for _, k := range keys {
		if k == nil {
			continue
		}
		if ids[string(k.ID)] {
			errs.add("two concurrently generated keys share the ID %x", k.ID)
		}
		ids[string(k.ID)] = true
		found := false
		for _, l := range listed {
			if l.Label == k.Label && string(l.ID) == string(k.ID) {
				found = true
			}
		}
		if !found {
			errs.add("Keys does not list the concurrently generated key %q", k.Label)
		}
	}
	for g := range n {
		if keys[g] == nil {
			continue
		}
		goSafe(&wg, &errs, func() {
			if err := b.DeleteKey(ctx, keys[g].Label); err != nil {
				errs.add("goroutine %d: DeleteKey(%q): %v", g, keys[g].Label, err)
			}
		})
	}
	wg.Wait()
	for g := range n {
		if keys[g] == nil {
			continue
		}
		if _, err := b.Key(ctx, keys[g].Label); err == nil {
			errs.add("key %q still there after a concurrent DeleteKey", keys[g].Label)
		}
	}
	errs.report(t)
}
