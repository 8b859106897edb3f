// Package nocore keeps a process's memory out of core dumps and away from
// same-user debuggers, for processes that hold keys, PINs and passphrases
// (the keyplane CLI, the keyplane-plugin child).
//
// # Security
//
// On Linux, Disable sets the soft and hard RLIMIT_CORE to 0 and clears the
// process's dumpable flag (prctl PR_SET_DUMPABLE 0). The flag is what
// matters: a process that is not dumpable never dumps core, whatever the
// limit or core_pattern (a pipe to systemd-coredump or apport included);
// other processes of the same user cannot ptrace it or read its
// /proc/<pid>/mem, environ or maps (those files become owned by root).
// On other Unix systems only RLIMIT_CORE is set; elsewhere Disable does
// nothing.
//
// # Limitations
//
// Root (CAP_SYS_PTRACE) can still read the memory. The dumpable flag is
// reset by execve, so each program calls Disable itself; a child started
// with os/exec is dumpable again. Hard RLIMIT_CORE cannot be raised again
// by an unprivileged process.
package nocore

// Disable turns core dumps off for this process where the operating system
// allows it. It tries every step and reports each one that failed.
func Disable() error { return disable() }
