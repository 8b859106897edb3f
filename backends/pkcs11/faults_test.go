//go:build cgo && !nopkcs11

package pkcs11

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

func TestWrongPIN(t *testing.T) {
	tok := token(t)
	var spy *spyAPI
	uri := fmt.Sprintf("pkcs11:token=%s?module-path=%s&pin-source=file:%s", otherToken, tok.Module, pinFile(t, "9999"))
	_, err := openWith(t.Context(), uri, func(p pkcs11API) pkcs11API { spy = newSpy(p); return spy })
	if !errors.Is(err, backend.ErrAuthentication) || !strings.Contains(err.Error(), "CKR_PIN_INCORRECT") {
		t.Fatalf("Open with a wrong PIN: %v, want ErrAuthentication with CKR_PIN_INCORRECT", err)
	}
	if strings.Contains(err.Error(), "9999") {
		t.Errorf("error shows the PIN: %v", err)
	}
	if n := spy.snapshot()["Login"]; n != 1 {
		t.Errorf("C_Login called %d times, want exactly 1", n)
	}
	// Through the registry too, with pin-value: still no PIN in the error.
	_, err = backend.Open(t.Context(), fmt.Sprintf("pkcs11:token=%s?module-path=%s&pin-value=86421", otherToken, tok.Module))
	if !errors.Is(err, backend.ErrAuthentication) || strings.Contains(err.Error(), "86421") {
		t.Errorf("backend.Open with a wrong pin-value: %v", err)
	}
}

func TestWrongPINNotRetried(t *testing.T) {
	// A backend whose PIN went bad after open (the token's PIN changed)
	// never tries it twice: simulate the token's answer by injection.
	b, spy := openSpy(t, "")
	label := genKey(t, b, backend.ECP256)
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	spy.snapshot()
	spy.inject("SignInit", pkcs11.CKR_USER_NOT_LOGGED_IN)
	spy.inject("Login", pkcs11.CKR_PIN_INCORRECT)
	digest := sha256.Sum256([]byte("x"))
	if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, backend.ErrAuthentication) {
		t.Fatalf("Sign after a rejected re-login: %v, want ErrAuthentication", err)
	}
	if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
		t.Fatalf("Sign while still logged in: %v", err) // the token's login stayed
	}
	spy.inject("SignInit", pkcs11.CKR_USER_NOT_LOGGED_IN)
	if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, backend.ErrAuthentication) {
		t.Fatalf("Sign after the PIN failed once: %v, want ErrAuthentication", err)
	}
	if n := spy.snapshot()["Login"]; n != 1 {
		t.Errorf("C_Login called %d times, want 1 (a wrong PIN is never retried)", n)
	}
}

func TestPINFlags(t *testing.T) {
	tok := token(t)
	for _, flag := range []uint{pkcs11.CKF_USER_PIN_FINAL_TRY, pkcs11.CKF_USER_PIN_LOCKED} {
		var spy *spyAPI
		uri := fmt.Sprintf("pkcs11:token=%s?module-path=%s&pin-value=%s", otherToken, tok.Module, otherPIN)
		_, err := openWith(t.Context(), uri, func(p pkcs11API) pkcs11API { spy = newSpy(p); return flagSpy{spy, flag} })
		if !errors.Is(err, backend.ErrAuthentication) {
			t.Errorf("flag 0x%x: %v, want ErrAuthentication", flag, err)
		}
		if n := spy.snapshot()["Login"]; n != 0 {
			t.Errorf("flag 0x%x: C_Login called %d times, want 0", flag, n)
		}
	}
}

// flagSpy adds a flag to what C_GetTokenInfo reports.
type flagSpy struct {
	*spyAPI
	flag uint
}

func (f flagSpy) GetTokenInfo(slot uint) (pkcs11.TokenInfo, error) {
	ti, err := f.spyAPI.GetTokenInfo(slot)
	ti.Flags |= f.flag
	return ti, err
}

