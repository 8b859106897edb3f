//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

func init() {
	backend.Register("pkcs11", func(ctx context.Context, uri string) (backend.Backend, error) {
		b, err := Open(ctx, uri) // ParseURI, then OpenConfig
		if err != nil {
			return nil, err // not a typed nil
		}
		return b, nil
	})
}

// Backend is a PKCS#11 token opened from a URI. It implements
// backend.Backend, backend.AEADBackend, backend.FernetBackend,
// backend.Importer and backend.KeyAgreement.
type Backend struct {
	uri    *URI
	mod    *module
	p      pkcs11API
	pin    backend.SecretFunc // nil: no PIN (pinFunc)
	hasPIN bool

	info      pkcs11.Info
	mechs     map[uint]pkcs11.MechanismInfo
	tokenMax  uint // ulMaxSessionCount as the token states it
	oaepOff   bool // oaep-fallback=off
	oaepState sync.Map
	rsaProbe  sync.Once    // probeRSA
	pkcs1v15  atomic.Int32 // pkcs1v15Mode, learned by probeRSA

	// tokenSetsPublicUsage: the token refused a signing-only key pair
	// whose public template set CKA_VERIFY and CKA_ENCRYPT and took it
	// without them (generateKeyPair); later pairs leave them out.
	tokenSetsPublicUsage atomic.Bool
	curveRefused         sync.Map     // backend.Algorithm → true: the token's keys on it are unusable (checkECPoint)
	curveProbe           sync.Once    // probeCurves
	importProbe          atomic.Int32 // an importState (probeImport)
	importProbeMu        sync.Mutex
	agreement            agreementProbe // probeAgreement (agreementprobe.go)

	pool *SessionPool
	keys keyCache

	callTimeout time.Duration // call-timeout, or DefaultCallTimeout (deadline.go)

	creatingMu sync.Mutex
	creating   map[string]bool // labels being generated or imported now

	modGen atomic.Uint64 // module generation the sessions belong to
	broken atomic.Bool   // a device-class fault happened; recover before the next use
	// loginGen counts fresh logins: a search that found nothing while a
	// login happened may have run logged out, and is retried.
	loginGen atomic.Uint64

	recoverMu sync.Mutex // one recovery at a time
	reloginMu sync.Mutex // one re-login at a time (relogin)

	mu        sync.Mutex // guards the fields below; serializes login
	slot      uint
	token     pkcs11.TokenInfo
	pinFailed error // a wrong PIN: never try it again

	closed atomic.Bool
}

var (
	_ backend.Backend       = (*Backend)(nil)
	_ backend.AEADBackend   = (*Backend)(nil)
	_ backend.FernetBackend = (*Backend)(nil)
	_ backend.Importer      = (*Backend)(nil)
	_ backend.KeyAgreement  = (*Backend)(nil)
)

// Open opens the token that uri names (see ParseURI). It loads and
// initializes the module (once per process), finds the one token matching
// the URI's path attributes, reads its mechanisms, opens a first session and
// logs in when the URI gives a PIN. A token that matches nothing, or more
// than one token, is an error listing what is there.
//
// Open is ParseURI then OpenConfig; a program that supplies the PIN in
// code (Config.PIN) calls those two itself.
func Open(ctx context.Context, uri string) (*Backend, error) {
	return openWith(ctx, uri, nil)
}

// OpenConfig opens the token c describes: a URI from ParseURI, with
// Config.PIN set when the PIN comes from code. See Open. c is not kept:
// changing it afterwards changes nothing.
func OpenConfig(ctx context.Context, c *Config) (*Backend, error) {
	if c == nil {
		return nil, fmt.Errorf("pkcs11: nil Config: %w", backend.ErrInvalidInput)
	}
	return openParsed(ctx, c, nil)
}

// openWith is Open with a seam for tests: wrap, when non-nil, receives the
// module's context (a guardedCtx over its *pkcs11.Ctx, as a pkcs11API) and
// returns what the backend will call instead — a wrapper that counts calls or injects CKR codes. The
// module's first C_Initialize happens before wrap sees it.
func openWith(ctx context.Context, uri string, wrap func(pkcs11API) pkcs11API) (*Backend, error) {
	c, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	return openParsed(ctx, c, wrap)
}

