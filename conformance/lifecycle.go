package conformance

import (
	"bytes"
	"crypto/rand"
	"slices"

	"github.com/keyplane/keyplane/backend"
)

// reopen closes the backend, checks that the closed instance refuses every
// call, opens it again and checks that the keys survived.
func (s *suite) reopen(r runner) {
	old := s.backend()
	r.run("reopen/close", func(t tb) { s.checkClosed(t, old) })
	b, err := r.open()
	if err != nil {
		s.mu.Lock()
		s.b, s.done = nil, true
		s.mu.Unlock()
		r.run("reopen/open", func(t tb) {
			t.Fatalf("opening the backend again: %v (keys labelled %q… are left behind)", err, s.cfg.LabelPrefix)
		})
		return
	}
	s.setBackend(b)
	r.run("reopen/open", func(t tb) {
		caps, err := b.Capabilities(t.Context())
		if err != nil {
			t.Fatalf("Capabilities after reopening: %v", err)
		}
		if !caps.Persistent {
			t.Errorf("Capabilities.Persistent is false after reopening")
		}
	})
	for _, alg := range s.algs {
		r.run("reopen/"+string(alg), func(t tb) { s.checkReopened(t, alg) })
	}
}

// checkReopened: after close and open, the key is there with the same ID
// and public key, and does what it did before.
func (s *suite) checkReopened(t tb, alg backend.Algorithm) {
	sk := s.key(t, alg)
	b := s.backend()
	ctx := t.Context()
	k, err := b.Key(ctx, sk.label)
	if err != nil {
		t.Fatalf("Key(%q) after reopening: %v", sk.label, err)
	}
	checkKeyMetadata(t, "Key after reopening", k, sk.label, alg)
	if string(k.ID) != string(sk.key.ID) {
		t.Errorf("after reopening, %q has ID %x, want %x", sk.label, k.ID, sk.key.ID)
	}
	checkSameCreated(t, "Key after reopening", sk.key, k)
	if _, err := b.Key(ctx, "id:"+sk.key.IDHex()); err != nil {
		t.Errorf("Key(id:%s) after reopening: %v", sk.key.IDHex(), err)
	}
	if alg.Asymmetric() && !equalPublic(k.Public, sk.key.Public) {
		t.Errorf("after reopening, %q has another public key", sk.label)
	}
	switch {
	case sk.sig != nil:
		c := signCases(sk.sigOp, k.Public)[0]
		if err := verifySignature(k.Public, sk.sigOp, c, sk.sigDigest, sk.sig); err != nil {
			t.Errorf("a signature made before reopening does not verify with the reopened public key: %v", err)
		}
		signer, err := b.Signer(ctx, sk.label)
		if err != nil {
			t.Fatalf("Signer(%q) after reopening: %v", sk.label, err)
		}
		sig, err := signer.Sign(rand.Reader, sk.sigDigest, c.opts)
		if err != nil {
			t.Errorf("%s after reopening: %v", sk.sigOp, err)
		} else if err := verifySignature(sk.key.Public, sk.sigOp, c, sk.sigDigest, sig); err != nil {
			t.Errorf("%s after reopening: the signature does not verify: %v", sk.sigOp, err)
		}
		if sk.ciphertext != nil {
			d, err := b.Decrypter(ctx, sk.label)
			if err != nil {
				t.Fatalf("Decrypter(%q) after reopening: %v", sk.label, err)
			}
			got, err := d.Decrypt(rand.Reader, sk.ciphertext, sk.decOp.DecrypterOpts())
			if err != nil || !bytes.Equal(got, sk.plaintext) {
				t.Errorf("%s after reopening: a ciphertext made before does not decrypt (err %v)", sk.decOp, err)
			}
		}
	case sk.sealed != nil:
		aead := s.aeadFor(t, sk.label, false)
		got, err := aead.Open(ctx, sk.sealed, []byte(sk.label))
		if err != nil || !bytes.Equal(got, sk.plaintext) {
			t.Errorf("after reopening, a message sealed before does not open (err %v)", err)
		}
	case sk.kemCT != nil:
		s.checkKEMEvidence(t, sk)
	case sk.mac != nil:
		fk := s.fernetFor(t, sk.label, false)
		mac, err := fk.MAC(ctx, sk.plaintext)
		if err != nil || !bytes.Equal(mac, sk.mac) {
			t.Errorf("after reopening, the Fernet key computes another MAC (err %v)", err)
		}
	default:
		t.Logf("nothing was made with the key before reopening")
	}
}

