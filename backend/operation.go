package backend

//lint:file-ignore SA1019 rsa-pkcs1v15 decryption is an operation keyplane offers for data that already exists; docs/decisions.md says why and points new data at OAEP

import (
	"crypto"
	"crypto/rsa"
	"fmt"
	"slices"
)

// Operation names a cryptographic operation, as the CLI and the docs spell it.
type Operation string

// Signature operations.
const (
	RSAPKCS1v15SHA256 Operation = "rsa-pkcs1v15-sha256"
	RSAPKCS1v15SHA384 Operation = "rsa-pkcs1v15-sha384"
	RSAPKCS1v15SHA512 Operation = "rsa-pkcs1v15-sha512"
	RSAPSSSHA256      Operation = "rsa-pss-sha256"
	RSAPSSSHA384      Operation = "rsa-pss-sha384"
	RSAPSSSHA512      Operation = "rsa-pss-sha512"
	ECDSASHA256       Operation = "ecdsa-sha256"
	ECDSASHA384       Operation = "ecdsa-sha384"
	ECDSASHA512       Operation = "ecdsa-sha512"
	PureEd25519       Operation = "ed25519"
	// PureMLDSA is an ML-DSA signature of the whole message (FIPS 204
	// ML-DSA.Sign, hedged), with an optional context string: see
	// MLDSAOptions. It applies to ml-dsa-44, ml-dsa-65 and ml-dsa-87 keys.
	PureMLDSA Operation = "ml-dsa"
)

// Key-agreement and key-encapsulation operations.
const (
	// ECDH is elliptic-curve Diffie-Hellman with an EC P-256/P-384/P-521
	// key: the raw shared secret (the x-coordinate), as crypto/ecdh gives.
	ECDH Operation = "ecdh"
	// X25519Agreement is Diffie-Hellman with an X25519 key (RFC 7748).
	X25519Agreement Operation = "x25519"
	// MLKEMDecapsulation is ML-KEM decapsulation (FIPS 203) with an
	// ml-kem-768 or ml-kem-1024 key.
	MLKEMDecapsulation Operation = "ml-kem"
)

// Encryption operations.
const (
	RSAOAEPSHA1   Operation = "rsa-oaep-sha1"
	RSAOAEPSHA256 Operation = "rsa-oaep-sha256"
	RSAOAEPSHA384 Operation = "rsa-oaep-sha384"
	RSAOAEPSHA512 Operation = "rsa-oaep-sha512"
	RSAPKCS1v15   Operation = "rsa-pkcs1v15"
	AES256GCM     Operation = "aes-256-gcm"
	FernetToken   Operation = "fernet"
)

// OpKind says what an operation does.
type OpKind int

// Operation kinds.
const (
	OpSign        OpKind = iota + 1 // a signature with an asymmetric key
	OpDecrypt                       // public-key encryption, private-key decryption
	OpAEAD                          // authenticated encryption with a secret key
	OpFernet                        // Fernet tokens
	OpAgree                         // key agreement (KeyAgreement.KeyExchanger)
	OpDecapsulate                   // key decapsulation (KEM.Decapsulator)
)

type opInfo struct {
	kind   OpKind
	family Family
	hash   crypto.Hash
	pss    bool
}

var opTable = map[Operation]opInfo{
	RSAPKCS1v15SHA256:  {OpSign, FamilyRSA, crypto.SHA256, false},
	RSAPKCS1v15SHA384:  {OpSign, FamilyRSA, crypto.SHA384, false},
	RSAPKCS1v15SHA512:  {OpSign, FamilyRSA, crypto.SHA512, false},
	RSAPSSSHA256:       {OpSign, FamilyRSA, crypto.SHA256, true},
	RSAPSSSHA384:       {OpSign, FamilyRSA, crypto.SHA384, true},
	RSAPSSSHA512:       {OpSign, FamilyRSA, crypto.SHA512, true},
	ECDSASHA256:        {OpSign, FamilyEC, crypto.SHA256, false},
	ECDSASHA384:        {OpSign, FamilyEC, crypto.SHA384, false},
	ECDSASHA512:        {OpSign, FamilyEC, crypto.SHA512, false},
	PureEd25519:        {OpSign, FamilyEd25519, 0, false},
	RSAOAEPSHA1:        {OpDecrypt, FamilyRSA, crypto.SHA1, false},
	RSAOAEPSHA256:      {OpDecrypt, FamilyRSA, crypto.SHA256, false},
	RSAOAEPSHA384:      {OpDecrypt, FamilyRSA, crypto.SHA384, false},
	RSAOAEPSHA512:      {OpDecrypt, FamilyRSA, crypto.SHA512, false},
	RSAPKCS1v15:        {OpDecrypt, FamilyRSA, 0, false},
	AES256GCM:          {OpAEAD, FamilyAES, 0, false},
	FernetToken:        {OpFernet, FamilyFernet, 0, false},
	PureMLDSA:          {OpSign, FamilyMLDSA, 0, false},
	ECDH:               {OpAgree, FamilyEC, 0, false},
	X25519Agreement:    {OpAgree, FamilyX25519, 0, false},
	MLKEMDecapsulation: {OpDecapsulate, FamilyMLKEM, 0, false},
}

