package conformance

import (
	"crypto"
	"crypto/rand"
	_ "crypto/sha1" // OAEP with SHA-1 and the hashes of every signature
	_ "crypto/sha256"
	_ "crypto/sha512"
	"errors"
	"fmt"
	"strings"

	"github.com/keyplane/keyplane/backend"
)

var sentinelNames = map[error]string{
	backend.ErrNotFound:       "ErrNotFound",
	backend.ErrAlreadyExists:  "ErrAlreadyExists",
	backend.ErrUnsupported:    "ErrUnsupported",
	backend.ErrInvalidInput:   "ErrInvalidInput",
	backend.ErrDecryption:     "ErrDecryption",
	backend.ErrAuthentication: "ErrAuthentication",
	backend.ErrUnavailable:    "ErrUnavailable",
	backend.ErrClosed:         "ErrClosed",
	backend.ErrKeyRetired:     "ErrKeyRetired",
}

func kindName(err error) string {
	if k := backend.Kind(err); k != nil {
		return sentinelNames[k]
	}
	return "no sentinel"
}

func kindNames(kinds []error) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = sentinelNames[k]
	}
	return strings.Join(s, " or ")
}

// wantErr checks that err wraps one of kinds, and reports it otherwise.
// It returns whether err was as wanted.
func wantErr(t tb, err error, what string, kinds ...error) bool {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %s", what, kindNames(kinds))
		return false
	}
	for _, k := range kinds {
		if errors.Is(err, k) {
			return true
		}
	}
	t.Errorf("%s: got %q (%s), want %s", what, err, kindName(err), kindNames(kinds))
	return false
}

// wantDecryptionErr checks that err is the one vague decryption error and
// tells nothing more: no PKCS#11 return code, no word about padding.
func wantDecryptionErr(t tb, err error, what string) {
	t.Helper()
	if !wantErr(t, err, what, backend.ErrDecryption) {
		return
	}
	msg := strings.ToLower(err.Error())
	for _, leak := range []string{"ckr_", "padding"} {
		if strings.Contains(msg, leak) {
			t.Errorf("%s: decryption error %q says %q; it must stay vague (no return codes or padding details)", what, err, leak)
		}
	}
}

// randomBytes returns n bytes from crypto/rand.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return b
}

// digest hashes msg with h.
func digest(h crypto.Hash, msg []byte) []byte {
	hh := h.New()
	hh.Write(msg)
	return hh.Sum(nil)
}

// equalPublic reports whether two public keys are the same key.
func equalPublic(a, b crypto.PublicKey) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if e, ok := a.(interface{ Equal(crypto.PublicKey) bool }); ok {
		return e.Equal(b)
	}
	return sameEncapsulationKey(a, b)
}

// flip returns a copy of b with byte i (from the end when negative)
// changed.
func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	if i < 0 {
		i += len(c)
	}
	c[i] ^= 0x5a
	return c
}

// customSignerOpts is an options type no backend knows.
type customSignerOpts struct{}

func (customSignerOpts) HashFunc() crypto.Hash { return crypto.SHA256 }

// customDecrypterOpts is an options type no backend knows.
type customDecrypterOpts struct{}

func describeKey(k *backend.Key) string {
	if k == nil {
		return "<nil key>"
	}
	return fmt.Sprintf("%q (%s, id %s)", k.Label, k.Algorithm, k.IDHex())
}

// sameMessages collects the error messages of failures an attacker must not
// tell apart (bad padding, a wrong label, a tampered tag), and reports when
// they differ: a message that varies with the cause is an oracle.
type sameMessages struct {
	what  string
	first string
	from  string
}

func (m *sameMessages) add(t tb, name string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if m.from == "" {
		m.first, m.from = err.Error(), name
		return
	}
	if err.Error() != m.first {
		t.Errorf("%s: the error for %s (%q) differs from the error for %s (%q); failures must be indistinguishable",
			m.what, name, err, m.from, m.first)
	}
}