// checkDelete: DeleteKey removes the key (by label or by ID, alternately),
// every lookup then says ErrNotFound, and no other key goes with it.
func (s *suite) checkDelete(t tb, alg backend.Algorithm) {
	sk := s.key(t, alg)
	b := s.backend()
	ctx := t.Context()
	ref := sk.label
	if slices.Index(s.algs, alg)%2 == 1 {
		ref = "id:" + sk.key.IDHex()
	}
	if err := b.DeleteKey(ctx, ref); err != nil {
		t.Fatalf("DeleteKey(%q): %v", ref, err)
	}
	delete(s.keys, alg)
	for _, r := range []string{sk.label, "id:" + sk.key.IDHex()} {
		_, err := b.Key(ctx, r)
		wantErr(t, err, "Key("+r+") after DeleteKey", backend.ErrNotFound)
		if alg.Asymmetric() {
			_, err = b.Signer(ctx, r)
			wantErr(t, err, "Signer("+r+") after DeleteKey", backend.ErrNotFound)
		}
	}
	err := b.DeleteKey(ctx, ref)
	wantErr(t, err, "a second DeleteKey("+ref+")", backend.ErrNotFound)
	keys, err := b.Keys(ctx)
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	for _, k := range keys {
		if k.Label == sk.label || string(k.ID) == string(sk.key.ID) {
			t.Errorf("Keys still lists the deleted key as %s", describeKey(k))
		}
	}
	for _, other := range s.keys {
		if !slices.ContainsFunc(keys, func(k *backend.Key) bool { return k.Label == other.label }) {
			t.Errorf("deleting %q also removed %q", sk.label, other.label)
		}
	}
}

// checkCleanup: every key the run made is gone (whatever is left is deleted
// now), and no other key was touched.
func (s *suite) checkCleanup(t tb) {
	if s.backend() == nil {
		t.Skipf("no open backend")
	}
	for _, err := range s.deleteOurs(t.Context()) {
		t.Errorf("%v", err)
	}
	keys, err := s.backend().Keys(t.Context())
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	for _, k := range keys {
		if s.ours(k.Label) {
			t.Errorf("key %s is still there after deleting it", describeKey(k))
		}
	}
}

// checkClose: Close works, is idempotent, and every call after it is
// ErrClosed.
func (s *suite) checkClose(t tb) {
	b := s.backend()
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
	if b == nil {
		t.Skipf("no open backend")
	}
	s.checkClosed(t, b)
}

// checkClosed closes b and checks that it then refuses every call with
// ErrClosed.
func (s *suite) checkClosed(t tb, b backend.Backend) {
	ctx := t.Context()
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("a second Close: %v (Close must be idempotent)", err)
	}
	ref := s.label("after-close")
	if k := s.firstKey(func(backend.Algorithm) bool { return true }); k != nil {
		ref = k.label // an existing key: ErrNotFound would be wrong
	}
	_, err := b.Key(ctx, ref)
	wantErr(t, err, "Key after Close", backend.ErrClosed)
	_, err = b.Keys(ctx)
	wantErr(t, err, "Keys after Close", backend.ErrClosed)
	_, err = b.Signer(ctx, ref)
	wantErr(t, err, "Signer after Close", backend.ErrClosed)
	_, err = b.Decrypter(ctx, ref)
	wantErr(t, err, "Decrypter after Close", backend.ErrClosed)
	err = b.DeleteKey(ctx, ref)
	wantErr(t, err, "DeleteKey after Close", backend.ErrClosed)
	if alg := s.cheapAlgorithm(false); alg != "" {
		k, err := b.GenerateKey(ctx, backend.KeySpec{Label: s.label("after-close"), Algorithm: alg})
		if err == nil {
			t.Errorf("GenerateKey after Close succeeded: %s", describeKey(k))
			if len(k.ID) > 0 {
				_ = b.DeleteKey(ctx, "id:"+k.IDHex()) // best effort: the backend is "closed"
			}
		} else {
			wantErr(t, err, "GenerateKey after Close", backend.ErrClosed)
		}
	}
	_, err = b.Capabilities(ctx)
	wantErr(t, err, "Capabilities after Close", backend.ErrClosed)
	if ab, ok := b.(backend.AEADBackend); ok {
		_, err = ab.AEAD(ctx, ref)
		wantErr(t, err, "AEAD after Close", backend.ErrClosed)
	}
	if fb, ok := b.(backend.FernetBackend); ok {
		_, err = fb.Fernet(ctx, ref)
		wantErr(t, err, "Fernet after Close", backend.ErrClosed)
	}
	if imp, ok := b.(backend.Importer); ok {
		_, err = imp.ImportKey(ctx, s.label("after-close"), backend.SecretKey{Algorithm: backend.AES256, Value: randomBytes(32)})
		wantErr(t, err, "ImportKey after Close", backend.ErrClosed)
	}
	if ex, ok := b.(backend.Exporter); ok {
		_, err = ex.ExportKey(ctx, ref)
		wantErr(t, err, "ExportKey after Close", backend.ErrClosed)
	}
}
