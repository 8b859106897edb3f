package conformance

//lint:file-ignore SA1019 rsa-pkcs1v15 decryption is an operation keyplane offers for data that already exists; docs/decisions.md says why and points new data at OAEP

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"maps"
	"math/big"
	"strings"

	"github.com/keyplane/keyplane/backend"
)

// encryptFor encrypts msg to pub with the standard library as op asks.
func encryptFor(pub *rsa.PublicKey, op backend.Operation, opts crypto.DecrypterOpts, msg []byte) ([]byte, error) {
	switch o := opts.(type) {
	case *rsa.OAEPOptions:
		return rsa.EncryptOAEPWithOptions(rand.Reader, pub, msg, o)
	case *rsa.PKCS1v15DecryptOptions, nil:
		return rsa.EncryptPKCS1v15(rand.Reader, pub, msg) //nolint:staticcheck // PKCS#1 v1.5 is what is under test
	}
	return nil, fmt.Errorf("no encryption for %s with %T", op, opts)
}

// makeRSAEvidence encrypts something to a new RSA key, to decrypt after a
// reopen.
func (s *suite) makeRSAEvidence(t tb, sk *suiteKey) {
	t.Helper()
	for _, op := range []backend.Operation{backend.RSAOAEPSHA256, backend.RSAOAEPSHA1, backend.RSAOAEPSHA384, backend.RSAOAEPSHA512, backend.RSAPKCS1v15} {
		if !s.supports(op) {
			continue
		}
		ct, err := encryptFor(sk.key.Public.(*rsa.PublicKey), op, op.DecrypterOpts(), sk.plaintext)
		if err != nil {
			t.Errorf("encrypting to the new key with %s: %v", op, err)
			return
		}
		sk.decOp, sk.ciphertext = op, ct
		return
	}
}

// decryptCase is one decryption that must succeed.
type decryptCase struct {
	name string
	opts crypto.DecrypterOpts
	// nilRand passes a nil io.Reader, which crypto/rsa accepts (it ignores
	// the reader when decrypting).
	nilRand bool
}

// decryptWith calls Decrypt, with rand.Reader unless c says nil.
func decryptWith(d crypto.Decrypter, c decryptCase, ct []byte) (pt []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decrypt panicked: %v", p)
		}
	}()
	var r io.Reader = rand.Reader
	if c.nilRand {
		r = nil
	}
	return d.Decrypt(r, ct, c.opts)
}

