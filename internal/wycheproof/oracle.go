package wycheproof

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// decryptionError checks that err is the one vague decryption error and
// says nothing more (issue 6 §4: no oracle).
func decryptionError(err error) error {
	if !errors.Is(err, backend.ErrDecryption) {
		return fmt.Errorf("error %q is not backend.ErrDecryption", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "CKR_") || strings.Contains(strings.ToLower(msg), "padding") {
		return fmt.Errorf("decryption error %q carries a CKR code or padding detail", msg)
	}
	return nil
}

// failureTexts collects the texts of one file's decryption errors: they
// must all be the same.
type failureTexts map[string]int

func (f failureTexts) add(err error) { f[err.Error()]++ }

func (f failureTexts) check(t *testing.T, file string) {
	t.Helper()
	if len(f) <= 1 {
		return
	}
	texts := make([]string, 0, len(f))
	for s, n := range f {
		texts = append(texts, fmt.Sprintf("%q (%d×)", s, n))
	}
	sort.Strings(texts)
	t.Errorf("%s: decryption failures read differently (an oracle): %s", file, strings.Join(texts, ", "))
}

// judgeDecrypt scores one decryption of a vector whose expected plaintext
// is want: a pass is counted in st, a failure reported on t.
func judgeDecrypt(t *testing.T, st *Stats, c *Case, want, got []byte, err error, texts failureTexts) {
	t.Helper()
	if err != nil {
		if problem := decryptionError(err); problem != nil {
			t.Errorf("tcId %d (%s): %v", c.TcID, c.Comment, problem)
			return
		}
		texts.add(err)
	}
	switch c.Result {
	case Valid:
		if err != nil {
			t.Errorf("tcId %d (%s): valid ciphertext refused: %v", c.TcID, c.Comment, err)
			return
		}
		if string(got) != string(want) {
			t.Errorf("tcId %d (%s): decrypted %x, want %x", c.TcID, c.Comment, got, want)
			return
		}
	case Invalid:
		if err == nil {
			t.Errorf("tcId %d (%s): invalid ciphertext decrypted to %d bytes, want ErrDecryption", c.TcID, c.Comment, len(got))
			return
		}
	case Acceptable:
		if err == nil && string(got) != string(want) {
			t.Errorf("tcId %d (%s): acceptable ciphertext decrypted to %x, want %x or ErrDecryption", c.TcID, c.Comment, got, want)
			return
		}
		st.Acceptable++
	}
	st.Passed++
}
