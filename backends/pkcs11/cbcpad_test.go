//go:build cgo && !nopkcs11

package pkcs11

import (
	"bytes"
	"crypto/rand"
	"sync"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// lenientPadAPI makes CKM_AES_CBC_PAD decryption behave as opencryptoki
// 3.8's does: the padding is removed when it is good, and the whole last
// block comes back when it is bad. (It decrypts with CKM_AES_CBC and
// removes good padding itself.) noCBC also drops CKM_AES_CBC from the
// mechanism list.
type lenientPadAPI struct {
	*spyAPI
	noCBC   bool
	mu      sync.Mutex
	lenient map[pkcs11.SessionHandle]bool
}

func (l *lenientPadAPI) GetMechanismList(slot uint) ([]*pkcs11.Mechanism, error) {
	ms, err := l.spyAPI.GetMechanismList(slot)
	if !l.noCBC {
		return ms, err
	}
	var out []*pkcs11.Mechanism
	for _, m := range ms {
		if m.Mechanism != pkcs11.CKM_AES_CBC {
			out = append(out, m)
		}
	}
	return out, err
}

func (l *lenientPadAPI) DecryptInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	l.mu.Lock()
	l.lenient[sh] = !l.noCBC && m[0].Mechanism == pkcs11.CKM_AES_CBC_PAD
	l.mu.Unlock()
	if l.lenient[sh] {
		return l.spyAPI.DecryptInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_CBC, m[0].Parameter)}, o)
	}
	return l.spyAPI.DecryptInit(sh, m, o)
}

func (l *lenientPadAPI) Decrypt(sh pkcs11.SessionHandle, cipher []byte) ([]byte, error) {
	out, err := l.spyAPI.Decrypt(sh, cipher)
	l.mu.Lock()
	lenient := l.lenient[sh]
	l.mu.Unlock()
	if err != nil || !lenient || len(out) == 0 {
		return out, err
	}
	n := int(out[len(out)-1])
	if n >= 1 && n <= 16 && bytes.Equal(out[len(out)-n:], bytes.Repeat([]byte{byte(n)}, n)) {
		return out[:len(out)-n], nil
	}
	return out, nil
}

// TestFernetDecryptBadPadding: DecryptCBC fails with ErrDecryption on bad
// padding even where the token's CKM_AES_CBC_PAD lets it through, and
// works on a token without CKM_AES_CBC.
func TestFernetDecryptBadPadding(t *testing.T) {
	for _, noCBC := range []bool{false, true} {
		b, err := openWith(t.Context(), testURI(t, ""), func(p pkcs11API) pkcs11API {
			return &lenientPadAPI{spyAPI: newSpy(p), noCBC: noCBC, lenient: map[pkcs11.SessionHandle]bool{}}
		})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		label := genKey(t, b, backend.Fernet)
		fk, err := b.Fernet(t.Context(), label)
		if err != nil {
			t.Fatal(err)
		}
		iv := make([]byte, 16)
		rand.Read(iv)
		for _, n := range []int{0, 15, 16, 31} {
			pt := bytes.Repeat([]byte{0x5a}, n)
			ct, err := fk.EncryptCBC(t.Context(), iv, pt)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := fk.DecryptCBC(t.Context(), iv, ct); err != nil || !bytes.Equal(got, pt) {
				t.Errorf("no CKM_AES_CBC %v: %d bytes back: %d bytes, %v", noCBC, n, len(got), err)
			}
		}
		ct, _ := fk.EncryptCBC(t.Context(), iv, make([]byte, 15)) // padding 0x01
		for _, pad := range []byte{0x00, 0x11, 0xfe, 0x02} {
			bad := bytes.Clone(iv)
			bad[15] ^= 0x01 ^ pad
			if got, err := fk.DecryptCBC(t.Context(), bad, ct); err != backend.ErrDecryption {
				t.Errorf("no CKM_AES_CBC %v: padding 0x%02x: %d bytes, %v; want ErrDecryption", noCBC, pad, len(got), err)
			}
		}
	}
}

// TestFernetDecryptCBCRefused: a key that does not allow CKM_AES_CBC
// (CKR_MECHANISM_INVALID at C_DecryptInit) is decrypted with
// CKM_AES_CBC_PAD.
func TestFernetDecryptCBCRefused(t *testing.T) {
	b, spy := openSpy(t, "")
	label := genKey(t, b, backend.Fernet)
	fk, err := b.Fernet(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	iv := make([]byte, 16)
	rand.Read(iv)
	ct, err := fk.EncryptCBC(t.Context(), iv, []byte("fifteen bytes!!"))
	if err != nil {
		t.Fatal(err)
	}
	spy.snapshot()
	spy.inject("DecryptInit", pkcs11.CKR_MECHANISM_INVALID)
	if got, err := fk.DecryptCBC(t.Context(), iv, ct); err != nil || string(got) != "fifteen bytes!!" {
		t.Errorf("DecryptCBC after CKM_AES_CBC was refused: %q, %v", got, err)
	}
	if got := spy.snapshot(); got["DecryptInit"] != 2 || got["Decrypt"] != 1 {
		t.Errorf("calls %v; want C_DecryptInit twice (CKM_AES_CBC refused, then CKM_AES_CBC_PAD) and one C_Decrypt", got)
	}
}