// checkDecrypt: ciphertexts made by crypto/rsa decrypt through the backend
// with every option form of op; tampered, truncated, mislabelled
// ciphertexts give the one vague ErrDecryption; PKCS#1 v1.5 with
// SessionKeyLen rejects implicitly.
func (s *suite) checkDecrypt(t tb, alg backend.Algorithm, op backend.Operation) {
	s.requireOp(t, op)
	sk := s.key(t, alg)
	pub := sk.key.Public.(*rsa.PublicKey)
	dec, err := s.backend().Decrypter(t.Context(), sk.label)
	if err != nil {
		t.Fatalf("Decrypter(%q): %v", sk.label, err)
	}
	if op == backend.RSAPKCS1v15 {
		s.checkPKCS1v15(t, dec, pub)
		return
	}

	h := op.Hash()
	label := []byte("keyplane conformance label")
	cases := []decryptCase{
		{name: "no label", opts: &rsa.OAEPOptions{Hash: h}},
		{name: "with a label", opts: &rsa.OAEPOptions{Hash: h, MGFHash: h, Label: label}},
		{name: "with a nil io.Reader", opts: &rsa.OAEPOptions{Hash: h}, nilRand: true},
	}
	if op == backend.RSAOAEPSHA256 && s.supports(backend.RSAOAEPSHA1) {
		// SHA-256 with MGF1-SHA1: Java's "OAEPWithSHA-256AndMGF1Padding".
		cases = append(cases, decryptCase{name: "MGF1 with SHA-1", opts: &rsa.OAEPOptions{Hash: h, MGFHash: crypto.SHA1, Label: label}})
	}
	noLabel := !s.caps.OAEPSupported(1, h, h)
	for _, c := range cases {
		if o := c.opts.(*rsa.OAEPOptions); !s.caps.OAEPSupported(len(o.Label), h, o.MGFHash) {
			// The capability report (Details["oaep"]) rules this form
			// out: it must be refused, not decrypted otherwise.
			_, err := decryptWith(dec, c, randomBytes(pub.Size()))
			wantErr(t, err, fmt.Sprintf("%s %s (OAEP %q reported)", op, c.name, s.caps.Details[backend.DetailOAEP]), backend.ErrUnsupported)
			continue
		}
		msg := randomBytes(32)
		ct, err := encryptFor(pub, op, c.opts, msg)
		if err != nil {
			t.Fatalf("%s: crypto/rsa encryption: %v", c.name, err)
		}
		got, err := decryptWith(dec, c, ct)
		if err != nil {
			t.Errorf("%s %s: Decrypt: %v", op, c.name, err)
			continue
		}
		if !bytes.Equal(got, msg) {
			t.Errorf("%s %s: Decrypt returned %d bytes that are not the plaintext", op, c.name, len(got))
		}
	}

	// What must fail, and fail vaguely.
	msg := randomBytes(32)
	opts := &rsa.OAEPOptions{Hash: h, Label: label}
	if noLabel {
		opts = &rsa.OAEPOptions{Hash: h}
	}
	ct, err := encryptFor(pub, op, opts, msg)
	if err != nil {
		t.Fatalf("crypto/rsa encryption: %v", err)
	}
	bad := map[string]struct {
		ct   []byte
		opts crypto.DecrypterOpts
	}{
		"tampered first byte":   {flip(ct, 0), opts},
		"tampered middle byte":  {flip(ct, len(ct)/2), opts},
		"tampered last byte":    {flip(ct, -1), opts},
		"wrong label":           {ct, &rsa.OAEPOptions{Hash: h, Label: []byte("another label")}},
		"label missing":         {ct, &rsa.OAEPOptions{Hash: h}},
		"truncated":             {ct[:len(ct)-1], opts},
		"one byte longer":       {append(append([]byte(nil), ct...), 0), opts},
		"empty":                 {nil, opts},
		"ciphertext 1":          {leftPad(big.NewInt(1).Bytes(), len(ct)), opts},
		"ciphertext of modulus": {leftPad(pub.N.Bytes(), len(ct)), opts},
	}
	if noLabel {
		// Without labels there is no wrong or missing one to try.
		delete(bad, "wrong label")
		delete(bad, "label missing")
	}
	for _, other := range []backend.Operation{backend.RSAOAEPSHA1, backend.RSAOAEPSHA256, backend.RSAOAEPSHA384, backend.RSAOAEPSHA512} {
		if other != op && s.supports(other) {
			bad["decrypted with "+string(other)] = struct {
				ct   []byte
				opts crypto.DecrypterOpts
			}{ct, &rsa.OAEPOptions{Hash: other.Hash(), Label: opts.Label}}
			break
		}
	}
	// Failures past the public length checks must all look the same.
	same := &sameMessages{what: string(op)}
	for name, c := range bad {
		got, err := dec.Decrypt(rand.Reader, c.ct, c.opts)
		if err == nil {
			t.Errorf("%s %s: Decrypt succeeded (%d bytes), want ErrDecryption", op, name, len(got))
			continue
		}
		wantDecryptionErr(t, err, fmt.Sprintf("%s %s", op, name))
		if strings.HasPrefix(name, "tampered") || strings.Contains(name, "label") || name == "ciphertext 1" {
			same.add(t, name, err)
		}
	}
}