// openParsed is OpenConfig with openWith's seam (also for a URI parsed
// already).
func openParsed(ctx context.Context, c *Config, wrap func(pkcs11API) pkcs11API) (*Backend, error) {
	path, err := c.Module()
	if err != nil {
		return nil, err
	}
	pin, err := c.pinFunc()
	if err != nil {
		return nil, err
	}
	u := new(URI)
	*u = *c
	u.PINValue, u.PIN = "", nil // the backend keeps pin, nothing else of the PIN
	mod, err := loadModule(path, u.ModuleInitArgs)
	if err != nil {
		return nil, err
	}
	var p pkcs11API = guardedCtx{mod, mod.ctx}
	if wrap != nil {
		p = wrap(p)
	}
	b := &Backend{uri: u, mod: mod, p: p, pin: pin, hasPIN: pin != nil, oaepOff: u.OAEPFallback == "off",
		callTimeout: u.CallTimeout}
	if b.callTimeout == 0 {
		b.callTimeout = DefaultCallTimeout
	}
	// Every step that calls into the module runs under the call timeout
	// and ctx (deadline.go): a hung module fails Open, it does not hang it.
	if err := b.run(ctx, b.startOrReinit); err != nil {
		return nil, err
	}
	b.pool = newSessionPool(b.poolSize(), b.openSession, b.closeSession)
	// Open (and log in on) a first session now, so that a wrong PIN or an
	// absent token shows at Open.
	err = b.run(ctx, func() error {
		s, err := b.pool.get(ctx)
		if err != nil {
			return err
		}
		b.pool.put(s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// startOrReinit is start, after a re-initialization of the module if the
// first try finds the token gone.
func (b *Backend) startOrReinit() error {
	gen := b.mod.generation()
	b.modGen.Store(gen)
	err := b.start()
	if err == nil || !tokenGone(codeOf(err)) {
		return err
	}
	// The library may have lost its token or server since another
	// backend loaded it (a restarted p11-kit server, a network HSM):
	// initialize it again, once.
	if ok, rerr := b.mod.reinit(b.p, gen); rerr != nil || !ok {
		return err
	}
	b.modGen.Store(b.mod.generation())
	return b.start()
}

// start reads the library, finds the token and reads its mechanisms.
func (b *Backend) start() (err error) {
	if b.info, err = b.p.GetInfo(); err != nil {
		return fmt.Errorf("module %s: %w", b.mod.path, ckErr("C_GetInfo", err))
	}
	if err := b.matchLibrary(); err != nil {
		return err
	}
	if b.slot, b.token, err = b.findSlot(); err != nil {
		return err
	}
	b.tokenMax = b.token.MaxSessionCount
	return b.readMechanisms()
}

// poolSize: max-sessions, else the token's stated limit, else 4×GOMAXPROCS
// (at least 16). Sessions are opened lazily, so the default only caps how
// many operations run at once; below the caller's concurrency, goroutines
// wait for a session on every operation (measured: 3–4% more CPU per
// signature with 8 signers on 4 sessions). SoftHSM2 states no limit; real
// HSMs often allow a few dozen sessions per application.
func (b *Backend) poolSize() int {
	n := b.uri.MaxSessions
	if n == 0 {
		n = max(16, 4*runtime.GOMAXPROCS(0))
		// ulMaxSessionCount: CK_EFFECTIVELY_INFINITE (0) is no limit,
		// CK_UNAVAILABLE_INFORMATION (~0) unknown; a stated limit above
		// the default (opencryptoki 3.8 states ULONG_MAX−1) changes
		// nothing. Compared as unsigned: int(ULONG_MAX−1) is −2.
		if m := b.tokenMax; m != pkcs11.CK_EFFECTIVELY_INFINITE && m != pkcs11.CK_UNAVAILABLE_INFORMATION && m < uint(n) {
			n = int(m)
		}
	}
	return max(n, 1)
}

// Stats returns the session pool's counters, for tests and benchmarks.
func (b *Backend) Stats() PoolStats { return b.pool.Stats() }

// SessionPoolStats reports the session pool for monitoring
// (backend.SessionPoolReporter; package observe makes gauges of it).
func (b *Backend) SessionPoolStats() backend.SessionPoolStats {
	s := b.pool.Stats()
	return backend.SessionPoolStats{Max: s.Max, Open: s.Open, Idle: s.Idle, Waiting: s.Waiting}
}

// URI returns the URI the backend was opened with, without the PIN and
// without module-init-args (which may hold a secret).
func (b *Backend) URI() *URI {
	u := *b.uri
	u.PINValue, u.ModuleInitArgs, u.PIN = "", "", nil
	return &u
}

// Close closes the backend's sessions. The module stays loaded and
// initialized for the rest of the process. Close is idempotent; other calls
// after Close return backend.ErrClosed. On a hung module (see
// HungModuleError) Close leaves the sessions to the module and returns
// that error; sessions busy in an operation are closed when it returns.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	b.keys.clear()
	err := b.run(context.Background(), func() error { b.pool.reset(); return nil })
	if err != nil {
		return fmt.Errorf("pkcs11: close: sessions not closed: %w", err)
	}
	return nil
}

// reserveLabel claims a label for a key being made, so that two calls in
// this process cannot both pass the "label taken?" check; it returns a
// release function, or ErrAlreadyExists. (Two processes can still race:
// PKCS#11 has no unique constraint on CKA_LABEL.)
func (b *Backend) reserveLabel(label string) (func(), error) {
	b.creatingMu.Lock()
	defer b.creatingMu.Unlock()
	if b.creating[label] {
		return nil, fmt.Errorf("pkcs11: label %q: another key with this label is being made: %w", label, backend.ErrAlreadyExists)
	}
	if b.creating == nil {
		b.creating = map[string]bool{}
	}
	b.creating[label] = true
	return func() {
		b.creatingMu.Lock()
		defer b.creatingMu.Unlock()
		delete(b.creating, label)
	}, nil
}

func (b *Backend) loginRequired() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.token.Flags&pkcs11.CKF_LOGIN_REQUIRED != 0
}

func (b *Backend) checkOpen() error {
	if b.closed.Load() {
		return fmt.Errorf("pkcs11: %w", backend.ErrClosed)
	}
	return nil
}

func (b *Backend) matchLibrary() error {
	u, i := b.uri, b.info
	if u.LibraryManufacturer != "" && u.LibraryManufacturer != i.ManufacturerID ||
		u.LibraryDescription != "" && u.LibraryDescription != i.LibraryDescription ||
		u.LibraryVersion != "" && u.LibraryVersion != fmt.Sprintf("%d.%d", i.LibraryVersion.Major, i.LibraryVersion.Minor) &&
			u.LibraryVersion != fmt.Sprint(i.LibraryVersion.Major) {
		return fmt.Errorf("pkcs11: module %s is %q by %q version %d.%d, not what the URI's library-* attributes ask for: %w",
			b.mod.path, i.LibraryDescription, i.ManufacturerID, i.LibraryVersion.Major, i.LibraryVersion.Minor, backend.ErrNotFound)
	}
	return nil
}

// findSlot finds the one slot whose token matches the URI.
func (b *Backend) findSlot() (uint, pkcs11.TokenInfo, error) {
	slots, err := b.p.GetSlotList(true)
	if err != nil {
		return 0, pkcs11.TokenInfo{}, fmt.Errorf("module %s: %w", b.mod.path, ckErr("C_GetSlotList", err))
	}
	u := b.uri
	var found []uint
	var tokens []pkcs11.TokenInfo
	var seen []string
	for _, id := range slots {
		if u.SlotID != nil && *u.SlotID != id {
			continue
		}
		ti, err := b.p.GetTokenInfo(id)
		if err != nil || ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			continue // a slot whose token went away meanwhile, or a blank token
		}
		seen = append(seen, fmt.Sprintf("slot %d token %q serial %q", id, ti.Label, ti.SerialNumber))
		if u.Token != "" && u.Token != ti.Label || u.Serial != "" && u.Serial != ti.SerialNumber ||
			u.Manufacturer != "" && u.Manufacturer != ti.ManufacturerID || u.Model != "" && u.Model != ti.Model {
			continue
		}
		if u.SlotDescription != "" || u.SlotManufacturer != "" {
			si, err := b.p.GetSlotInfo(id)
			if err != nil || u.SlotDescription != "" && u.SlotDescription != si.SlotDescription ||
				u.SlotManufacturer != "" && u.SlotManufacturer != si.ManufacturerID {
				continue
			}
		}
		found = append(found, id)
		tokens = append(tokens, ti)
	}
	switch len(found) {
	case 1:
		return found[0], tokens[0], nil
	case 0:
		there := "no token is present"
		if len(seen) > 0 {
			there = "present: " + strings.Join(seen, "; ")
		}
		return 0, pkcs11.TokenInfo{}, fmt.Errorf("pkcs11: no token in module %s matches %s (%s): %w", b.mod.path, u.selector(), there, backend.ErrUnavailable)
	}
	return 0, pkcs11.TokenInfo{}, fmt.Errorf("pkcs11: %d tokens in module %s match %s (add token=, serial= or slot-id=): %w", len(found), b.mod.path, u.selector(), backend.ErrInvalidInput)
}

// selector describes the token attributes of a URI, for errors.
func (u *URI) selector() string {
	v := URI{Token: u.Token, Manufacturer: u.Manufacturer, Serial: u.Serial, Model: u.Model,
		SlotID: u.SlotID, SlotDescription: u.SlotDescription, SlotManufacturer: u.SlotManufacturer}
	if s := v.String(); s != scheme {
		return s
	}
	return "any token"
}

// openSession opens a serial read-write session and logs in on it when the
// session is not yet in a user state (the token's login is shared by every
// session of the application; it is lost when the last one closes).
func (b *Backend) openSession() (pkcs11.SessionHandle, error) {
	b.mu.Lock()
	slot := b.slot
	b.mu.Unlock()
	h, err := b.p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		err = ckErr("C_OpenSession", err)
		if tokenGone(codeOf(err)) {
			b.markBroken()
		}
		return 0, err
	}
	if !b.hasPIN {
		return h, nil
	}
	info, err := b.p.GetSessionInfo(h)
	if err != nil {
		b.closeSession(h)
		return 0, ckErr("C_GetSessionInfo", err)
	}
	if info.State == pkcs11.CKS_RW_USER_FUNCTIONS || info.State == pkcs11.CKS_RO_USER_FUNCTIONS {
		return h, nil
	}
	if err := b.login(h); err != nil {
		b.closeSession(h)
		return 0, err
	}
	return h, nil
}

