//go:build cgo && !nopkcs11

package pkcs11

// Fault tests with real parts: SoftHSM2 behind `p11-kit server` (a token
// over a Unix socket, as an application reaches a network HSM through its
// vendor module) killed and restarted under load, and a forced C_Logout
// from elsewhere in the process. Faults a real part cannot produce on
// demand are injected through the narrow pkcs11API, under concurrent load.

import (
	"crypto"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/miekg/pkcs11"
)

// p11kitSocket is the socket path the p11-kit client module is pointed at.
// The client reads P11_KIT_SERVER_ADDRESS when it is initialized and the
// module stays loaded for the life of the process, so the path is the same
// for every test in the process.
var p11kitSocket = filepath.Join(os.TempDir(), fmt.Sprintf("keyplane-p11kit-%d", os.Getpid()), "sock")

// startP11Kit starts a p11-kit server for the shared token on
// p11kitSocket.
func startP11Kit(t testing.TB) *testenv.P11KitServer {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p11kitSocket), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(p11kitSocket)) })
	return testenv.StartP11KitServer(t, token(t), p11kitSocket)
}

// TestP11KitServerRestart: under a signing load of 8 goroutines the token
// server is killed and started again, twice. Every signature returned
// verifies, every failure is ErrUnavailable, and signing works again within
// 2 s of the server's return, without any action from the caller.
func TestP11KitServerRestart(t *testing.T) {
	srv := startP11Kit(t)
	tok := srv.Tok
	uri := fmt.Sprintf("pkcs11:token=%s?module-path=%s&pin-source=file:%s", tok.Label, testenv.P11KitClientModule, pinFile(t, tok.PIN))
	var wrap func(pkcs11API) pkcs11API
	if os.Getenv("KEYPLANE_P11KIT_PARALLEL") != "1" {
		wrap = func(p pkcs11API) pkcs11API { return &serialAPI{api: p} }
	}
	b, err := openWith(t.Context(), uri, wrap)
	if err != nil {
		t.Fatalf("Open through p11-kit: %v", err)
	}
	defer b.Close()
	label := genKey(t, b, backend.ECP256)
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	load := testenv.StartSignLoad(s, 8, testenv.SignLoadOptions{})
	defer load.Halt(30 * time.Second)

	const rounds = 2
	var worst time.Duration
	for round := range rounds {
		if _, ok := load.WaitOK(time.Now(), 10*time.Second); !ok {
			t.Fatalf("round %d: no signature before the fault", round)
		}
		okBefore, unavBefore := load.OK.Load(), load.Unavailable.Load()
		srv.Kill()
		killed := time.Now()
		time.Sleep(300 * time.Millisecond) // the token is away
		okDown := load.OK.Load() - okBefore
		srv.Start()
		back := time.Now()
		at, ok := load.WaitOK(back, 10*time.Second)
		if !ok {
			t.Fatalf("round %d: no signature within 10s of the server's return (%d ok, %d unavailable, other: %v)",
				round, load.OK.Load(), load.Unavailable.Load(), load.Bad())
		}
		rec := at.Sub(back)
		worst = max(worst, rec)
		t.Logf("round %d: server killed; %d signatures completed while it was away (in flight at the kill), %d ErrUnavailable; signing again %v after the server's return (%v after the kill)",
			round, okDown, load.Unavailable.Load()-unavBefore, rec.Round(time.Millisecond), at.Sub(killed).Round(time.Millisecond))
		time.Sleep(200 * time.Millisecond) // steady again
	}
	load.Halt(30 * time.Second)
	t.Logf("total: %d signatures verified, %d ErrUnavailable, %d other outcomes; slowest recovery %v; pool %+v",
		load.OK.Load(), load.Unavailable.Load(), len(load.Bad()), worst.Round(time.Millisecond), b.Stats())
	if len(load.Bad()) > 0 {
		t.Errorf("outcomes other than a good signature or ErrUnavailable: %q", load.Bad())
	}
	if load.Unavailable.Load() == 0 {
		t.Errorf("no ErrUnavailable while the server was away: the fault was not seen")
	}
	if worst > 2*time.Second {
		t.Errorf("recovery took %v after the server's return, want ≤ 2s", worst)
	}
}

