package main

// A quirk is a behaviour of one token kind that keyplane works around,
// with the section of the documentation that tells the evidence and the
// work-around. The matrix lists them beside what the token's capability
// report says of itself (Capabilities.Notes).
type quirk struct {
	Text string // one line, for the matrix
	Doc  string // a link relative to docs/backends/, with its #anchor
}

// quirks is keyed by testenv.TokenKind.Name. Whoever adds a token kind or
// a work-around adds its line here; TestQuirks checks that every kind is
// registered and every link's section exists.
var quirks = map[string][]quirk{
	"nss": {
		{"C_Initialize needs the database configuration in CK_C_INITIALIZE_ARGS.pReserved (CKR_ARGUMENTS_BAD without): module-init-args",
			"pkcs11.md#nss-softokn-387"},
		{"a second secret key with the same CKA_CLASS and CKA_ID overwrites the first: a Fernet key's HMAC half has its own CKA_ID",
			"pkcs11.md#nss-softokn-387"},
		{"the C_Encrypt size query under CKM_AES_GCM leaves out the tag (then CKR_BUFFER_TOO_SMALL): AES-GCM seals into plaintext + 16 bytes without the query",
			"pkcs11.md#nss-softokn-387"},
	},
	"softhsm2": {
		{"HMAC keys shorter than 32 bytes are refused (CKR_KEY_SIZE_RANGE): an imported Fernet signing key is stored zero-padded to 32 bytes, the same MAC by RFC 2104",
			"pkcs11.md#keys-inside-the-token"},
		{"the file object store fails a key creation that races an object search (CKR_GENERAL_ERROR): creating, destroying and searching for objects are serialized per module",
			"pkcs11.md#concurrency-model-and-the-session-pool"},
		{"lists no CKM_EC_MONTGOMERY_KEY_PAIR_GEN, but CKM_EC_EDWARDS_KEY_PAIR_GEN with the X25519 curve makes CKK_EC_EDWARDS keys that CKM_ECDH1_DERIVE takes: X25519 keys are made so, after a probe",
			"pkcs11.md#key-agreement-ecdh-and-x25519"},
	},
	"opencryptoki": {
		{"states ulMaxSessionCount = ULONG_MAX−1: taken as no stated limit, the default pool (it once made a pool of one session)",
			"pkcs11.md#opencryptoki-38"},
		{"answers tampered OAEP ciphertexts, OAEP labels and a PKCS#1 v1.5 ciphertext ≥ n with CKR_FUNCTION_FAILED from a healthy token: the backend asks the token (C_GetSessionInfo, C_GetTokenInfo) before it counts a token as gone, and a decryption's failure is ErrDecryption",
			"pkcs11.md#fault-recovery"},
		{"gives imported AES keys no CKA_VALUE_LEN (CKR_ATTRIBUTE_TYPE_INVALID): read without it, the AES half of a fernet pair is AES-128",
			"pkcs11.md#opencryptoki-38"},
		{"CKM_AES_CBC_PAD decryption lets bad padding through: fernet decrypts with CKM_AES_CBC and checks the padding on the host",
			"pkcs11.md#operations"},
	},
	// tpm2's P-521 and import refusals are in its own capability report.
	"tpm2": {
		{"an EC public template with CKA_VERIFY true and CKA_DECRYPT false fails C_GenerateKeyPair (CKR_GENERAL_ERROR): retried once without the public key's usage attributes, remembered",
			"pkcs11.md#tpm2-pkcs11-19"},
		{"a failed C_Decrypt leaves the operation active and the key in use, so C_DestroyObject fails (CKR_FUNCTION_FAILED): C_DecryptFinal after every failed decryption",
			"pkcs11.md#tpm2-pkcs11-19"},
		{"CKM_RSA_PKCS_PSS keeps the parameter pointer from C_SignInit to C_Sign: PSS parameters stay in C memory until the last C_Sign",
			"pkcs11.md#tpm2-pkcs11-19"},
		{"OAEP labels must end in a zero byte: labelled decryptions use the host-side OAEP fallback",
			"pkcs11.md#the-oaep-fallback"},
		{"every used key stays loaded in the TPM: tpm2-abrmd runs with --max-transients=100 (its default of 27 fails the 14th key of a process)",
			"pkcs11.md#tpm2-pkcs11-19"},
	},
}
