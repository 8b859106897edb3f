//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"crypto"
	"fmt"
	"slices"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// mechNames names the mechanisms keyplane uses or reports, as pkcs11-tool
// spells them.
var mechNames = map[uint]string{
	pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN:  "RSA-PKCS-KEY-PAIR-GEN",
	pkcs11.CKM_RSA_PKCS:               "RSA-PKCS",
	pkcs11.CKM_RSA_X_509:              "RSA-X-509",
	pkcs11.CKM_RSA_PKCS_OAEP:          "RSA-PKCS-OAEP",
	pkcs11.CKM_RSA_PKCS_PSS:           "RSA-PKCS-PSS",
	pkcs11.CKM_SHA256_RSA_PKCS:        "SHA256-RSA-PKCS",
	pkcs11.CKM_SHA256_RSA_PKCS_PSS:    "SHA256-RSA-PKCS-PSS",
	pkcs11.CKM_EC_KEY_PAIR_GEN:        "EC-KEY-PAIR-GEN",
	pkcs11.CKM_ECDSA:                  "ECDSA",
	pkcs11.CKM_ECDSA_SHA256:           "ECDSA-SHA256",
	pkcs11.CKM_ECDH1_DERIVE:           "ECDH1-DERIVE",
	ckmECEdwardsKeyPairGen:            "EC-EDWARDS-KEY-PAIR-GEN",
	ckmEdDSA:                          "EDDSA",
	ckmECMontgomeryKeyPairGen:         "EC-MONTGOMERY-KEY-PAIR-GEN",
	ckmMLKEMKeyPairGen:                "ML-KEM-KEY-PAIR-GEN",
	ckmMLKEM:                          "ML-KEM",
	ckmMLDSAKeyPairGen:                "ML-DSA-KEY-PAIR-GEN",
	ckmMLDSA:                          "ML-DSA",
	pkcs11.CKM_AES_KEY_GEN:            "AES-KEY-GEN",
	pkcs11.CKM_AES_GCM:                "AES-GCM",
	pkcs11.CKM_AES_CBC:                "AES-CBC",
	pkcs11.CKM_AES_CBC_PAD:            "AES-CBC-PAD",
	pkcs11.CKM_AES_ECB:                "AES-ECB",
	pkcs11.CKM_AES_CTR:                "AES-CTR",
	pkcs11.CKM_AES_KEY_WRAP:           "AES-KEY-WRAP",
	pkcs11.CKM_AES_KEY_WRAP_PAD:       "AES-KEY-WRAP-PAD",
	pkcs11.CKM_RSA_AES_KEY_WRAP:       "RSA-AES-KEY-WRAP",
	ckmAESKeyWrapKWP:                  "AES-KEY-WRAP-KWP",
	pkcs11.CKM_GENERIC_SECRET_KEY_GEN: "GENERIC-SECRET-KEY-GEN",
	pkcs11.CKM_SHA_1:                  "SHA-1",
	pkcs11.CKM_SHA256:                 "SHA256",
	pkcs11.CKM_SHA384:                 "SHA384",
	pkcs11.CKM_SHA512:                 "SHA512",
	pkcs11.CKM_SHA_1_HMAC:             "SHA-1-HMAC",
	pkcs11.CKM_SHA256_HMAC:            "SHA256-HMAC",
	pkcs11.CKM_SHA384_HMAC:            "SHA384-HMAC",
	pkcs11.CKM_SHA512_HMAC:            "SHA512-HMAC",
}

func mechName(m uint) string {
	if n, ok := mechNames[m]; ok {
		return n
	}
	return fmt.Sprintf("0x%X", m)
}

// readMechanisms reads the token's mechanisms (C_GetMechanismList, and
// C_GetMechanismInfo for each), once, at open.
func (b *Backend) readMechanisms() error {
	list, err := b.p.GetMechanismList(b.slot)
	if err != nil {
		return ckErr("C_GetMechanismList", err)
	}
	b.mechs = make(map[uint]pkcs11.MechanismInfo, len(list))
	for _, m := range list {
		info, err := b.p.GetMechanismInfo(b.slot, []*pkcs11.Mechanism{pkcs11.NewMechanism(m.Mechanism, nil)})
		if err != nil {
			return ckErr("C_GetMechanismInfo", err)
		}
		b.mechs[m.Mechanism] = info
	}
	return nil
}

func (b *Backend) hasMechanism(m uint) bool {
	_, ok := b.mechs[m]
	return ok
}

// mechAllows reports whether mechanism m exists, has the flag, and allows
// keys of bits (RSA modulus or EC field size; 0 skips the size check).
func (b *Backend) mechAllows(m, flag, bits uint) bool {
	info, ok := b.mechs[m]
	if !ok || info.Flags&flag == 0 {
		return false
	}
	if bits == 0 || info.MaxKeySize == 0 {
		return true
	}
	return bits >= info.MinKeySize && bits <= info.MaxKeySize
}

