package main

// The backends the CLI links. Each registers its URI scheme with
// backend.Register in its init function; nothing else in the CLI names a
// backend, except the default URI in backenduri.go.
import (
	_ "github.com/keyplane/keyplane/backends/awskms"   // awskms:
	_ "github.com/keyplane/keyplane/backends/pkcs11"   // pkcs11:
	_ "github.com/keyplane/keyplane/backends/software" // software:
	_ "github.com/keyplane/keyplane/plugins"           // plugin: and plugin+<scheme>:
)