// TestP11KitOpenAfterServerLoss: the module stays loaded for the life of
// the process, so a backend opened after the token server went away and
// came back (while no backend was using the module) meets the module's
// dead connection first: Open must re-initialize the module, not fail.
func TestP11KitOpenAfterServerLoss(t *testing.T) {
	srv := startP11Kit(t)
	tok := srv.Tok
	uri := fmt.Sprintf("pkcs11:token=%s?module-path=%s&pin-source=file:%s", tok.Label, testenv.P11KitClientModule, pinFile(t, tok.PIN))
	b, err := Open(t.Context(), uri)
	if err != nil {
		t.Fatalf("Open through p11-kit: %v", err)
	}
	label := genKey(t, b, backend.ECP256)
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	sign(t, s, []byte("m"), crypto.SHA256)
	b.Close()
	srv.Kill()
	srv.Start()
	start := time.Now()
	b2, err := Open(t.Context(), uri)
	if err != nil {
		t.Fatalf("Open after the token server came back: %v", err)
	}
	defer b2.Close()
	s2, err := b2.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, s2.Public(), []byte("m"), sign(t, s2, []byte("m"), crypto.SHA256), crypto.SHA256)
	t.Logf("Open and a first signature after the server's return: %v", time.Since(start).Round(time.Millisecond))
}

