//go:build linux

package plugins

import "golang.org/x/sys/unix"

// noCoreDumps keeps the plugin's memory — which holds PINs, passphrases,
// decrypted plaintexts and, for a software keystore, private keys — out
// of core files and away from other processes of the same user: the core
// file size limit goes to 0 (hard and soft, so the backend cannot raise it
// again), and the process is made non-dumpable (PR_SET_DUMPABLE 0), which
// also refuses ptrace attach and /proc/<pid>/mem to anyone without
// CAP_SYS_PTRACE. A pipe in core_pattern (systemd-coredump) is not
// bound by RLIMIT_CORE, but a non-dumpable process is not dumped at all.
// Errors are ignored: these only narrow what could leak.
func noCoreDumps() {
	unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0})
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}
