//go:build cgo && !nopkcs11

package pkcs11

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// Tests of the codes with two meanings (CKR_FUNCTION_FAILED,
// CKR_GENERAL_ERROR): the backend asks the token before it concludes
// anything. opencryptoki 3.8 answers a tampered OAEP ciphertext, an OAEP
// label and an oversized PKCS#1 v1.5 ciphertext with CKR_FUNCTION_FAILED
// from a healthy token (see docs/backends/pkcs11.md, "Tokens").

// endingFaultAPI makes the next calls of Sign or Decrypt fail with a
// code after the real call ran, as a token that fails an operation ends
// it (a fault injected instead of the call would leave the operation
// active in the real token).
type endingFaultAPI struct {
	*spyAPI
	mu     sync.Mutex
	faults map[string][]uint
}

func openEndingFaults(t *testing.T) (*Backend, *endingFaultAPI) {
	t.Helper()
	var f *endingFaultAPI
	b, err := openWith(t.Context(), testURI(t, ""), func(p pkcs11API) pkcs11API {
		f = &endingFaultAPI{spyAPI: newSpy(p), faults: map[string][]uint{}}
		return f
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, f
}

// injectEnding makes the next calls of method (Sign or Decrypt) run and
// then return the codes, one per call.
func (f *endingFaultAPI) injectEnding(method string, codes ...uint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[method] = append(f.faults[method], codes...)
}

func (f *endingFaultAPI) fault(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.faults[method]; len(c) > 0 {
		f.faults[method] = c[1:]
		return pkcs11.Error(c[0])
	}
	return nil
}

func (f *endingFaultAPI) Sign(sh pkcs11.SessionHandle, message []byte) ([]byte, error) {
	out, err := f.spyAPI.Sign(sh, message)
	if ferr := f.fault("Sign"); ferr != nil {
		return nil, ferr
	}
	return out, err
}

func (f *endingFaultAPI) Decrypt(sh pkcs11.SessionHandle, cipher []byte) ([]byte, error) {
	out, err := f.spyAPI.Decrypt(sh, cipher)
	if ferr := f.fault("Decrypt"); ferr != nil {
		return nil, ferr
	}
	return out, err
}

// TestFaultFunctionFailedLiveToken: CKR_FUNCTION_FAILED from an operation
// on a token that answers C_GetSessionInfo and C_GetTokenInfo is the
// operation's failure: the error comes back, but the sessions stay, no
// recovery runs and the next operation costs only its own calls.
func TestFaultFunctionFailedLiveToken(t *testing.T) {
	for _, code := range []uint{pkcs11.CKR_FUNCTION_FAILED, pkcs11.CKR_GENERAL_ERROR} {
		t.Run(CodeName(code), func(t *testing.T) {
			b, spy := openEndingFaults(t)
			label := genKey(t, b, backend.ECP256)
			s, _ := b.Signer(t.Context(), label)
			sign(t, s, []byte("m"), crypto.SHA256)
			before := b.Stats()
			spy.snapshot()
			spy.injectEnding("Sign", code)
			digest := sha256.Sum256([]byte("m"))
			_, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
			if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "C_Sign: "+CodeName(code)) {
				t.Fatalf("Sign with %s injected: %v, want ErrUnavailable naming C_Sign", CodeName(code), err)
			}
			got := spy.snapshot()
			if got["GetSessionInfo"] != 1 || got["GetTokenInfo"] != 1 {
				t.Errorf("calls after %s: %v; want one C_GetSessionInfo and one C_GetTokenInfo asking the token", CodeName(code), got)
			}
			if after := b.Stats(); after.Open != before.Open || after.Opened != before.Opened {
				t.Errorf("pool before %+v after %+v: a live token's operation failure closed sessions", before, after)
			}
			sign(t, s, []byte("m"), crypto.SHA256)
			if got := spy.snapshot(); got["GetSlotList"] != 0 || got["OpenSession"] != 0 || got["FindObjectsInit"] != 0 {
				t.Errorf("calls of the next signature: %v; want no recovery (no slot search, no new session, no key search)", got)
			}
		})
	}
}

// TestFaultFunctionFailedDeadToken: when asking the token fails too, the
// token is in trouble: the pool is reset and the next call recovers.
func TestFaultFunctionFailedDeadToken(t *testing.T) {
	b, spy := openEndingFaults(t)
	label := genKey(t, b, backend.ECP256)
	s, _ := b.Signer(t.Context(), label)
	sign(t, s, []byte("m"), crypto.SHA256)
	spy.snapshot()
	spy.injectEnding("Sign", pkcs11.CKR_FUNCTION_FAILED)
	spy.inject("GetTokenInfo", pkcs11.CKR_DEVICE_ERROR)
	digest := sha256.Sum256([]byte("m"))
	_, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
	if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "CKR_FUNCTION_FAILED") || !strings.Contains(err.Error(), "CKR_DEVICE_ERROR") {
		t.Fatalf("Sign: %v, want ErrUnavailable naming both codes", err)
	}
	if st := b.Stats(); st.Open != 0 {
		t.Errorf("pool after a failed check: %+v, want every session closed", st)
	}
	sign(t, s, []byte("m"), crypto.SHA256)
	if got := spy.snapshot(); got["GetSlotList"] != 1 {
		t.Errorf("calls: %v; want the recovery's slot search", got)
	}
	// The session itself is gone: dropped and the operation retried, no
	// recovery of the token.
	spy.injectEnding("Sign", pkcs11.CKR_FUNCTION_FAILED)
	spy.inject("GetSessionInfo", pkcs11.CKR_SESSION_HANDLE_INVALID)
	sign(t, s, []byte("m"), crypto.SHA256)
	if got := spy.snapshot(); got["CloseSession"] != 1 || got["OpenSession"] != 1 || got["GetSlotList"] != 0 {
		t.Errorf("calls after a dead session: %v; want it closed, another opened, no slot search", got)
	}
}

