//go:build cgo && !nopkcs11

package pkcs11

// PKCS#11 3.2 ML-KEM (FIPS 203) and ML-DSA (FIPS 204) mechanisms and key
// types. keyplane reads them from the token's mechanism list and reports
// them, and uses them for nothing yet: C_EncapsulateKey and
// C_DecapsulateKey are reached only through the 3.2 function list that
// C_GetInterface returns, which miekg/pkcs11 v1.1.2 does not call, and no
// token CI runs (SoftHSM2 2.6.1, NSS softokn 3.87, opencryptoki 3.8,
// tpm2-pkcs11 1.9) lists them, so any code for them would be untested.
const (
	ckmMLKEMKeyPairGen = 0x0f
	ckmMLKEM           = 0x17
	ckmMLDSAKeyPairGen = 0x1c
	ckmMLDSA           = 0x1d
	ckkMLKEM           = 0x49
	ckkMLDSA           = 0x4a
)

// Capabilities.Details keys for the post-quantum mechanisms.
const (
	detailMLKEM = "ml-kem"
	detailMLDSA = "ml-dsa"
)

// pqcReport says, for ML-KEM and ML-DSA, what the token lists and that
// keyplane does not use it.
func (b *Backend) pqcReport() (mlkem, mldsa string) {
	say := func(name string, gen, op uint) string {
		switch {
		case b.hasMechanism(gen) && b.hasMechanism(op):
			return "listed by the token (PKCS#11 3.2 CKM_" + name + "); not used by keyplane: untested, no token in keyplane's CI has it"
		case b.hasMechanism(gen) || b.hasMechanism(op):
			return "partly listed by the token (CKM_" + name + " or its key pair generation); not used by keyplane"
		}
		return "no (the token lists no PKCS#11 3.2 CKM_" + name + ")"
	}
	return say("ML_KEM", ckmMLKEMKeyPairGen, ckmMLKEM), say("ML_DSA", ckmMLDSAKeyPairGen, ckmMLDSA)
}
