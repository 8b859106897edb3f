//go:build cgo && !nopkcs11

package pkcs11

// Code in this file is a test double: spyAPI wraps a pkcs11API, counts
// every call by method name and lets a test inject CKR codes.

import (
	"sync"

	"github.com/miekg/pkcs11"
)

// spyAPI counts calls and injects faults. A fault is a CKR code returned,
// instead of calling the module, by the next n calls of a method.
type spyAPI struct {
	api pkcs11API

	mu     sync.Mutex
	counts map[string]int
	faults map[string][]uint
}

func newSpy(api pkcs11API) *spyAPI {
	return &spyAPI{api: api, counts: map[string]int{}, faults: map[string][]uint{}}
}

// hit counts a call and returns the injected fault, if any.
func (s *spyAPI) hit(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[name]++
	if f := s.faults[name]; len(f) > 0 {
		s.faults[name] = f[1:]
		return pkcs11.Error(f[0])
	}
	return nil
}

// inject makes the next calls of method return the codes, one per call.
func (s *spyAPI) inject(method string, codes ...uint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = append(s.faults[method], codes...)
}

// snapshot returns the counts and resets them.
func (s *spyAPI) snapshot() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counts
	s.counts = map[string]int{}
	return c
}

func (s *spyAPI) Initialize(opts ...pkcs11.InitializeOption) error {
	if err := s.hit("Initialize"); err != nil {
		return err
	}
	return s.api.Initialize(opts...)
}

func (s *spyAPI) Finalize() error {
	if err := s.hit("Finalize"); err != nil {
		return err
	}
	return s.api.Finalize()
}

func (s *spyAPI) GetInfo() (pkcs11.Info, error) {
	if err := s.hit("GetInfo"); err != nil {
		return pkcs11.Info{}, err
	}
	return s.api.GetInfo()
}

func (s *spyAPI) GetSlotList(tokenPresent bool) ([]uint, error) {
	if err := s.hit("GetSlotList"); err != nil {
		return nil, err
	}
	return s.api.GetSlotList(tokenPresent)
}

func (s *spyAPI) GetSlotInfo(slotID uint) (pkcs11.SlotInfo, error) {
	if err := s.hit("GetSlotInfo"); err != nil {
		return pkcs11.SlotInfo{}, err
	}
	return s.api.GetSlotInfo(slotID)
}

func (s *spyAPI) GetTokenInfo(slotID uint) (pkcs11.TokenInfo, error) {
	if err := s.hit("GetTokenInfo"); err != nil {
		return pkcs11.TokenInfo{}, err
	}
	return s.api.GetTokenInfo(slotID)
}

func (s *spyAPI) GetMechanismList(slotID uint) ([]*pkcs11.Mechanism, error) {
	if err := s.hit("GetMechanismList"); err != nil {
		return nil, err
	}
	return s.api.GetMechanismList(slotID)
}

func (s *spyAPI) GetMechanismInfo(slotID uint, m []*pkcs11.Mechanism) (pkcs11.MechanismInfo, error) {
	if err := s.hit("GetMechanismInfo"); err != nil {
		return pkcs11.MechanismInfo{}, err
	}
	return s.api.GetMechanismInfo(slotID, m)
}

func (s *spyAPI) OpenSession(slotID uint, flags uint) (pkcs11.SessionHandle, error) {
	if err := s.hit("OpenSession"); err != nil {
		return 0, err
	}
	return s.api.OpenSession(slotID, flags)
}

func (s *spyAPI) CloseSession(sh pkcs11.SessionHandle) error {
	if err := s.hit("CloseSession"); err != nil {
		return err
	}
	return s.api.CloseSession(sh)
}

func (s *spyAPI) GetSessionInfo(sh pkcs11.SessionHandle) (pkcs11.SessionInfo, error) {
	if err := s.hit("GetSessionInfo"); err != nil {
		return pkcs11.SessionInfo{}, err
	}
	return s.api.GetSessionInfo(sh)
}

func (s *spyAPI) Login(sh pkcs11.SessionHandle, userType uint, pin string) error {
	if err := s.hit("Login"); err != nil {
		return err
	}
	return s.api.Login(sh, userType, pin)
}