// AllOperations returns every operation, in a fixed order. The slice is a
// fresh copy: changing it changes nothing in the package.
func AllOperations() []Operation { return slices.Clone(operations) }

// operations lists every operation, in a fixed order.
var operations = []Operation{
	RSAPKCS1v15SHA256, RSAPKCS1v15SHA384, RSAPKCS1v15SHA512,
	RSAPSSSHA256, RSAPSSSHA384, RSAPSSSHA512,
	ECDSASHA256, ECDSASHA384, ECDSASHA512,
	PureEd25519,
	RSAOAEPSHA1, RSAOAEPSHA256, RSAOAEPSHA384, RSAOAEPSHA512, RSAPKCS1v15,
	AES256GCM, FernetToken,
	PureMLDSA, ECDH, X25519Agreement, MLKEMDecapsulation,
}

// ParseOperation returns the operation with that name, or an error wrapping
// ErrUnsupported that lists the known names.
func ParseOperation(name string) (Operation, error) {
	if _, ok := opTable[Operation(name)]; ok {
		return Operation(name), nil
	}
	return "", fmt.Errorf("unknown algorithm %q (known: %s): %w", name, joinNames(operations), ErrUnsupported)
}

// Kind returns what the operation does (0 for an unknown operation).
func (op Operation) Kind() OpKind { return opTable[op].kind }

// Family returns the key family the operation needs.
func (op Operation) Family() Family { return opTable[op].family }

// Hash returns the operation's hash: the digest hash of a signature, the
// OAEP hash of an encryption; 0 for Ed25519, PKCS#1 v1.5 decryption and
// symmetric operations.
func (op Operation) Hash() crypto.Hash { return opTable[op].hash }

// PSS reports whether the operation is an RSA-PSS signature.
func (op Operation) PSS() bool { return opTable[op].pss }

// Applies reports whether the operation can be done with a key of algorithm a.
func (op Operation) Applies(a Algorithm) bool {
	info, ok := opTable[op]
	return ok && info.family == a.Family()
}

// SignerOpts returns the crypto.SignerOpts that ask a crypto.Signer for this
// signature operation: the hash for PKCS#1 v1.5 and ECDSA, *rsa.PSSOptions
// with the salt as long as the hash for RSA-PSS (what TLS and most verifiers
// expect), crypto.Hash(0) for Ed25519 and ML-DSA (no context string). It returns nil for other operations.
func (op Operation) SignerOpts() crypto.SignerOpts {
	info, ok := opTable[op]
	if !ok || info.kind != OpSign {
		return nil
	}
	if info.pss {
		return &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: info.hash}
	}
	return info.hash
}

// DecrypterOpts returns the crypto.DecrypterOpts for a public-key decryption
// operation: *rsa.OAEPOptions (MGF1 with the same hash, no label) or
// *rsa.PKCS1v15DecryptOptions. It returns nil for other operations.
func (op Operation) DecrypterOpts() crypto.DecrypterOpts {
	info, ok := opTable[op]
	if !ok || info.kind != OpDecrypt {
		return nil
	}
	if op == RSAPKCS1v15 {
		return &rsa.PKCS1v15DecryptOptions{}
	}
	return &rsa.OAEPOptions{Hash: info.hash, MGFHash: info.hash}
}

// OperationsFor returns the operations that apply to keys of algorithm a.
func OperationsFor(a Algorithm) []Operation {
	var ops []Operation
	for _, op := range operations {
		if op.Applies(a) {
			ops = append(ops, op)
		}
	}
	return ops
}
