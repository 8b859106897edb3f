// Package secretstest holds TestSecretsNeverLeak (issue 6, item 6): it
// runs the library and the keyplane CLI with a known, distinctive PIN and
// passphrases through success and every failure path — wrong PIN or
// passphrase, missing key, dead token, a PIN or passphrase file with loose
// permissions, a plugin crash — and checks that no secret (as text, hex,
// base64 or Go's byte-slice forms) appears in:
//
//   - any returned error, its whole wrapped chain, and its %+v and %#v forms;
//   - any log/slog record, captured at every level down to trace (below
//     debug) through a text and a JSON handler;
//   - the String of a pkcs11.URI, of software.Config, of backend.Redact, and
//     the Capabilities (Description, Notes, Details) of each backend;
//   - backends, URIs and keys as a program might print or log them: fmt's
//     %v, %+v, %#v and %s, encoding/json, and a log/slog attribute;
//   - the /proc/<pid>/environ and /proc/<pid>/cmdline of the keyplane-plugin
//     child (plugin+software with a passphrase, plugin+pkcs11 with a PIN),
//     before and after a SIGKILL;
//   - the stdout and stderr of the keyplane CLI.
//
// The awskms part (issue 13) adds the AWS secret access key of a fake
// shared credentials file to the secrets, runs the awskms backend on the
// in-process local-kms through success, missing-key, unreachable-service
// and no-credentials paths, and gives ParseURI and backend.Open URIs that
// try to carry a credential.
//
// TestSecretTailsNeverLeak (issue 12, B.5) gives the parsers, backend.Redact
// and the CLI URIs whose PIN or passphrase holds an unencoded "&", and
// looks for the part after it (the "PIN tail" secret) in the same places.
//
// Every subcase first checks that the failure it is about really happened
// (errors.Is on the expected sentinel, or the CLI's exit status and
// message), so the test cannot pass by not exercising a path.
//
// The package has no code outside its tests. The PKCS#11 parts need
// SoftHSM2 (softhsm2-util and libsofthsm2.so): they skip when it is missing
// and fail when KEYPLANE_REQUIRE_TOOLS=1, as internal/testenv does.
//
// # Limitations
//
// The CLI has no switch for debug logging (it shows log/slog records at
// warning level and above), so for the CLI only what it prints is checked;
// debug-level records are checked through the library. The environment of
// a plugin started by the CLI (a grandchild of the test) is not read; the
// library's plugin children are.
//
// SoftHSM2 reads its token directory once per process, so the token that
// the test deletes from disk is deleted in the first run of a process only;
// with -count=2 the later runs check the Open of the missing token alone.
package secretstest
