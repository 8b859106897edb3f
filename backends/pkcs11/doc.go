// Package pkcs11 is keyplane's PKCS#11 backend: keys generated and used
// inside a token (an HSM, a smart card, SoftHSM2), reached through the
// token's PKCS#11 module with github.com/miekg/pkcs11 (cgo).
//
// Importing the package registers the "pkcs11" scheme with package backend:
//
//	import _ "github.com/keyplane/keyplane/backends/pkcs11"
//
//	b, err := backend.Open(ctx, "pkcs11:token=signing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin")
//
// # URIs
//
// The backend is selected by an RFC 7512 URI (see [ParseURI]): path
// attributes choose the token (token, serial, manufacturer, model,
// slot-id, slot-description, slot-manufacturer; library-* choose the
// module's CK_INFO), query attributes give the module and the PIN:
//
//	pkcs11:token=signing;serial=0123abcd?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin
//	pkcs11:slot-id=0?module-name=softhsm2&pin-value=1234
//	pkcs11:token=signing?module-name=libsofthsm2&pin-source=/run/secrets/pin&max-sessions=8&oaep-fallback=off
//
// module-path is an absolute path; module-name is looked up in
// [ModuleDirs] as "name", "name.so" and "libname.so". pin-source is
// "file:/path" (or just "/path") and the file must not be readable by group
// or others. keyplane adds four query attributes: oaep-fallback=on|off
// (see below), max-sessions=N (the pool size), call-timeout=D (see
// Concurrency) and module-init-args, a percent-encoded string handed to
// the module's C_Initialize as CK_C_INITIALIZE_ARGS.pReserved, which NSS
// softokn needs:
//
//	pkcs11:token=keyplane?module-path=/usr/lib/x86_64-linux-gnu/libsoftokn3.so&module-init-args=configdir%3D%27sql%3A%2Fhome%2Fme%2F.pki%2Fnssdb%27%20certPrefix%3D%27%27%20keyPrefix%3D%27%27%20secmod%3D%27secmod.db%27%20flags%3D%20dbTokenDescription%3D%27keyplane%27&pin-source=file:/run/secrets/pin
//
// A module is initialized once per process: every URI naming it must give
// the same module-init-args, or Open refuses it.
//
// Without a PIN the backend opens and reports its capabilities, but on a
// token that requires login (CKF_LOGIN_REQUIRED) every key operation fails
// with backend.ErrAuthentication saying that no PIN was given.
//
// A program that holds the PIN, or fetches it from a secret manager,
// supplies it in code instead of the URI: ParseURI, set Config.PIN (a
// backend.SecretFunc), then OpenConfig. pin-source=prompt says the PIN
// comes from such a callback (the keyplane CLI asks on the terminal).
// Keys marked CKA_ALWAYS_AUTHENTICATE are used with a context-specific
// login (CKU_CONTEXT_SPECIFIC) before each signature and decryption,
// with a PIN from the callback each time.
//
// Keys are referenced by label ("release"), by CKA_ID ("id:0102ab"), or by a
// key URI ("pkcs11:object=release;type=private", "pkcs11:id=%01%02"); the
// token attributes of a key URI, when present, must match the backend's
// token.
//
// # Keys
//
// Generated and imported private and secret keys are token objects with
// CKA_PRIVATE, CKA_SENSITIVE true and CKA_EXTRACTABLE false. The halves of a
// key pair share CKA_LABEL (the keyplane label) and CKA_ID (16 random
// bytes), as pkcs11-tool, OpenSSL's PKCS#11 provider and crypto11's
// FindKeyPair expect. RSA keys may sign and decrypt, EC keys sign and (on
// a token with CKM_ECDH1_DERIVE) derive, Ed25519 keys only sign, X25519
// keys only derive, AES keys encrypt and decrypt.
//
// # Key agreement
//
// The Backend implements backend.KeyAgreement: [Backend.KeyExchanger]
// gives an ecdh.KeyExchanger (for crypto/hpke's DHKEM recipients, among
// others) over an EC P-256/P-384/P-521 or X25519 key whose private key has
// CKA_DERIVE true. Each ECDH is one CKM_ECDH1_DERIVE (CKD_NULL, the peer's
// raw point) into a session generic secret that is readable
// (CKA_SENSITIVE false, CKA_EXTRACTABLE true), one read of its CKA_VALUE
// and its destruction: the private key stays in the token, the shared
// secret comes to the host, as HPKE needs it. X25519 keys are made with
// CKM_EC_MONTGOMERY_KEY_PAIR_GEN where the token lists it, else with
// CKM_EC_EDWARDS_KEY_PAIR_GEN and the X25519 curve (SoftHSM2 2.6.1). On
// which curves the token derives is learnt once per backend with session
// key pairs (Capabilities.Details["key-agreement"]). Peer keys on another
// curve, and X25519 points of low order, are refused on the host
// (backend.ErrInvalidInput). PKCS#11 3.2 ML-KEM and ML-DSA are only
// reported ("ml-kem", "ml-dsa" in Details): no token CI runs has them.
//
// Where tokens differ, the backend learns from the token itself, once per
// backend, and remembers: a signing-only key pair whose template the token
// refuses is made again without usage attributes on the public half (the
// token sets them, as tpm2-pkcs11 does); whether the token takes key
// material at all (Capabilities.Import) and whether its P-521 keys are
// usable are probed with a throwaway object; OAEP parameters as described
// below; whether bad PKCS#1 v1.5 padding is an error or a synthetic
// plaintext (implicit rejection, as NSS softokn does; reported as
// Capabilities.PKCS1v15ImplicitRejection) with a throwaway key pair.
// AES-GCM output is sized by the backend (plaintext plus tag), not by the
// token's size query. docs/backends/pkcs11.md, "Tokens", has what was
// seen on each.
//
// A Fernet key is two secret objects sharing the label: an AES-128 key
// (CKK_AES, CKM_AES_CBC_PAD; decryption over CKM_AES_CBC with the padding
// checked on the host, where the token has CKM_AES_CBC) with the key's
// CKA_ID, and an HMAC key (CKK_GENERIC_SECRET, CKM_SHA256_HMAC) whose
// CKA_ID is the key's followed by "hmac" (NSS softokn keeps one secret key
// per CKA_ID), holding the 16-byte signing key followed by 16 zero bytes
// (the same MAC, by RFC 2104; SoftHSM2 refuses HMAC keys shorter than 32
// bytes). Pairs sharing one CKA_ID, as older versions made them, are still
// read.
//
// # Key wrapping
//
// A key generated with KeySpec.Wrappable has CKA_EXTRACTABLE and
// CKA_WRAP_WITH_TRUSTED true: it leaves the token only through WrapKey
// (backend.KeyWrapper, C_WrapKey), under a wrapping key with CKA_TRUSTED
// true, which only the security officer can make (CreateTrustedWrappingKey
// logs in as the SO for that, on a backend of its own, with the SO PIN
// from a backend.SecretFunc whose bytes it zeroes after the login). UnwrapKey
// (backend.KeyUnwrapper, C_UnwrapKey) takes such a key into another token
// with the label, ID and attributes it had, under an unwrapping key made by
// ImportUnwrappingKey (AES) or GenerateUnwrappingKey (RSA); package keywrap
// wraps software keys for it in memory. docs/backends/pkcs11.md, "Key
// wrapping", has the mechanisms and what each token does.
//
// # Certificates
//
// The backend is a backend.CertificateStore: a key pair's X.509 chain is
// kept as CKO_CERTIFICATE objects (CKC_X_509, public token objects) with
// the key's CKA_ID, the leaf labelled like the key and the others
// "<label> CA <n>", so that pkcs11-tool and OpenSC see them with the key;
// certificates other tools wrote with the key's CKA_ID are found too, and
// ordered by issuer links on reading (see [Backend.Certificates]).
// DeleteKey destroys a key's certificate objects with it.
//
// # OAEP fallback
//
// Some tokens (SoftHSM2 2.6.1) decrypt CKM_RSA_PKCS_OAEP only with SHA-1
// and no label: they refuse other hashes with CKR_ARGUMENTS_BAD, and
// SoftHSM2 takes SHA-1 with a label but ignores the label. The first time
// OAEP parameters other than SHA-1 without a label are asked for, the
// backend probes the token once with a ciphertext it made itself (and, with
// a label, checks that a wrong label fails); a token that refuses or gets it
// wrong is remembered, and such decryptions then use raw RSA
// (CKM_RSA_X_509) inside the token, with OAEP decoded on the host in
// constant time. Only the self-made probe decides, so a tampered ciphertext
// can never switch the mode. The private key never leaves the
// token, but the padded message does: see docs/backends/pkcs11.md for the
// trade-off. oaep-fallback=off in the URI turns this off (OAEP with those
// parameters is then backend.ErrUnsupported).
//
// # Concurrency
//
// A Backend and the signers, decrypters and AEADs it hands out are safe for
// concurrent use. Operations run on a [SessionPool] of serial sessions, each
// used by one goroutine at a time; the pool is sized from the token's
// ulMaxSessionCount, or max-sessions, or 4×GOMAXPROCS (at least 16) when the
// token states no limit. Each module is initialized once per process and
// shared by every backend opened on it; keyplane never finalizes it on its
// own (other libraries in the process, such as crypto11, may share it),
// only to re-initialize it after the library lost its state. Every call
// into a module holds a per-module read lock, and re-initialization takes
// it for writing, so C_Finalize never runs while another goroutine is
// inside the library.
//
// Every operation runs on a worker goroutine while its caller waits until
// it returns, until the URI's call-timeout (DefaultCallTimeout when
// absent), or until the method's context ends: a caller is never blocked
// past its deadline, whatever the module does, and gets
// backend.ErrUnavailable then. An operation still inside the module at its
// deadline is abandoned to it with its session (never reused or closed
// while the call is inside); once one has been inside longer than its call
// timeout the module is hung, and every call on it fails at once with a
// [*HungModuleError] until the stuck call returns. A module that can hang
// for good (a network HSM's client library) is contained by running the
// backend in a child process, plugin+pkcs11: (docs/backends/pkcs11.md).
// call-timeout=off ([CallTimeoutOff]) runs operations on the caller's
// goroutine with no deadline, at a little less cost, for a module that
// cannot hang.
//
// Faults are handled inside the backend: a session that the token calls
// invalid is closed and never reused, a stale object handle is looked up
// again once, a lost login is restored (at most twice per operation), and
// device or token faults return backend.ErrUnavailable at once and are
// recovered from on a later call (the slot found again, the module
// re-initialized if need be). CKR_FUNCTION_FAILED and CKR_GENERAL_ERROR,
// which tokens return both for a failed operation and for real trouble,
// are checked with the token first (C_GetSessionInfo, C_GetTokenInfo):
// when it answers, the operation failed (a decryption's failure is
// backend.ErrDecryption) and nothing is recovered. See
// docs/backends/pkcs11.md.
//
// # Security
//
// The backend keeps no PIN: it keeps a PIN callback (Config.PIN, or one
// made from pin-value — held as bytes — or from the pin-source file, read
// again at each login) and calls it at each login and each
// context-specific login, zeroing the bytes as soon as C_Login returns
// (miekg/pkcs11's own C copy for the call is freed unzeroed). The PIN
// never appears in an error, a log line, or [URI.String], GoString or
// Format (no fmt verb prints a URI field by field). module-init-args may hold a secret for some modules and
// is treated the same way: never in an error, a log line, [URI.String] or
// [Backend.URI]. The backend checks the token's flags before logging in and
// refuses when CKF_USER_PIN_FINAL_TRY or CKF_USER_PIN_LOCKED is set; a
// wrong PIN is never retried. Every decryption failure is
// backend.ErrDecryption with no CKR code.
//
// # Key versions
//
// The backend implements backend.KeyVersions with ordinary token objects:
// version 1 is the key as made (CKA_LABEL L, CKA_ID I), version n is
// "L/v<n>" with CKA_ID I‖n (two bytes), and the primary and minimum
// versions are in a private CKO_DATA object labelled L (application
// "keyplane key versions"). A plain label names the primary; crypto11 and
// pkcs11-tool reach a version by its own label or ID. See
// docs/backends/pkcs11.md, "Key versions".
//
// # Limitations
//
// A build without cgo, or with the nopkcs11 build tag, has the same
// exported API and registers the same "pkcs11" opener, but Open, Discover
// and the Backend methods fail with [ErrNoCgo] (which wraps
// backend.ErrUnsupported); URI parsing and the module search on disk work. Keys are found by label or CKA_ID; data
// objects are ignored. On NSS softokn, storing a chain while another is
// stored destroys the old one first (see [Backend.StoreCertificates]),
// and one intermediate cannot be stored under two keys.
package pkcs11
