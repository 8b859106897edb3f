// Package tpm2 holds only tests: keyplane's PKCS#11 backend on
// tpm2-pkcs11 over a throwaway software TPM (swtpm and tpm2-abrmd, started
// by internal/testenv's "tpm2" token kind), in a test binary of its own so
// that the module's environment (TPM2_PKCS11_STORE, TPM2_PKCS11_TCTI,
// DBUS_SESSION_BUS_ADDRESS) is set before the module is first loaded and
// never meets another token's.
//
// The conformance suite runs in full (Config.Short is not set): RSA key
// generation in swtpm takes well under a second, and rsa-4096 is not
// reported by the token. The tests also pin, one by one, the tpm2-pkcs11
// behaviours the backend works around (docs/backends/pkcs11.md, "Tokens").
package tpm2