// TestForcedLogout: another session of the process calls C_Logout, which
// logs every session of the application out of the token (two backends and
// a signing load here). Signing continues: one re-login per backend, and
// no failure other than, rarely, ErrUnavailable for an operation caught
// by the logout.
func TestForcedLogout(t *testing.T) {
	b, spy := openSpy(t, "")
	other := openTest(t, "")
	label := genKey(t, b, backend.ECP256)
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	os2, err := other.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	sign(t, s, []byte("m"), crypto.SHA256)
	sign(t, os2, []byte("m"), crypto.SHA256)

	// The second session: straight on the module, as other code in the
	// process (another library) would do.
	ctx := b.mod.ctx
	sh, err := ctx.OpenSession(b.slot, pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.CloseSession(sh)

	spy.snapshot()
	var unavErrs []string // the first ErrUnavailable errors
	var unavMu sync.Mutex
	load := testenv.StartSignLoad(s, 4, testenv.SignLoadOptions{OnUnavailable: func(err error) {
		unavMu.Lock()
		defer unavMu.Unlock()
		if len(unavErrs) < 3 {
			unavErrs = append(unavErrs, err.Error())
		}
	}})
	const logouts = 5
	for i := range logouts {
		time.Sleep(50 * time.Millisecond)
		if err := ctx.Logout(sh); err != nil {
			load.Halt(30 * time.Second)
			t.Fatalf("forced C_Logout %d: %v", i, err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	load.Halt(30 * time.Second)
	calls := spy.snapshot()
	t.Logf("%d forced logouts under 4 signing goroutines: %d signatures, %d ErrUnavailable %q, calls %v", logouts, load.OK.Load(), load.Unavailable.Load(), unavErrs, calls)
	// Almost always no signature fails. Rarely (about one run in 20 here)
	// an operation whose C_SignInit meets the logout after another
	// goroutine already logged in again gets SoftHSM2's
	// CKR_GENERAL_ERROR, which the backend cannot tell from a real
	// failure and returns as ErrUnavailable (retryable): allowed, at most
	// one per logout. Anything else fails the test.
	if len(load.Bad()) > 0 || load.Unavailable.Load() > logouts {
		t.Errorf("signing failed around a forced logout: %d unavailable %q, other: %q", load.Unavailable.Load(), unavErrs, load.Bad())
	}
	if calls["Login"] < 1 || calls["Login"] > 2*logouts {
		t.Errorf("C_Login %d times for %d logouts, want between 1 and %d", calls["Login"], logouts, 2*logouts)
	}
	// The other backend was logged out too; it carries on.
	sign(t, os2, []byte("m"), crypto.SHA256)
}

// deadSessionAPI makes one session dead, the way a token that lost it
// answers: every later call on it returns CKR_SESSION_HANDLE_INVALID.
type deadSessionAPI struct {
	*spyAPI
	dead     atomic.Uint64 // session handle + 1; 0 = none yet
	killNext atomic.Bool
	used     atomic.Int64 // calls made on the dead handle after it died
}

func (d *deadSessionAPI) check(sh pkcs11.SessionHandle) error {
	if d.killNext.CompareAndSwap(true, false) {
		d.dead.Store(uint64(sh) + 1)
	}
	if d.dead.Load() == uint64(sh)+1 {
		d.used.Add(1)
		return pkcs11.Error(pkcs11.CKR_SESSION_HANDLE_INVALID)
	}
	return nil
}

func (d *deadSessionAPI) SignInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	if err := d.check(sh); err != nil {
		return err
	}
	return d.spyAPI.SignInit(sh, m, o)
}

// TestFaultDeadSessionUnderLoad: a session that died is never handed out
// again, under 8 concurrent signers: the one call that met it is retried on
// another session and no signature fails.
func TestFaultDeadSessionUnderLoad(t *testing.T) {
	var d *deadSessionAPI
	b, err := openWith(t.Context(), testURI(t, ""), func(p pkcs11API) pkcs11API {
		d = &deadSessionAPI{spyAPI: newSpy(p)}
		return d
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	label := genKey(t, b, backend.ECP256)
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	load := testenv.StartSignLoad(s, 8, testenv.SignLoadOptions{})
	for deadline := time.Now().Add(10 * time.Second); load.OK.Load() < 200 || b.Stats().Open < min(8, b.Stats().Max); {
		if time.Now().After(deadline) {
			load.Halt(30 * time.Second)
			t.Fatalf("warm-up: %d signatures, pool %+v", load.OK.Load(), b.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	before := b.Stats()
	const kills = 3
	for range kills {
		d.killNext.Store(true)
		start := load.OK.Load()
		for load.OK.Load() < start+200 {
			time.Sleep(time.Millisecond)
		}
	}
	load.Halt(30 * time.Second)
	after := b.Stats()
	t.Logf("%d sessions killed under load: %d signatures, %d calls met a dead session, pool %+v → %+v", kills, load.OK.Load(), d.used.Load(), before, after)
	if len(load.Bad()) > 0 || load.Unavailable.Load() > 0 {
		t.Errorf("signatures failed: %d unavailable, %q", load.Unavailable.Load(), load.Bad())
	}
	if d.used.Load() != kills {
		t.Errorf("%d calls on dead sessions for %d deaths: a dead session was handed out again", d.used.Load(), kills)
	}
	// Each dead session was closed and dropped; the pool opened at most
	// one new session per dead one (none once the load had stopped).
	opened := int(after.Opened - before.Opened)
	if opened > kills || after.Open != before.Open-kills+opened || after.Open > after.Max {
		t.Errorf("pool %+v → %+v: want the %d dead sessions dropped and at most one new session each", before, after, kills)
	}
}

// TestFaultObjectHandleInvalid: CKR_OBJECT_HANDLE_INVALID makes the backend
// find the key once more and retry; a second one in a row is returned (no
// loop).
func TestFaultObjectHandleInvalid(t *testing.T) {
	b, spy := openSpy(t, "")
	label := genKey(t, b, backend.RSA2048)
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	sign(t, s, []byte("m"), crypto.SHA256)
	spy.snapshot()
	spy.inject("SignInit", pkcs11.CKR_OBJECT_HANDLE_INVALID)
	verify(t, s.Public(), []byte("m"), sign(t, s, []byte("m"), crypto.SHA256), crypto.SHA256)
	got := spy.snapshot()
	if got["FindObjectsInit"] == 0 || got["SignInit"] != 2 || got["Sign"] != 1 {
		t.Errorf("calls after CKR_OBJECT_HANDLE_INVALID: %v; want the key found again and one retry", got)
	}
	spy.inject("SignInit", pkcs11.CKR_OBJECT_HANDLE_INVALID, pkcs11.CKR_OBJECT_HANDLE_INVALID)
	digest := sha256.Sum256([]byte("m"))
	_, err = s.Sign(nil, digest[:], crypto.SHA256)
	if err == nil || codeOf(err) != pkcs11.CKR_OBJECT_HANDLE_INVALID {
		t.Errorf("two stale handles in a row: %v, want the CKR_OBJECT_HANDLE_INVALID error", err)
	}
	if got := spy.snapshot(); got["SignInit"] != 2 {
		t.Errorf("two stale handles in a row: C_SignInit %d times, want 2 (one retry)", got["SignInit"])
	}
	// The next signature finds the key again; after it, the handle is
	// cached: steady state.
	sign(t, s, []byte("m"), crypto.SHA256)
	spy.snapshot()
	sign(t, s, []byte("m"), crypto.SHA256)
	sign(t, s, []byte("m"), crypto.SHA256)
	if got := spy.snapshot(); fmt.Sprint(got) != fmt.Sprint(map[string]int{"Sign": 2, "SignInit": 2}) {
		t.Errorf("after recovery, two signatures made calls %v, want C_SignInit and C_Sign only", got)
	}
}

// TestFaultDeviceErrorUnderLoad: CKR_DEVICE_ERROR in the middle of 8
// concurrent signers: the callers that meet it get ErrUnavailable at once,
// nobody gets a wrong signature, and the backend recovers by itself.
func TestFaultDeviceErrorUnderLoad(t *testing.T) {
	b, spy := openSpy(t, "")
	label := genKey(t, b, backend.ECP256)
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	load := testenv.StartSignLoad(s, 8, testenv.SignLoadOptions{})
	var worst time.Duration
	const faults = 3
	for i := range faults {
		if _, ok := load.WaitOK(time.Now(), 10*time.Second); !ok {
			load.Halt(30 * time.Second)
			t.Fatalf("fault %d: no signature before it", i)
		}
		unav := load.Unavailable.Load()
		spy.inject("Sign", pkcs11.CKR_DEVICE_ERROR)
		injected := time.Now()
		for load.Unavailable.Load() == unav && time.Since(injected) < 10*time.Second {
			time.Sleep(100 * time.Microsecond)
		}
		at, ok := load.WaitOK(time.Now(), 10*time.Second)
		if !ok {
			load.Halt(30 * time.Second)
			t.Fatalf("fault %d: no recovery within 10s", i)
		}
		worst = max(worst, at.Sub(injected))
	}
	load.Halt(30 * time.Second)
	t.Logf("%d CKR_DEVICE_ERROR injected under 8 signers: %d signatures, %d ErrUnavailable, slowest recovery %v", faults, load.OK.Load(), load.Unavailable.Load(), worst)
	if len(load.Bad()) > 0 {
		t.Errorf("outcomes other than a good signature or ErrUnavailable: %q", load.Bad())
	}
	if load.Unavailable.Load() < faults {
		t.Errorf("%d ErrUnavailable for %d faults", load.Unavailable.Load(), faults)
	}
	if worst > 2*time.Second {
		t.Errorf("recovery took %v", worst)
	}
}

// serialAPI lets one call at a time into the module. p11-kit-client 0.24
// (Debian 12) can deadlock when its server dies while several threads
// have calls in flight: the threads waiting for their replies sleep on a
// condition variable in the client's RPC layer that nothing signals once
// the connection is gone (gdb: every caller in pthread_cond_wait inside
// p11-kit-client.so, no socket left open) — about one run in five of
// TestP11KitServerRestart with 4 sessions busy. No library can take a
// thread back from a C call that never returns, so the restart test
// serializes the calls into that module (the pool still serves 8
// goroutines); KEYPLANE_P11KIT_PARALLEL=1 runs it without, to show the
// defect. Initialize and Finalize are not locked here: module.reinit
// already holds every other call off while it runs them.
type serialAPI struct {
	api pkcs11API
	mu  sync.Mutex
}

func (l *serialAPI) Initialize(opts ...pkcs11.InitializeOption) error {
	return l.api.Initialize(opts...)
}

func (l *serialAPI) Finalize() error { return l.api.Finalize() }

func (l *serialAPI) GetInfo() (pkcs11.Info, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.GetInfo()
}

func (l *serialAPI) GetSlotList(tokenPresent bool) ([]uint, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.GetSlotList(tokenPresent)
}

func (l *serialAPI) GetSlotInfo(slotID uint) (pkcs11.SlotInfo, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.GetSlotInfo(slotID)
}

func (l *serialAPI) GetTokenInfo(slotID uint) (pkcs11.TokenInfo, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.GetTokenInfo(slotID)
}

func (l *serialAPI) GetMechanismList(slotID uint) ([]*pkcs11.Mechanism, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.GetMechanismList(slotID)
}

func (l *serialAPI) GetMechanismInfo(slotID uint, m []*pkcs11.Mechanism) (pkcs11.MechanismInfo, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.GetMechanismInfo(slotID, m)
}

func (l *serialAPI) OpenSession(slotID uint, flags uint) (pkcs11.SessionHandle, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.OpenSession(slotID, flags)
}

func (l *serialAPI) CloseSession(sh pkcs11.SessionHandle) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.CloseSession(sh)
}

func (l *serialAPI) GetSessionInfo(sh pkcs11.SessionHandle) (pkcs11.SessionInfo, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.GetSessionInfo(sh)
}

func (l *serialAPI) Login(sh pkcs11.SessionHandle, userType uint, pin string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.Login(sh, userType, pin)
}

func (l *serialAPI) CreateObject(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.CreateObject(sh, temp)
}

func (l *serialAPI) DestroyObject(sh pkcs11.SessionHandle, oh pkcs11.ObjectHandle) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.DestroyObject(sh, oh)
}

func (l *serialAPI) GetAttributeValue(sh pkcs11.SessionHandle, o pkcs11.ObjectHandle, a []*pkcs11.Attribute) ([]*pkcs11.Attribute, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.GetAttributeValue(sh, o, a)
}

func (l *serialAPI) FindObjectsInit(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.FindObjectsInit(sh, temp)
}

func (l *serialAPI) FindObjects(sh pkcs11.SessionHandle, max int) ([]pkcs11.ObjectHandle, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.FindObjects(sh, max)
}

func (l *serialAPI) FindObjectsFinal(sh pkcs11.SessionHandle) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.FindObjectsFinal(sh)
}

func (l *serialAPI) GenerateKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, temp []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.GenerateKey(sh, m, temp)
}

func (l *serialAPI) GenerateKeyPair(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, public, private []*pkcs11.Attribute) (pkcs11.ObjectHandle, pkcs11.ObjectHandle, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.GenerateKeyPair(sh, m, public, private)
}

func (l *serialAPI) SignInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.SignInit(sh, m, o)
}

func (l *serialAPI) Sign(sh pkcs11.SessionHandle, message []byte) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.Sign(sh, message)
}

func (l *serialAPI) EncryptInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.EncryptInit(sh, m, o)
}

func (l *serialAPI) Encrypt(sh pkcs11.SessionHandle, message []byte) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.Encrypt(sh, message)
}

func (l *serialAPI) EncryptSized(sh pkcs11.SessionHandle, message []byte, outLen int) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.EncryptSized(sh, message, outLen)
}

func (l *serialAPI) DecryptInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.DecryptInit(sh, m, o)
}

func (l *serialAPI) Decrypt(sh pkcs11.SessionHandle, cipher []byte) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.Decrypt(sh, cipher)
}

func (l *serialAPI) DecryptFinal(sh pkcs11.SessionHandle) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.DecryptFinal(sh)
}

func (l *serialAPI) SignKeepingParams(sh pkcs11.SessionHandle, m *pkcs11.Mechanism, o pkcs11.ObjectHandle, message []byte) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api.SignKeepingParams(sh, m, o, message)
}
