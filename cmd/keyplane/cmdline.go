package main

import (
	"log/slog"
	"strings"

	"github.com/keyplane/keyplane/backend"
)

// warnSecretArgs logs one warning when an argument holds a secret URI
// parameter (pin-value=, passphrase=, pin=: whatever backend.Redact hides).
// The command line of every process is readable by every user
// (/proc/<pid>/cmdline, ps), so such a PIN is exposed for as long as
// keyplane runs; by the time keyplane reads it, it cannot take it back,
// so it warns rather than refuses, and names the safe ways. The warning
// never repeats the secret. KEYPLANE_BACKEND is not checked: a process's
// environment is readable only by its own user (and root).
func warnSecretArgs(args []string) {
	for i, a := range args {
		if backend.Redact(a) == a {
			continue
		}
		where := "an argument"
		switch {
		case strings.HasPrefix(a, "--"):
			where, _, _ = strings.Cut(a, "=")
		case i > 0 && strings.HasPrefix(args[i-1], "--"):
			where = args[i-1]
		}
		slog.Warn("a secret is on the command line (" + where + " holds pin-value= or another secret parameter): every user on this host can read it in the process list (ps, /proc/<pid>/cmdline) while keyplane runs; put the PIN in a 0600 file and use pin-source=file:<path>, or set KEYPLANE_BACKEND instead")
		return
	}
}