// checkPKCS1v15 is checkDecrypt for PKCS#1 v1.5.
func (s *suite) checkPKCS1v15(t tb, dec crypto.Decrypter, pub *rsa.PublicKey) {
	const keyLen = 32
	msg := randomBytes(keyLen)
	ct, err := encryptFor(pub, backend.RSAPKCS1v15, nil, msg)
	if err != nil {
		t.Fatalf("crypto/rsa encryption: %v", err)
	}
	for _, c := range []decryptCase{
		{name: "nil options", opts: nil},
		{name: "&rsa.PKCS1v15DecryptOptions{}", opts: &rsa.PKCS1v15DecryptOptions{}},
		{name: "SessionKeyLen 32", opts: &rsa.PKCS1v15DecryptOptions{SessionKeyLen: keyLen}},
		{name: "a nil io.Reader", opts: nil, nilRand: true},
	} {
		got, err := decryptWith(dec, c, ct)
		if err != nil {
			t.Errorf("rsa-pkcs1v15 %s: Decrypt: %v", c.name, err)
			continue
		}
		if !bytes.Equal(got, msg) {
			t.Errorf("rsa-pkcs1v15 %s: Decrypt returned %d bytes that are not the plaintext", c.name, len(got))
		}
	}

	k := (pub.N.BitLen() + 7) / 8
	one := leftPad(big.NewInt(1).Bytes(), k) // decrypts to 0x00…01: bad padding, always
	nMinus1 := leftPad(new(big.Int).Sub(pub.N, big.NewInt(1)).Bytes(), k)

	// Errors, vague, and the same for both padding failures — unless the
	// backend reports implicit rejection: then every ciphertext of the
	// right length decrypts, and checkImplicitRejection checks how.
	bad := map[string][]byte{
		"truncated":       ct[:len(ct)-1],
		"one byte longer": append(append([]byte(nil), ct...), 0),
		"empty":           nil,
	}
	wrong := map[string][]byte{
		"ciphertext 1 (bad padding)":      one,
		"ciphertext n-1 (bad padding)":    nMinus1,
		"ciphertext of modulus (too big)": leftPad(pub.N.Bytes(), k),
	}
	if s.caps.PKCS1v15ImplicitRejection {
		wrong["tampered"] = flip(ct, len(ct)/2)
		s.checkImplicitRejection(t, dec, k, msg, wrong)
	} else {
		maps.Copy(bad, wrong)
	}
	same := &sameMessages{what: "rsa-pkcs1v15"}
	for name, c := range bad {
		for _, opts := range []crypto.DecrypterOpts{nil, &rsa.PKCS1v15DecryptOptions{}} {
			got, err := dec.Decrypt(rand.Reader, c, opts)
			what := fmt.Sprintf("rsa-pkcs1v15 %s, options %T", name, opts)
			if err == nil {
				t.Errorf("%s: Decrypt succeeded (%d bytes), want ErrDecryption", what, len(got))
				continue
			}
			wantDecryptionErr(t, err, what)
			if strings.Contains(name, "bad padding") {
				same.add(t, what, err)
			}
		}
	}

	// Implicit rejection: random bytes of the session key's length, no error.
	short, err := encryptFor(pub, backend.RSAPKCS1v15, nil, randomBytes(keyLen/2))
	if err != nil {
		t.Fatalf("crypto/rsa encryption: %v", err)
	}
	for name, c := range map[string][]byte{
		"bad padding":                 one,
		"tampered":                    flip(ct, len(ct)/2),
		"plaintext of another length": short,
	} {
		opts := &rsa.PKCS1v15DecryptOptions{SessionKeyLen: keyLen}
		got, err := dec.Decrypt(rand.Reader, c, opts)
		what := "rsa-pkcs1v15 SessionKeyLen 32, " + name
		if err != nil {
			t.Errorf("%s: Decrypt: %v; want %d random bytes and no error (implicit rejection)", what, err, keyLen)
			continue
		}
		if len(got) != keyLen {
			t.Errorf("%s: Decrypt returned %d bytes, want %d (implicit rejection)", what, len(got), keyLen)
		}
		if bytes.Equal(got, msg) {
			t.Errorf("%s: Decrypt returned the original session key from a damaged ciphertext", what)
		}
	}
}

// checkImplicitRejection checks a backend that reports
// PKCS1v15ImplicitRejection: a damaged ciphertext of the right length
// decrypts without an error, with or without PKCS1v15DecryptOptions, to a
// synthetic plaintext that fits the key (at most k-11 bytes), is not the
// message, is the same each time for the same ciphertext (a random answer
// would let an attacker tell rejection from success by asking twice), and
// differs between ciphertexts.
func (s *suite) checkImplicitRejection(t tb, dec crypto.Decrypter, k int, msg []byte, wrong map[string][]byte) {
	t.Helper()
	seen := map[string]string{}
	for name, c := range wrong {
		var first []byte
		for i, opts := range []crypto.DecrypterOpts{nil, &rsa.PKCS1v15DecryptOptions{}, nil} {
			what := fmt.Sprintf("rsa-pkcs1v15 %s, options %T (the backend reports implicit rejection)", name, opts)
			got, err := dec.Decrypt(rand.Reader, c, opts)
			if err != nil {
				t.Errorf("%s: Decrypt: %v; want a synthetic plaintext and no error", what, err)
				break
			}
			switch {
			case len(got) > k-11:
				t.Errorf("%s: %d bytes, more than a %d-byte key's PKCS#1 v1.5 plaintext can hold", what, len(got), k)
			case bytes.Equal(got, msg):
				t.Errorf("%s: Decrypt returned the real message from a damaged ciphertext", what)
			case i == 0:
				first = got
			case !bytes.Equal(got, first):
				t.Errorf("%s: a second decryption gave another plaintext (%d bytes, then %d); implicit rejection is deterministic", what, len(first), len(got))
			}
		}
		if first != nil {
			if other, ok := seen[string(first)]; ok && len(first) > 0 {
				t.Errorf("rsa-pkcs1v15 %s and %s decrypt to the same synthetic plaintext", name, other)
			}
			seen[string(first)] = name
		}
	}
}

func leftPad(b []byte, n int) []byte {
	if len(b) >= n {
		return b
	}
	out := make([]byte, n)
	copy(out[n-len(b):], b)
	return out
}