func (b *Backend) closeSession(h pkcs11.SessionHandle) { _ = b.p.CloseSession(h) }

// login logs the user in, once: it checks the token's PIN flags first and
// never tries a PIN that the token called incorrect.
func (b *Backend) login(h pkcs11.SessionHandle) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pinFailed != nil {
		return b.pinFailed
	}
	if !b.hasPIN {
		return fmt.Errorf("pkcs11: token %q requires a login and the URI gives no PIN (add pin-source=file:/path, or set Config.PIN in code): %w", b.token.Label, backend.ErrAuthentication)
	}
	ti, err := b.p.GetTokenInfo(b.slot)
	if err != nil {
		return ckErr("C_GetTokenInfo", err)
	}
	switch {
	case ti.Flags&pkcs11.CKF_USER_PIN_LOCKED != 0:
		b.pinFailed = fmt.Errorf("pkcs11: token %q: the user PIN is locked (CKF_USER_PIN_LOCKED); unlock it with the SO PIN: %w", ti.Label, backend.ErrAuthentication)
		return b.pinFailed
	case ti.Flags&pkcs11.CKF_USER_PIN_FINAL_TRY != 0:
		return fmt.Errorf("pkcs11: token %q: one PIN attempt left before the token locks (CKF_USER_PIN_FINAL_TRY); refusing to log in — check the PIN and log in once with a trusted tool: %w", ti.Label, backend.ErrAuthentication)
	}
	pin, err := b.readPIN(ti.Label)
	if err != nil {
		return err
	}
	err = b.loginWith(h, pkcs11.CKU_USER, pin)
	switch codeOf(err) {
	case pkcs11.CKR_OK:
		// A fresh login: the token may have invalidated the handles of
		// private objects while logged out (SoftHSM2 does).
		b.keys.stale()
		b.loginGen.Add(1)
		return nil
	case pkcs11.CKR_USER_ALREADY_LOGGED_IN:
		return nil
	case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE, pkcs11.CKR_PIN_EXPIRED, pkcs11.CKR_PIN_LOCKED:
		b.pinFailed = fmt.Errorf("token %q: %w (it will not be tried again)", ti.Label, ckErr("C_Login", err))
		return b.pinFailed
	}
	return ckErr("C_Login", err)
}