func TestNoPIN(t *testing.T) {
	tok := token(t)
	b, err := Open(t.Context(), fmt.Sprintf("pkcs11:token=%s?module-path=%s", otherToken, tok.Module))
	if err != nil {
		t.Fatalf("Open without a PIN: %v", err)
	}
	defer b.Close()
	if _, err := b.Capabilities(t.Context()); err != nil {
		t.Errorf("Capabilities without a PIN: %v", err)
	}
	if _, err := b.Keys(t.Context()); !errors.Is(err, backend.ErrAuthentication) {
		t.Errorf("Keys without a PIN: %v, want ErrAuthentication", err)
	}
	if _, err := b.Signer(t.Context(), "anything"); !errors.Is(err, backend.ErrAuthentication) {
		t.Errorf("Signer without a PIN: %v, want ErrAuthentication", err)
	}
	if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: "nopin", Algorithm: backend.ECP256}); !errors.Is(err, backend.ErrAuthentication) {
		t.Errorf("GenerateKey without a PIN: %v, want ErrAuthentication", err)
	}
}

func TestOpenErrors(t *testing.T) {
	tok := token(t)
	_, err := Open(t.Context(), "pkcs11:token=x?module-path=/nonexistent/libhsm.so&pin-value=1")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/libhsm.so") {
		t.Errorf("missing module: %v, want an error naming the path", err)
	}
	notLib := pinFile(t, "not a library")
	_, err = Open(t.Context(), "pkcs11:token=x?module-path="+notLib)
	if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), notLib) {
		t.Errorf("not a library: %v", err)
	}
	_, err = Open(t.Context(), fmt.Sprintf("pkcs11:token=nosuch?module-path=%s", tok.Module))
	if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), `"keyplane"`) {
		t.Errorf("unknown token: %v, want ErrUnavailable listing the tokens present", err)
	}
	_, err = Open(t.Context(), fmt.Sprintf("pkcs11:?module-path=%s", tok.Module))
	if !errors.Is(err, backend.ErrInvalidInput) || !strings.Contains(err.Error(), fmt.Sprintf("%d tokens", 2+len(wrapTokenLabels))) { // TestMain's tokens
		t.Errorf("ambiguous token: %v, want ErrInvalidInput", err)
	}
	b := openTest(t, "")
	b.Close()
	if _, err := b.Keys(t.Context()); !errors.Is(err, backend.ErrClosed) {
		t.Errorf("Keys after Close: %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	e := ckErr("C_Sign", pkcs11.Error(pkcs11.CKR_DEVICE_ERROR))
	if e.Error() != "pkcs11: C_Sign: CKR_DEVICE_ERROR" || !errors.Is(e, backend.ErrUnavailable) {
		t.Errorf("%v", e)
	}
	for code, want := range map[uint]error{
		pkcs11.CKR_PIN_INCORRECT:              backend.ErrAuthentication,
		pkcs11.CKR_PIN_LOCKED:                 backend.ErrAuthentication,
		pkcs11.CKR_PIN_EXPIRED:                backend.ErrAuthentication,
		pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED: backend.ErrUnsupported,
		pkcs11.CKR_MECHANISM_INVALID:          backend.ErrUnsupported,
		pkcs11.CKR_MECHANISM_PARAM_INVALID:    backend.ErrUnsupported,
		pkcs11.CKR_KEY_TYPE_INCONSISTENT:      backend.ErrUnsupported,
		pkcs11.CKR_SESSION_HANDLE_INVALID:     backend.ErrUnavailable,
		pkcs11.CKR_DEVICE_REMOVED:             backend.ErrUnavailable,
		pkcs11.CKR_TOKEN_NOT_PRESENT:          backend.ErrUnavailable,
		pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED:   backend.ErrUnavailable,
		pkcs11.CKR_DATA_LEN_RANGE:             backend.ErrInvalidInput,
		pkcs11.CKR_ARGUMENTS_BAD:              backend.ErrInvalidInput,
		0x80000001:                            backend.ErrUnavailable,
	} {
		if got := Sentinel(code); got != want {
			t.Errorf("Sentinel(%s) = %v, want %v", CodeName(code), got, want)
		}
	}
	if CodeName(0x80000001) != "CKR_0x80000001" {
		t.Errorf("vendor code name %q", CodeName(0x80000001))
	}
}

// TestCallCount: at steady state a signature costs C_SignInit and C_Sign
// (one Sign here is miekg's two C_Sign calls) and nothing else.
func TestCallCount(t *testing.T) {
	b, spy := openSpy(t, "")
	for _, alg := range []backend.Algorithm{backend.ECP256, backend.RSA2048} {
		label := genKey(t, b, alg)
		s, err := b.Signer(t.Context(), label)
		if err != nil {
			t.Fatal(err)
		}
		digest := sha256.Sum256([]byte("count"))
		sign(t, s, []byte("warm-up"), crypto.SHA256)
		spy.snapshot()
		const n = 50
		for range n {
			if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
				t.Fatal(err)
			}
		}
		got := spy.snapshot()
		want := map[string]int{"SignInit": n, "Sign": n}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %d signatures made calls %v, want %v", alg, n, got, want)
		}
	}
	if st := b.Stats(); st.Open != 1 || st.Opened != 1 {
		t.Errorf("pool after sequential use: %+v, want one session", st)
	}
}

