package backend

import (
	"crypto"
	"slices"
)

// Capabilities is a backend's report of what it can do, so that callers and
// the conformance suite ask instead of guessing.
type Capabilities struct {
	// Backend is the scheme the backend was opened with ("software",
	// "pkcs11", "plugin+software", ...).
	Backend string `json:"backend"`
	// Description says which store or token this is, for people
	// ("keystore /home/me/keys", "SoftHSM slot 0 token 'test'"). No secrets.
	Description string `json:"description,omitempty"`
	// Algorithms lists the key types GenerateKey (and ImportKey) accept.
	Algorithms []Algorithm `json:"algorithms"`
	// Operations lists the operations the backend's keys can do.
	Operations []Operation `json:"operations"`
	// Import reports whether ImportKey can work: the backend implements
	// Importer and its store takes key material (a PKCS#11 token may
	// refuse every private key in C_CreateObject).
	Import bool `json:"import"`
	// Export reports whether the backend implements Exporter.
	Export bool `json:"export"`
	// Persistent reports whether keys outlive the process.
	Persistent bool `json:"persistent"`
	// Certificates reports whether the backend implements
	// CertificateStore: certificates are stored with its keys.
	Certificates bool `json:"certificates,omitempty"`
	// PKCS1v15ImplicitRejection reports that rsa-pkcs1v15 decryption never
	// fails on bad padding, even without SessionKeyLen: the backend (a
	// token doing implicit rejection, as NSS softokn 3.87 does) returns a
	// synthetic plaintext derived from the key and the ciphertext instead,
	// so a damaged ciphertext decrypts to a wrong message, the same one
	// each time, and never to an error that could serve as a padding
	// oracle. Only wrong ciphertext lengths are still errors.
	PKCS1v15ImplicitRejection bool `json:"pkcs1v15ImplicitRejection,omitempty"`
	// Notes are facts worth showing a user, one per line ("OAEP with
	// SHA-2 or a label: decoded on the host over CKM_RSA_X_509").
	Notes []string `json:"notes,omitempty"`
	// Details carries backend-specific facts (token mechanisms, module
	// version) as name/value pairs.
	Details map[string]string `json:"details,omitempty"`
}

// SupportsAlgorithm reports whether a is in c.Algorithms.
func (c *Capabilities) SupportsAlgorithm(a Algorithm) bool {
	return slices.Contains(c.Algorithms, a)
}

// SupportsOperation reports whether op is in c.Operations.
func (c *Capabilities) SupportsOperation(op Operation) bool {
	return slices.Contains(c.Operations, op)
}

// DetailPSSSalt is the Capabilities.Details key by which a backend whose
// RSA-PSS signatures always carry one salt length says which:
// PSSSaltHashLength (AWS KMS) or PSSSaltMaximum (local-kms, the AWS KMS
// emulator). Its signers refuse every other salt length with
// ErrUnsupported. Without the key, a backend signs with any salt length
// the key allows.
const DetailPSSSalt = "pss-salt"

// Values of Details[DetailPSSSalt].
const (
	PSSSaltHashLength = "hash-length"
	PSSSaltMaximum    = "maximum"
)

// PSSSaltSupported reports whether the backend's PSS signers make a
// signature with salt bytes of salt, for a hash of hashLen bytes and a key
// that allows at most maxSalt.
func (c *Capabilities) PSSSaltSupported(salt, hashLen, maxSalt int) bool {
	switch c.Details[DetailPSSSalt] {
	case PSSSaltHashLength:
		return salt == hashLen
	case PSSSaltMaximum:
		return salt == maxSalt
	}
	return salt > 0 && salt <= maxSalt
}

// DetailOAEP is the Capabilities.Details key by which a backend whose
// RSA-OAEP decryption takes no label and only MGF1 with the OAEP hash
// (AWS KMS) says so, with the value OAEPNoLabel. Its decrypters refuse a
// label or another MGF1 hash with ErrUnsupported.
const DetailOAEP = "oaep"

// OAEPNoLabel is Details[DetailOAEP] for OAEP without a label, MGF1 with
// the OAEP hash.
const OAEPNoLabel = "no-label-same-mgf1-hash"

// OAEPSupported reports whether the backend's decrypters take OAEP with
// a label of labelLen bytes and MGF1 with mgf for OAEP hash h.
func (c *Capabilities) OAEPSupported(labelLen int, h, mgf crypto.Hash) bool {
	if c.Details[DetailOAEP] == OAEPNoLabel {
		return labelLen == 0 && (mgf == 0 || mgf == h)
	}
	return true
}