// markBroken records a device-class fault: every idle session is closed,
// busy ones close when they come back, cached handles are forgotten, and
// the next use recovers first.
func (b *Backend) markBroken() {
	b.broken.Store(true)
	b.pool.reset()
	b.keys.stale()
}

// recover makes a broken backend usable again: it finds the token's slot
// again (it may have a new ID), and re-initializes the module when the
// library lost the token or its state (another backend on the module may
// already have done so). It returns ErrUnavailable while the token is
// still away.
func (b *Backend) recover() error {
	if !b.recoverMu.TryLock() {
		// Another goroutine is recovering: say so at once rather than
		// queue behind a token that may stay away.
		return fmt.Errorf("pkcs11: token %q: recovering from a fault: %w", b.tokenLabel(), backend.ErrUnavailable)
	}
	defer b.recoverMu.Unlock()
	if !b.broken.Load() && b.modGen.Load() == b.mod.generation() {
		return nil
	}
	b.modGen.Store(b.mod.generation())
	slot, token, err := b.findSlot()
	if err != nil {
		ok, rerr := b.mod.reinit(b.p, b.modGen.Load())
		if rerr != nil {
			return rerr
		}
		if ok {
			b.modGen.Store(b.mod.generation())
			slot, token, err = b.findSlot()
		}
	}
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.slot, b.token = slot, token
	b.mu.Unlock()
	b.pool.reset()
	b.keys.stale()
	b.broken.Store(false)
	return nil
}