func TestFaultSessionInvalid(t *testing.T) {
	b, spy := openSpy(t, "")
	label := genKey(t, b, backend.ECP256)
	s, _ := b.Signer(t.Context(), label)
	before := b.Stats()
	spy.snapshot()
	spy.inject("Sign", pkcs11.CKR_SESSION_HANDLE_INVALID)
	sig := sign(t, s, []byte("m"), crypto.SHA256)
	verify(t, s.Public(), []byte("m"), sig, crypto.SHA256)
	got := spy.snapshot()
	if got["CloseSession"] != 1 || got["OpenSession"] != 1 || got["SignInit"] != 2 {
		t.Errorf("calls after CKR_SESSION_HANDLE_INVALID: %v; want the session closed, a new one opened, the signature retried", got)
	}
	if after := b.Stats(); after.Opened != before.Opened+1 || after.Open != before.Open {
		t.Errorf("pool before %+v after %+v", before, after)
	}
	// Twice in a row: the error comes back (one retry only).
	spy.inject("Sign", pkcs11.CKR_SESSION_CLOSED, pkcs11.CKR_SESSION_CLOSED)
	digest := sha256.Sum256([]byte("m"))
	if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("two session faults: %v, want ErrUnavailable", err)
	}
}

func TestFaultNotLoggedIn(t *testing.T) {
	b, spy := openSpy(t, "")
	label := genKey(t, b, backend.ECP256)
	s, _ := b.Signer(t.Context(), label)
	spy.snapshot()
	spy.inject("SignInit", pkcs11.CKR_USER_NOT_LOGGED_IN)
	sign(t, s, []byte("m"), crypto.SHA256)
	if got := spy.snapshot(); got["Login"] != 1 || got["SignInit"] != 2 {
		t.Errorf("calls after CKR_USER_NOT_LOGGED_IN: %v; want one re-login and a retry", got)
	}
	// Again and again: maxRelogins re-logins, then the error.
	spy.inject("SignInit", pkcs11.CKR_USER_NOT_LOGGED_IN, pkcs11.CKR_USER_NOT_LOGGED_IN, pkcs11.CKR_USER_NOT_LOGGED_IN)
	digest := sha256.Sum256([]byte("m"))
	if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, backend.ErrAuthentication) {
		t.Errorf("not logged in twice: %v, want ErrAuthentication", err)
	}
	if got := spy.snapshot(); got["Login"] != maxRelogins || got["SignInit"] != maxRelogins+1 {
		t.Errorf("calls %v, want %d C_Login and %d C_SignInit", got, maxRelogins, maxRelogins+1)
	}
}

