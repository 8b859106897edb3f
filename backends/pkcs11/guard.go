//go:build cgo && !nopkcs11

package pkcs11

import "github.com/miekg/pkcs11"

// guardedCtx is the module's *pkcs11.Ctx as the backend calls it: every
// call holds the module's call lock for reading, so that a
// re-initialization (C_Finalize and C_Initialize, under the write lock)
// never runs while another goroutine is inside the library — PKCS#11 leaves
// that undefined, and p11-kit's client module aborts the process. Calls
// that create, destroy or search for token objects also take the module's
// object lock (see module.objects). Its own
// Initialize and Finalize take no lock: module.reinit holds the write lock
// around them.
type guardedCtx struct {
	m   *module
	ctx *pkcs11.Ctx
}

var _ pkcs11API = guardedCtx{}

func (g guardedCtx) Initialize(opts ...pkcs11.InitializeOption) error {
	return g.ctx.Initialize(opts...)
}

func (g guardedCtx) Finalize() error { return g.ctx.Finalize() }

func (g guardedCtx) GetInfo() (pkcs11.Info, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.GetInfo()
}

func (g guardedCtx) GetSlotList(tokenPresent bool) ([]uint, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.GetSlotList(tokenPresent)
}

func (g guardedCtx) GetSlotInfo(slotID uint) (pkcs11.SlotInfo, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.GetSlotInfo(slotID)
}

func (g guardedCtx) GetTokenInfo(slotID uint) (pkcs11.TokenInfo, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.GetTokenInfo(slotID)
}

func (g guardedCtx) GetMechanismList(slotID uint) ([]*pkcs11.Mechanism, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.GetMechanismList(slotID)
}

func (g guardedCtx) GetMechanismInfo(slotID uint, m []*pkcs11.Mechanism) (pkcs11.MechanismInfo, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.GetMechanismInfo(slotID, m)
}

func (g guardedCtx) OpenSession(slotID uint, flags uint) (pkcs11.SessionHandle, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.OpenSession(slotID, flags)
}

func (g guardedCtx) CloseSession(sh pkcs11.SessionHandle) error {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.CloseSession(sh)
}

func (g guardedCtx) GetSessionInfo(sh pkcs11.SessionHandle) (pkcs11.SessionInfo, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.GetSessionInfo(sh)
}

func (g guardedCtx) Login(sh pkcs11.SessionHandle, userType uint, pin string) error {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.Login(sh, userType, pin)
}

func (g guardedCtx) CreateObject(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	g.m.objects.Lock()
	defer g.m.objects.Unlock()
	return g.ctx.CreateObject(sh, temp)
}

func (g guardedCtx) DestroyObject(sh pkcs11.SessionHandle, oh pkcs11.ObjectHandle) error {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	g.m.objects.Lock()
	defer g.m.objects.Unlock()
	return g.ctx.DestroyObject(sh, oh)
}

func (g guardedCtx) GetAttributeValue(sh pkcs11.SessionHandle, o pkcs11.ObjectHandle, a []*pkcs11.Attribute) ([]*pkcs11.Attribute, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.GetAttributeValue(sh, o, a)
}

func (g guardedCtx) FindObjectsInit(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) error {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	g.m.objects.RLock()
	defer g.m.objects.RUnlock()
	return g.ctx.FindObjectsInit(sh, temp)
}

func (g guardedCtx) FindObjects(sh pkcs11.SessionHandle, max int) ([]pkcs11.ObjectHandle, bool, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.FindObjects(sh, max)
}

func (g guardedCtx) FindObjectsFinal(sh pkcs11.SessionHandle) error {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.FindObjectsFinal(sh)
}

func (g guardedCtx) GenerateKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, temp []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	g.m.objects.Lock()
	defer g.m.objects.Unlock()
	return g.ctx.GenerateKey(sh, m, temp)
}

func (g guardedCtx) GenerateKeyPair(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, public []*pkcs11.Attribute, private []*pkcs11.Attribute) (pkcs11.ObjectHandle, pkcs11.ObjectHandle, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	g.m.objects.Lock()
	defer g.m.objects.Unlock()
	return g.ctx.GenerateKeyPair(sh, m, public, private)
}

func (g guardedCtx) SignInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.SignInit(sh, m, o)
}

func (g guardedCtx) Sign(sh pkcs11.SessionHandle, message []byte) ([]byte, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.Sign(sh, message)
}

func (g guardedCtx) SignKeepingParams(sh pkcs11.SessionHandle, m *pkcs11.Mechanism, o pkcs11.ObjectHandle, message []byte) ([]byte, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	if g.m.funcs != nil {
		return g.m.funcs.signKept(sh, m, o, message)
	}
	// Without the module's function list (functionListOf), miekg/pkcs11's
	// own calls: right for every module that copies the parameter.
	if err := g.ctx.SignInit(sh, []*pkcs11.Mechanism{m}, o); err != nil {
		return nil, ckErr("C_SignInit", err)
	}
	sig, err := g.ctx.Sign(sh, message)
	return sig, ckErr("C_Sign", err)
}

func (g guardedCtx) EncryptInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.EncryptInit(sh, m, o)
}

func (g guardedCtx) Encrypt(sh pkcs11.SessionHandle, message []byte) ([]byte, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.Encrypt(sh, message)
}

func (g guardedCtx) EncryptSized(sh pkcs11.SessionHandle, message []byte, outLen int) ([]byte, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	if g.m.funcs == nil {
		return g.ctx.Encrypt(sh, message) // the size query, then the data
	}
	return g.m.funcs.encryptSized(sh, message, outLen)
}

func (g guardedCtx) DecryptInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.DecryptInit(sh, m, o)
}

func (g guardedCtx) Decrypt(sh pkcs11.SessionHandle, cipher []byte) ([]byte, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.Decrypt(sh, cipher)
}

func (g guardedCtx) DecryptFinal(sh pkcs11.SessionHandle) ([]byte, error) {
	g.m.calls.RLock()
	defer g.m.calls.RUnlock()
	return g.ctx.DecryptFinal(sh)
}