// withSession runs fn on a pooled session, with the fault handling of the
// backend:
//
//   - CKR_SESSION_HANDLE_INVALID/CKR_SESSION_CLOSED: the session is closed
//     and dropped (never pooled again) and fn runs once more on another;
//   - CKR_USER_NOT_LOGGED_IN: a re-login, then fn runs once more (at most
//     maxRelogins times: the login can be dropped again, by another
//     C_Logout in the process, while an operation recovers from the first);
//   - CKR_OBJECT_HANDLE_INVALID/CKR_KEY_HANDLE_INVALID: the cached handles
//     are forgotten and fn runs once more (it finds the object again);
//   - device, token and library faults: the session is dropped, the pool
//     reset, and the error (ErrUnavailable) returned at once; the next call
//     recovers first;
//   - CKR_FUNCTION_FAILED/CKR_GENERAL_ERROR, which mean either an
//     operation that failed or a token in trouble: diagnose asks the token
//     which, and the case above that its answer names applies; when the
//     token is well, the session stays and the error comes back as an
//     *operationFailed.
//
// It runs on a worker under the call timeout and ctx (Backend.run): when
// withSession returns an error, fn may still be running, so the caller
// reads what fn wrote only after a nil error.
func (b *Backend) withSession(ctx context.Context, fn func(s *session) error) error {
	if err := b.checkOpen(); err != nil {
		return err
	}
	return b.runSession(ctx, fn)
}

// sessionOp is withSession's work, on the worker.
func (b *Backend) sessionOp(ctx context.Context, fn func(s *session) error) error {
	var reopened, refound bool
	relogins := 0
	gen := b.loginGen.Load()
	for {
		if err := b.recoverIfNeeded(); err != nil {
			return err
		}
		s, err := b.pool.get(ctx)
		if err != nil {
			if c := codeOf(err); sessionGone(c) && !reopened {
				reopened = true
				continue
			}
			return err
		}
		err = fn(s)
		code := codeOf(err)
		gone, healthy := tokenGone(code), false
		if twoMeanings(code) {
			// Ask the token before concluding anything (diagnose).
			var check error
			code, gone, check = b.diagnose(s, code, gen)
			err = withCheck(err, check)
			healthy = twoMeanings(code)
		}
		switch {
		case err == nil:
			b.pool.put(s)
			return nil
		case sessionGone(code), code == pkcs11.CKR_OPERATION_ACTIVE:
			b.pool.drop(s)
			if reopened {
				return err
			}
			reopened = true
		case code == pkcs11.CKR_USER_NOT_LOGGED_IN:
			if relogins == maxRelogins || !b.hasPIN {
				b.pool.put(s)
				return err
			}
			relogins++
			lerr := b.relogin(s.h, gen)
			gen = b.loginGen.Load()
			b.pool.put(s)
			if lerr != nil {
				return lerr
			}
		case handleStale(code):
			b.pool.put(s)
			b.keys.stale()
			if refound {
				return err
			}
			refound = true
		case gone:
			b.pool.drop(s)
			b.markBroken()
			return err
		case healthy:
			b.pool.put(s)
			return &operationFailed{err}
		default:
			b.pool.put(s)
			return err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("pkcs11: %w: %w", err, backend.ErrUnavailable)
		}
	}
}

// maxRelogins bounds the re-logins of one operation. A wrong PIN is never
// retried whatever this says: login remembers it.
const maxRelogins = 2

// relogin logs in again after an operation found the login lost, unless
// another goroutine logged in since seen was read: the goroutines that
// meet one lost login (another application's C_Logout, a token timeout)
// send the PIN once between them, not once each.
func (b *Backend) relogin(h pkcs11.SessionHandle, seen uint64) error {
	b.reloginMu.Lock()
	defer b.reloginMu.Unlock()
	if b.loginGen.Load() != seen {
		return nil
	}
	return b.login(h)
}

func (b *Backend) recoverIfNeeded() error {
	if !b.broken.Load() && b.modGen.Load() == b.mod.generation() {
		return nil
	}
	return b.recover()
}
