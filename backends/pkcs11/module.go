//go:build cgo && !nopkcs11

package pkcs11

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// module is one loaded PKCS#11 library. Each module path is loaded and
// C_Initialize'd once per process and shared by every backend opened on
// it. It is never finalized or unloaded: other code in the process (a
// second backend, crypto11) may be using the same library, and C_Finalize
// would end their sessions too.
type module struct {
	path  string
	ctx   *pkcs11.Ctx
	funcs *functionList // the module's function list, for signKept and encryptSized; nil if not found
	args  initArgs      // module-init-args, given again to every C_Initialize

	gen atomic.Uint64 // incremented by every re-initialization

	calls sync.RWMutex // held for reading by every call (guardedCtx), for writing by reinit

	mu         sync.Mutex // serializes re-initialization
	lastReinit time.Time  // throttles re-initialization

	// objects is held for writing by the calls that create or destroy
	// token objects (C_CreateObject, C_DestroyObject, C_GenerateKey,
	// C_GenerateKeyPair) and for reading by C_FindObjectsInit, across every
	// backend on the module (guardedCtx). SoftHSM2 2.6.1's file object
	// store re-reads the token directory when a search starts, and a search
	// that meets a half-written object file makes a concurrent creation fail:
	// 8 goroutines generating, looking up and deleting keys while others
	// sign got CKR_GENERAL_ERROR or CKR_TEMPLATE_INCONSISTENT from
	// C_GenerateKeyPair in 3 to 10 of 120 generations. Key management is
	// rare next to signing, which takes neither lock and stays parallel.
	objects sync.RWMutex

	// abandoned: operations whose callers stopped waiting while they were
	// inside the module (wedge.go).
	abandoned abandonedCalls
}

var (
	modulesMu sync.Mutex
	modules   = map[string]*module{}
)

// loadModule returns the module at path, loading and initializing it on
// first use with initArgs (module-init-args, "" for none) as
// CK_C_INITIALIZE_ARGS.pReserved. CKR_CRYPTOKI_ALREADY_INITIALIZED
// (someone else in the process initialized it) is fine. A module is
// initialized once per process, so asking for it again with other init
// args is an error (ErrInvalidInput) rather than silently the first
// configuration; the error never shows the args.
func loadModule(path, initArgs string) (*module, error) {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	if m := modules[path]; m != nil {
		if m.args.s != initArgs {
			return nil, fmt.Errorf("pkcs11: module %s is already initialized in this process with %s; a module is initialized once per process, so every URI naming it must give the same module-init-args: %w",
				path, initArgsNote(m.args.s), backend.ErrInvalidInput)
		}
		return m, nil
	}
	ctx := pkcs11.New(path)
	if ctx == nil {
		return nil, fmt.Errorf("pkcs11: cannot load module %s (not a PKCS#11 library, or a library it needs is missing): %w", path, backend.ErrUnavailable)
	}
	args := newInitArgs(initArgs)
	if err := ctx.Initialize(args.options()...); err != nil && codeOf(err) != pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED {
		ctx.Destroy()
		args.free()
		return nil, fmt.Errorf("module %s: %w%s", path, ckErr("C_Initialize", err), initArgsHint(codeOf(err), initArgs))
	}
	m := &module{path: path, ctx: ctx, args: args, funcs: functionListOf(ctx)}
	modules[path] = m
	return m, nil
}

// generation returns the module's initialization generation.
func (m *module) generation() uint64 { return m.gen.Load() }

// reinitInterval is the least time between two re-initializations.
const reinitInterval = 500 * time.Millisecond

// reinitWait bounds how long a re-initialization waits for calls in
// progress to return.
const reinitWait = 2 * time.Second

// lockWithin takes l for writing within d, or reports false.
func lockWithin(l *sync.RWMutex, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !l.TryLock() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// reinit finalizes and initializes the module again through p (the
// caller's possibly wrapped context), unless another backend already did
// since generation seen, or one happened less than reinitInterval ago. It
// reports whether the module is now at a newer generation than seen.
func (m *module) reinit(p pkcs11API, seen uint64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gen.Load() != seen {
		return true, nil
	}
	if time.Since(m.lastReinit) < reinitInterval {
		return false, nil
	}
	m.lastReinit = time.Now()
	// No other goroutine may be inside the library meanwhile. A call that
	// never returns (a client module stuck on a dead server) must not
	// block recovery for ever: wait a bounded time, then try again later.
	if !lockWithin(&m.calls, reinitWait) {
		return false, nil
	}
	defer m.calls.Unlock()
	_ = p.Finalize() // CKR_CRYPTOKI_NOT_INITIALIZED is expected here
	if err := p.Initialize(m.args.options()...); err != nil && codeOf(err) != pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED {
		return false, fmt.Errorf("module %s: %w", m.path, ckErr("C_Initialize", err))
	}
	m.gen.Add(1)
	return true, nil
}
