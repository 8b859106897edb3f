// Package opencryptoki holds only tests: the conformance suite on a
// throwaway opencryptoki 3.8 soft token (internal/testenv's "opencryptoki"
// kind, which starts pkcsslotd and uses opencryptoki's system paths; see
// docs/backends/pkcs11.md, "Tokens"). It is a package of its own so that
// the token's process-wide state — one instance per machine, a library
// keyplane never finalizes — stays out of the pkcs11 package's tests.
package opencryptoki