func TestFaultStaleHandle(t *testing.T) {
	b, spy := openSpy(t, "")
	label := genKey(t, b, backend.ECP256)
	s, _ := b.Signer(t.Context(), label)
	spy.snapshot()
	spy.inject("SignInit", pkcs11.CKR_KEY_HANDLE_INVALID)
	sign(t, s, []byte("m"), crypto.SHA256)
	if got := spy.snapshot(); got["FindObjectsInit"] == 0 || got["SignInit"] != 2 {
		t.Errorf("calls after CKR_KEY_HANDLE_INVALID: %v; want a re-find and a retry", got)
	}
	// A key deleted behind the signer's back: not found.
	if err := b.DeleteKey(t.Context(), label); err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("m"))
	if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Sign with a deleted key: %v, want ErrNotFound", err)
	}
}

func TestFaultDeviceError(t *testing.T) {
	b, spy := openSpy(t, "")
	label := genKey(t, b, backend.ECP256)
	s, _ := b.Signer(t.Context(), label)
	sign(t, s, []byte("m"), crypto.SHA256)
	spy.snapshot()
	spy.inject("Sign", pkcs11.CKR_DEVICE_ERROR)
	digest := sha256.Sum256([]byte("m"))
	_, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
	if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "pkcs11: C_Sign: CKR_DEVICE_ERROR") {
		t.Fatalf("CKR_DEVICE_ERROR: %v, want ErrUnavailable naming C_Sign", err)
	}
	if got := spy.snapshot(); got["SignInit"] != 1 {
		t.Errorf("device error retried: %v", got)
	}
	if st := b.Stats(); st.Open != 0 {
		t.Errorf("pool after a device error: %+v, want every session closed", st)
	}
	// The token is still there: the next call recovers by itself.
	sign(t, s, []byte("m"), crypto.SHA256)
	got := spy.snapshot()
	if got["GetSlotList"] != 1 || got["OpenSession"] != 1 || got["FindObjectsInit"] == 0 {
		t.Errorf("recovery calls: %v; want the slot found again, a session opened, the key re-found", got)
	}
	// The token stays away: ErrUnavailable each time, quickly.
	spy.inject("Sign", pkcs11.CKR_DEVICE_REMOVED)
	spy.inject("GetSlotList", pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_DEVICE_REMOVED)
	for range 2 {
		if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, backend.ErrUnavailable) {
			t.Errorf("token away: %v, want ErrUnavailable", err)
		}
	}
	spy.mu.Lock()
	spy.faults = map[string][]uint{}
	spy.mu.Unlock()
	sign(t, s, []byte("m"), crypto.SHA256)
}

// TestFaultReinitialize: the library lost its state (C_Finalize from
// elsewhere in the process): the backend initializes it again, logs in
// again and carries on.
func TestFaultReinitialize(t *testing.T) {
	b, spy := openSpy(t, "")
	label := genKey(t, b, backend.ECP256)
	s, _ := b.Signer(t.Context(), label)
	sign(t, s, []byte("m"), crypto.SHA256)
	other := openTest(t, "")
	otherLabel := genKey(t, other, backend.ECP256)
	os, _ := other.Signer(t.Context(), otherLabel)
	time.Sleep(reinitInterval) // another test may have re-initialized just now
	// Really finalize the module, as a careless library might.
	if err := b.mod.ctx.Finalize(); err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("m"))
	_, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
	if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "CKR_CRYPTOKI_NOT_INITIALIZED") {
		t.Fatalf("after C_Finalize: %v, want ErrUnavailable with CKR_CRYPTOKI_NOT_INITIALIZED", err)
	}
	spy.snapshot()
	sign(t, s, []byte("m"), crypto.SHA256)
	got := spy.snapshot()
	if got["Initialize"] != 1 || got["Login"] != 1 {
		t.Errorf("recovery calls: %v; want one C_Initialize and one C_Login", got)
	}
	// The other backend on the same module recovers too (its first call
	// may still see its dead session).
	if _, err := os.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil && !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("other backend: %v", err)
	}
	sign(t, os, []byte("m"), crypto.SHA256)
}