// supportsAlgorithm: the token can generate keys of a and use them.
// (X25519: once probeAgreement ran.)
func (b *Backend) supportsAlgorithm(a backend.Algorithm) bool {
	if a == backend.X25519 {
		return b.agreementRefused(a) == ""
	}
	switch a.Family() {
	case backend.FamilyRSA:
		return b.mechAllows(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, pkcs11.CKF_GENERATE_KEY_PAIR, uint(a.RSABits())) &&
			b.mechAllows(pkcs11.CKM_RSA_PKCS, pkcs11.CKF_SIGN, 0)
	case backend.FamilyEC:
		if _, refused := b.curveRefused.Load(a); refused {
			return false
		}
		bits := uint(a.Curve().Params().BitSize)
		return b.mechAllows(pkcs11.CKM_EC_KEY_PAIR_GEN, pkcs11.CKF_GENERATE_KEY_PAIR, bits) &&
			b.mechAllows(pkcs11.CKM_ECDSA, pkcs11.CKF_SIGN, bits)
	case backend.FamilyEd25519:
		return b.mechAllows(ckmECEdwardsKeyPairGen, pkcs11.CKF_GENERATE_KEY_PAIR, 0) && b.mechAllows(ckmEdDSA, pkcs11.CKF_SIGN, 0)
	case backend.FamilyAES:
		return b.mechAllows(pkcs11.CKM_AES_KEY_GEN, pkcs11.CKF_GENERATE, 0) && b.mechAllows(pkcs11.CKM_AES_GCM, pkcs11.CKF_ENCRYPT, 0)
	case backend.FamilyFernet:
		return b.mechAllows(pkcs11.CKM_AES_KEY_GEN, pkcs11.CKF_GENERATE, 0) &&
			b.mechAllows(pkcs11.CKM_GENERIC_SECRET_KEY_GEN, pkcs11.CKF_GENERATE, 0) &&
			b.mechAllows(pkcs11.CKM_SHA256_HMAC, pkcs11.CKF_SIGN, 0) &&
			b.mechAllows(pkcs11.CKM_AES_CBC_PAD, pkcs11.CKF_ENCRYPT, 0)
	}
	return false
}

// supportsOperation: the token has the mechanism op needs (for OAEP with
// SHA-2 or a label: natively, or through the fallback).
func (b *Backend) supportsOperation(op backend.Operation) bool {
	switch op.Family() {
	case backend.FamilyRSA:
		switch {
		case op.Kind() == backend.OpSign && op.PSS():
			return b.mechAllows(pkcs11.CKM_RSA_PKCS_PSS, pkcs11.CKF_SIGN, 0)
		case op.Kind() == backend.OpSign:
			return b.mechAllows(pkcs11.CKM_RSA_PKCS, pkcs11.CKF_SIGN, 0)
		case op == backend.RSAPKCS1v15:
			return b.mechAllows(pkcs11.CKM_RSA_PKCS, pkcs11.CKF_DECRYPT, 0)
		case op == backend.RSAOAEPSHA1:
			return b.mechAllows(pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.CKF_DECRYPT, 0)
		default: // OAEP with SHA-2
			if b.fallbackAvailable() {
				return true
			}
			// Without the fallback: only what the token was seen to do
			// (probeRSA), with and without a label.
			return b.mechAllows(pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.CKF_DECRYPT, 0) &&
				b.oaepModeFor(oaepKey{op.Hash(), op.Hash(), false}) == oaepNative &&
				b.oaepModeFor(oaepKey{op.Hash(), op.Hash(), true}) == oaepNative
		}
	case backend.FamilyEC:
		if op.Kind() == backend.OpAgree {
			return slices.ContainsFunc(agreementAlgorithms, func(a backend.Algorithm) bool {
				return a != backend.X25519 && b.agreementRefused(a) == ""
			})
		}
		return op.Kind() == backend.OpSign && b.mechAllows(pkcs11.CKM_ECDSA, pkcs11.CKF_SIGN, 0)
	case backend.FamilyX25519:
		return op.Kind() == backend.OpAgree && b.agreementRefused(backend.X25519) == ""
	case backend.FamilyEd25519, backend.FamilyAES, backend.FamilyFernet:
		return b.supportsAlgorithm(map[backend.Family]backend.Algorithm{
			backend.FamilyEd25519: backend.Ed25519, backend.FamilyAES: backend.AES256, backend.FamilyFernet: backend.Fernet}[op.Family()])
	}
	return false
}

func (b *Backend) fallbackAvailable() bool {
	return !b.oaepOff && b.mechAllows(pkcs11.CKM_RSA_X_509, pkcs11.CKF_DECRYPT, 0)
}

