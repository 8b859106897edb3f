//go:build cgo && !nopkcs11

package pkcs11

import "github.com/miekg/pkcs11"

// pkcs11API is the part of *pkcs11.Ctx the backend uses, and nothing more
// (plus EncryptSized, a C call of keyplane's own), so that tests can wrap
// it to count calls and inject faults (see openWith).
// Every PKCS#11 call the backend makes goes through this interface; the
// module registry alone calls C_Initialize (and C_GetInfo, to check the
// function list signKept uses) on the raw context when it first loads a
// module.
//
// Note that (*pkcs11.Ctx).Sign, Encrypt and Decrypt each make two C calls
// (the length, then the data): one Sign here is two C_Sign at the module.
type pkcs11API interface {
	Initialize(opts ...pkcs11.InitializeOption) error
	Finalize() error
	GetInfo() (pkcs11.Info, error)
	GetSlotList(tokenPresent bool) ([]uint, error)
	GetSlotInfo(slotID uint) (pkcs11.SlotInfo, error)
	GetTokenInfo(slotID uint) (pkcs11.TokenInfo, error)
	GetMechanismList(slotID uint) ([]*pkcs11.Mechanism, error)
	GetMechanismInfo(slotID uint, m []*pkcs11.Mechanism) (pkcs11.MechanismInfo, error)

	OpenSession(slotID uint, flags uint) (pkcs11.SessionHandle, error)
	CloseSession(sh pkcs11.SessionHandle) error
	GetSessionInfo(sh pkcs11.SessionHandle) (pkcs11.SessionInfo, error)
	Login(sh pkcs11.SessionHandle, userType uint, pin string) error

	CreateObject(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) (pkcs11.ObjectHandle, error)
	DestroyObject(sh pkcs11.SessionHandle, oh pkcs11.ObjectHandle) error
	GetAttributeValue(sh pkcs11.SessionHandle, o pkcs11.ObjectHandle, a []*pkcs11.Attribute) ([]*pkcs11.Attribute, error)
	FindObjectsInit(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) error
	FindObjects(sh pkcs11.SessionHandle, max int) ([]pkcs11.ObjectHandle, bool, error)
	FindObjectsFinal(sh pkcs11.SessionHandle) error

	GenerateKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, temp []*pkcs11.Attribute) (pkcs11.ObjectHandle, error)
	GenerateKeyPair(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, public, private []*pkcs11.Attribute) (pkcs11.ObjectHandle, pkcs11.ObjectHandle, error)
	DeriveKey(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, base pkcs11.ObjectHandle, temp []*pkcs11.Attribute) (pkcs11.ObjectHandle, error)

	SignInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error
	Sign(sh pkcs11.SessionHandle, message []byte) ([]byte, error)
	// SignKeepingParams is SignInit and Sign in one call, m's parameter
	// kept in C memory until the last C_Sign returns (signKept); for
	// mechanisms with a parameter. Its errors are an *Error naming
	// C_SignInit or C_Sign.
	SignKeepingParams(sh pkcs11.SessionHandle, m *pkcs11.Mechanism, o pkcs11.ObjectHandle, message []byte) ([]byte, error)
	EncryptInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error
	Encrypt(sh pkcs11.SessionHandle, message []byte) ([]byte, error)
	// EncryptSized is one C_Encrypt into an outLen-byte buffer, without
	// the size query (see functionList.encryptSized); not in miekg/pkcs11.
	EncryptSized(sh pkcs11.SessionHandle, message []byte, outLen int) ([]byte, error)
	DecryptInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error
	Decrypt(sh pkcs11.SessionHandle, cipher []byte) ([]byte, error)
	DecryptFinal(sh pkcs11.SessionHandle) ([]byte, error)
}

// Every method but SignKeepingParams and EncryptSized is (*pkcs11.Ctx)'s own.

// PKCS#11 3.0 EdDSA constants that miekg/pkcs11 v1.1.2 lacks.
const (
	ckkECEdwards           = 0x40
	ckmECEdwardsKeyPairGen = 0x1055
	ckmEdDSA               = 0x1057
	// CKK_EC_MONTGOMERY and CKM_EC_MONTGOMERY_KEY_PAIR_GEN (X25519).
	ckkECMontgomery           = 0x41
	ckmECMontgomeryKeyPairGen = 0x1056
)
