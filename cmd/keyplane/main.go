// Command keyplane generates and uses keys held by any keyplane backend: a
// software keystore, a PKCS#11 token, or a plugin. It signs and verifies,
// encrypts and decrypts (RSA-OAEP, AES-256-GCM, Fernet), imports and
// exports keys, makes CSRs and self-signed certificates, and runs the
// conformance suite and a throughput benchmark against a backend.
//
// Run "keyplane --help" for the commands, and see docs/cli.md.
//
// # Structure
//
// One file per command (keygen.go, sign.go, ...), set up in root.go; main
// calls run, which returns the exit status (0 ok, 1 verification or
// conformance failure, 2 any other error) so that tests can check it. The
// backends are linked by blank imports in backends.go; no other file
// depends on a particular backend, except the default keystore URI in
// backenduri.go and the set-up of PKCS#11 wrapping keys in wrappingkey.go.
//
// # Security
//
// Passphrases and PINs are read from files or environment variables, never
// from command-line flags, and never appear in a message: backend URIs and
// key references are printed through backend.Redact. Decryption failures
// are one vague error. Files holding secrets (decrypt output, exported
// keys) are created with mode 0600. Before anything else, main turns core
// dumps off (internal/nocore: RLIMIT_CORE 0, and on Linux the process is
// made non-dumpable, so that neither a crash nor a same-user debugger
// copies its keys, PINs and passphrases out of memory).
package main

import (
	"fmt"
	"os"

	"github.com/keyplane/keyplane/internal/nocore"
)

func main() {
	if err := nocore.Disable(); err != nil {
		fmt.Fprintf(os.Stderr, "%swarning: core dumps stay on: %v\n", errorPrefix, err)
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