// TestDecryptFunctionFailed: a C_Decrypt that fails with a code of two
// meanings on a live token is the bare ErrDecryption, and the session
// stays; on a dead token it is ErrUnavailable.
func TestDecryptFunctionFailed(t *testing.T) {
	b, spy := openEndingFaults(t)
	label := genKey(t, b, backend.RSA2048)
	d, err := b.Decrypter(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	opts := &rsa.OAEPOptions{Hash: crypto.SHA1}
	ct1, err := rsa.EncryptOAEP(crypto.SHA1.New(), rand.Reader, d.Public().(*rsa.PublicKey), []byte("m"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decrypt(nil, ct1, opts); err != nil {
		t.Fatal(err)
	}
	for _, code := range []uint{pkcs11.CKR_FUNCTION_FAILED, pkcs11.CKR_GENERAL_ERROR} {
		before := b.Stats()
		spy.injectEnding("Decrypt", code)
		if _, err := d.Decrypt(nil, ct1, opts); err != backend.ErrDecryption {
			t.Errorf("C_Decrypt %s on a live token: %v, want the bare ErrDecryption", CodeName(code), err)
		}
		if after := b.Stats(); after.Opened != before.Opened || after.Open != before.Open {
			t.Errorf("%s: pool before %+v after %+v", CodeName(code), before, after)
		}
	}
	spy.injectEnding("Decrypt", pkcs11.CKR_FUNCTION_FAILED)
	spy.inject("GetTokenInfo", pkcs11.CKR_TOKEN_NOT_PRESENT)
	if _, err := d.Decrypt(nil, ct1, opts); !errors.Is(err, backend.ErrUnavailable) || err == backend.ErrDecryption {
		t.Errorf("C_Decrypt CKR_FUNCTION_FAILED on a token that is gone: %v, want ErrUnavailable", err)
	}
	if pt, err := d.Decrypt(nil, ct1, opts); err != nil || string(pt) != "m" {
		t.Errorf("after the token came back: %q, %v", pt, err)
	}
}

// TestPoolSizeStatedLimits: ulMaxSessionCount caps the pool only when it
// states a real limit. CK_EFFECTIVELY_INFINITE (0) is no limit,
// CK_UNAVAILABLE_INFORMATION (~0) is unknown, and opencryptoki 3.8
// states ULONG_MAX−1, which once made a pool of one session.
func TestPoolSizeStatedLimits(t *testing.T) {
	def := max(16, 4*runtime.GOMAXPROCS(0))
	for _, c := range []struct {
		stated uint
		uri    int
		want   int
	}{
		{pkcs11.CK_EFFECTIVELY_INFINITE, 0, def},
		{pkcs11.CK_UNAVAILABLE_INFORMATION, 0, def},
		{^uint(0) - 1, 0, def},
		{1 << 40, 0, def},
		{uint(def) + 1, 0, def},
		{4, 0, 4},
		{1, 0, 1},
		{4, 3, 3},
		{^uint(0) - 1, 7, 7},
	} {
		b := &Backend{uri: &URI{MaxSessions: c.uri}, tokenMax: c.stated}
		if got := b.poolSize(); got != c.want {
			t.Errorf("ulMaxSessionCount %d, max-sessions %d: pool of %d, want %d", c.stated, c.uri, got, c.want)
		}
	}
}
