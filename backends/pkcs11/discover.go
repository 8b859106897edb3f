package pkcs11

// Discovery: what a module and its tokens are, read without a PIN and
// without touching any object (C_GetInfo, C_GetSlotList, C_GetSlotInfo,
// C_GetTokenInfo, C_GetMechanismList, C_GetMechanismInfo and nothing else).
// `keyplane tokens` prints these types; their JSON form is that command's
// --json output (docs/cli.md), so field names and tags are a contract:
// add fields, never rename them.

// DiscoverOptions adjusts [Discover].
type DiscoverOptions struct {
	// InitArgs is handed to C_Initialize as CK_C_INITIALIZE_ARGS.pReserved
	// (module-init-args); "" for none.
	InitArgs string
	// InitArgsSecret keeps InitArgs out of the result: ModuleInfo.InitArgs
	// and the token URIs then say "REDACTED" instead. Set it for init args
	// that did not come from the user in person (a p11-kit module file's
	// x-init-reserved, which may hold a password).
	InitArgsSecret bool
}

// RedactedInitArgs stands for init args that are not shown.
const RedactedInitArgs = "REDACTED"

// ModuleInfo is one module as Discover read it.
type ModuleInfo struct {
	// Path is the module's path as given.
	Path string `json:"path"`
	// InitArgs is the module-init-args it was initialized with: "" for
	// none, RedactedInitArgs when they are secret.
	InitArgs string `json:"init_args,omitempty"`
	// Library is the module's CK_INFO; nil when the module did not load.
	Library *LibraryInfo `json:"library,omitempty"`
	// Slots are the module's slots (C_GetSlotList(false)), in its order.
	Slots []SlotInfo `json:"slots"`
}

// LibraryInfo is a module's CK_INFO.
type LibraryInfo struct {
	Description     string `json:"description"`
	Manufacturer    string `json:"manufacturer"`
	Version         string `json:"version"`          // "2.6"
	CryptokiVersion string `json:"cryptoki_version"` // "2.40"
}

// SlotInfo is one slot: its CK_SLOT_INFO and, when a token is present,
// the token.
type SlotInfo struct {
	ID              uint       `json:"id"`
	Description     string     `json:"description"`
	Manufacturer    string     `json:"manufacturer"`
	Flags           []string   `json:"flags"` // "token-present", "removable-device", "hw-slot"
	HardwareVersion string     `json:"hardware_version"`
	FirmwareVersion string     `json:"firmware_version"`
	Token           *TokenInfo `json:"token,omitempty"`
	// Error says what could not be read for this slot ("" when all was).
	Error string `json:"error,omitempty"`
}

// TokenInfo is a token's CK_TOKEN_INFO, the keyplane URI that opens it,
// and what keyplane would do with its mechanisms.
type TokenInfo struct {
	Label           string   `json:"label"`
	Manufacturer    string   `json:"manufacturer"`
	Model           string   `json:"model"`
	Serial          string   `json:"serial"`
	Flags           []string `json:"flags"` // "rng", "login-required", "token-initialized", ... (p11-kit's spelling)
	MaxSessions     string   `json:"max_sessions"`
	MinPINLen       uint     `json:"min_pin_len"`
	MaxPINLen       uint     `json:"max_pin_len"`
	HardwareVersion string   `json:"hardware_version"`
	FirmwareVersion string   `json:"firmware_version"`
	// URI opens this token as a keyplane backend, without a PIN (add
	// "&pin-source=file:/path/to/pin" to log in). "" for a token that is
	// not initialized, which keyplane cannot open.
	URI string `json:"uri,omitempty"`
	// Algorithms and Operations are what keyplane would offer on this
	// token, judged from the mechanism list alone (an opened backend's
	// capability report can say less, after probing the token).
	Algorithms []string `json:"algorithms"`
	Operations []string `json:"operations"`
	// KeyAgreement says which keys could do key agreement
	// (CKM_ECDH1_DERIVE) by the mechanism list; an opened backend probes
	// the token (Capabilities.Details["key-agreement"]).
	KeyAgreement string `json:"key_agreement"`
	// PostQuantum says whether the token lists PKCS#11 3.2 ML-KEM and
	// ML-DSA, which keyplane does not use yet.
	PostQuantum string `json:"post_quantum"`
	// Mechanisms is the token's whole mechanism list, in code order.
	Mechanisms []MechanismInfo `json:"mechanisms"`
}

// MechanismInfo is one mechanism of a token.
type MechanismInfo struct {
	Name       string   `json:"name"` // "RSA-PKCS-PSS" (pkcs11-tool's spelling), or "0x80000001"
	Code       string   `json:"code"` // "0xD"
	MinKeySize uint     `json:"min_key_size"`
	MaxKeySize uint     `json:"max_key_size"`
	Flags      []string `json:"flags"` // "sign", "decrypt", "generate-key-pair", ...
	// Keyplane lists the algorithms and operations that need this
	// mechanism: those keyplane would lose on this token without it.
	// Empty for a mechanism keyplane does not use.
	Keyplane []string `json:"keyplane,omitempty"`
}
