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
	"softhsm2": {
		{"HMAC keys shorter than 32 bytes are refused (CKR_KEY_SIZE_RANGE): an imported Fernet signing key is stored zero-padded to 32 bytes, the same MAC by RFC 2104",
			"pkcs11.md#keys-inside-the-token"},
		{"the file object store fails a key creation that races an object search (CKR_GENERAL_ERROR): creating, destroying and searching for objects are serialized per module",
			"pkcs11.md#concurrency-model-and-the-session-pool"},
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
}