// Capabilities reports what this token can do, from the mechanism list
// read at open.
func (b *Backend) Capabilities(ctx context.Context) (*backend.Capabilities, error) {
	if err := b.checkOpen(); err != nil {
		return nil, err
	}
	b.probeRSA(ctx)
	b.probeCurves(ctx)
	b.probeAgreement(ctx)
	b.mu.Lock()
	tok, slot := b.token, b.slot
	b.mu.Unlock()
	c := &backend.Capabilities{
		Backend:     "pkcs11",
		Description: fmt.Sprintf("%s %s token '%s' (slot %d)", tok.ManufacturerID, tok.Model, tok.Label, slot),
		Import:      b.probeImport(ctx) != importRefused,
		Persistent:  true,
		// certs.go: CKO_CERTIFICATE objects with the key's CKA_ID.
		Certificates: true,
		// Seen by probeRSA: bad padding gives a synthetic plaintext.
		PKCS1v15ImplicitRejection: b.pkcs1v15Mode() == pkcs1v15Implicit,
	}
	if !c.Import {
		c.Notes = append(c.Notes, "no key import: the token refuses private key material in C_CreateObject")
	}
	for _, a := range backend.AllAlgorithms() {
		if b.supportsAlgorithm(a) {
			c.Algorithms = append(c.Algorithms, a)
		}
	}
	for _, op := range backend.AllOperations() {
		if b.supportsOperation(op) {
			c.Operations = append(c.Operations, op)
		}
	}
	var mechs []string
	for m := range b.mechs {
		mechs = append(mechs, mechName(m))
	}
	slices.Sort(mechs)
	stats := b.pool.Stats()
	c.Details = map[string]string{
		"token-label":          tok.Label,
		"token-manufacturer":   tok.ManufacturerID,
		"token-model":          tok.Model,
		"token-serial":         tok.SerialNumber,
		"token-firmware":       fmt.Sprintf("%d.%d", tok.FirmwareVersion.Major, tok.FirmwareVersion.Minor),
		"token-hardware":       fmt.Sprintf("%d.%d", tok.HardwareVersion.Major, tok.HardwareVersion.Minor),
		"slot-id":              fmt.Sprint(slot),
		"module-path":          b.mod.path,
		"library-description":  b.info.LibraryDescription,
		"library-manufacturer": b.info.ManufacturerID,
		"library-version":      fmt.Sprintf("%d.%d", b.info.LibraryVersion.Major, b.info.LibraryVersion.Minor),
		"cryptoki-version":     fmt.Sprintf("%d.%d", b.info.CryptokiVersion.Major, b.info.CryptokiVersion.Minor),
		"max-sessions":         sessionLimit(b.tokenMax),
		"pool-size":            fmt.Sprint(stats.Max),
		"mechanisms":           strings.Join(mechs, ", "),
		"oaep-native":          b.oaepNative(),
		"oaep-fallback":        b.oaepFallbackNote(),
		"pkcs1v15-bad-padding": b.pkcs1v15Note(),
	}
	b.wrapCapabilities(c)
	var agreementNotes []string
	c.Details[backend.DetailKeyAgreement], agreementNotes = b.agreementReport()
	c.Notes = append(c.Notes, agreementNotes...)
	c.Details[detailMLKEM], c.Details[detailMLDSA] = b.pqcReport()
	if c.PKCS1v15ImplicitRejection {
		c.Notes = append(c.Notes, "PKCS#1 v1.5 decryption: the token answers bad padding with a synthetic plaintext (implicit rejection), never an error")
	}
	if b.fallbackAvailable() {
		c.Notes = append(c.Notes, "OAEP with SHA-2 or a label: decoded on the host over CKM_RSA_X_509 when the token refuses the parameters")
	}
	if !b.hasPIN {
		c.Notes = append(c.Notes, "no PIN given: only public objects are reachable")
	}
	b.curveRefused.Range(func(a, _ any) bool {
		c.Notes = append(c.Notes, fmt.Sprintf("%s not reported: the token gives its public points in a form that is not DER, and cannot use such keys itself", a))
		return true
	})
	return c, nil
}

func sessionLimit(n uint) string {
	switch n {
	case pkcs11.CK_EFFECTIVELY_INFINITE:
		return "no stated limit"
	case pkcs11.CK_UNAVAILABLE_INFORMATION:
		return "unknown"
	}
	return fmt.Sprint(n)
}

func (b *Backend) oaepFallbackNote() string {
	switch {
	case b.oaepOff:
		return "off (oaep-fallback=off)"
	case !b.hasMechanism(pkcs11.CKM_RSA_X_509):
		return "unavailable (no CKM_RSA_X_509)"
	}
	return "on (host-side OAEP decoding over CKM_RSA_X_509)"
}

// oaepNative says which OAEP parameters the token was seen to take.
func (b *Backend) oaepNative() string {
	if !b.hasMechanism(pkcs11.CKM_RSA_PKCS_OAEP) {
		return "none (no CKM_RSA_PKCS_OAEP)"
	}
	parts := []string{"sha1"}
	for _, h := range []crypto.Hash{crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		name := strings.ToLower(strings.ReplaceAll(h.String(), "-", ""))
		switch b.oaepModeFor(oaepKey{h, h, false}) {
		case oaepNative:
			parts = append(parts, name)
		case oaepRefused:
			parts = append(parts, name+" refused")
		default:
			parts = append(parts, name+" untried")
		}
	}
	return strings.Join(parts, ", ")
}

func (b *Backend) pkcs1v15Note() string {
	switch b.pkcs1v15Mode() {
	case pkcs1v15Errors:
		return "error"
	case pkcs1v15Implicit:
		return "synthetic plaintext (implicit rejection in the token)"
	}
	return "untried"
}