func (s *spyAPI) CreateObject(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	if err := s.hit("CreateObject"); err != nil {
		return 0, err
	}
	return s.api.CreateObject(sh, temp)
}

func (s *spyAPI) DestroyObject(sh pkcs11.SessionHandle, oh pkcs11.ObjectHandle) error {
	if err := s.hit("DestroyObject"); err != nil {
		return err
	}
	return s.api.DestroyObject(sh, oh)
}

func (s *spyAPI) GetAttributeValue(sh pkcs11.SessionHandle, o pkcs11.ObjectHandle, a []*pkcs11.Attribute) ([]*pkcs11.Attribute, error) {
	if err := s.hit("GetAttributeValue"); err != nil {
		return nil, err
	}
	return s.api.GetAttributeValue(sh, o, a)
}

func (s *spyAPI) FindObjectsInit(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) error {
	if err := s.hit("FindObjectsInit"); err != nil {
		return err
	}
	return s.api.FindObjectsInit(sh, temp)
}

func (s *spyAPI) FindObjects(sh pkcs11.SessionHandle, max int) ([]pkcs11.ObjectHandle, bool, error) {
	if err := s.hit("FindObjects"); err != nil {
		return nil, false, err
	}
	return s.api.FindObjects(sh, max)
}

func (s *spyAPI) FindObjectsFinal(sh pkcs11.SessionHandle) error {
	if err := s.hit("FindObjectsFinal"); err != nil {
		return err
	}
	return s.api.FindObjectsFinal(sh)
}

func (s *spyAPI) GenerateKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, temp []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	if err := s.hit("GenerateKey"); err != nil {
		return 0, err
	}
	return s.api.GenerateKey(sh, m, temp)
}

func (s *spyAPI) GenerateKeyPair(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, public []*pkcs11.Attribute, private []*pkcs11.Attribute) (pkcs11.ObjectHandle, pkcs11.ObjectHandle, error) {
	if err := s.hit("GenerateKeyPair"); err != nil {
		return 0, 0, err
	}
	return s.api.GenerateKeyPair(sh, m, public, private)
}

func (s *spyAPI) SignInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	if err := s.hit("SignInit"); err != nil {
		return err
	}
	return s.api.SignInit(sh, m, o)
}

func (s *spyAPI) Sign(sh pkcs11.SessionHandle, message []byte) ([]byte, error) {
	if err := s.hit("Sign"); err != nil {
		return nil, err
	}
	return s.api.Sign(sh, message)
}

func (s *spyAPI) EncryptInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	if err := s.hit("EncryptInit"); err != nil {
		return err
	}
	return s.api.EncryptInit(sh, m, o)
}

func (s *spyAPI) Encrypt(sh pkcs11.SessionHandle, message []byte) ([]byte, error) {
	if err := s.hit("Encrypt"); err != nil {
		return nil, err
	}
	return s.api.Encrypt(sh, message)
}

func (s *spyAPI) EncryptSized(sh pkcs11.SessionHandle, message []byte, outLen int) ([]byte, error) {
	if err := s.hit("EncryptSized"); err != nil {
		return nil, err
	}
	return s.api.EncryptSized(sh, message, outLen)
}

func (s *spyAPI) DecryptInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	if err := s.hit("DecryptInit"); err != nil {
		return err
	}
	return s.api.DecryptInit(sh, m, o)
}

func (s *spyAPI) Decrypt(sh pkcs11.SessionHandle, cipher []byte) ([]byte, error) {
	if err := s.hit("Decrypt"); err != nil {
		return nil, err
	}
	return s.api.Decrypt(sh, cipher)
}

func (s *spyAPI) SignKeepingParams(sh pkcs11.SessionHandle, m *pkcs11.Mechanism, o pkcs11.ObjectHandle, message []byte) ([]byte, error) {
	if err := s.hit("SignKeepingParams"); err != nil {
		return nil, err
	}
	return s.api.SignKeepingParams(sh, m, o, message)
}

func (s *spyAPI) DecryptFinal(sh pkcs11.SessionHandle) ([]byte, error) {
	if err := s.hit("DecryptFinal"); err != nil {
		return nil, err
	}
	return s.api.DecryptFinal(sh)
}
