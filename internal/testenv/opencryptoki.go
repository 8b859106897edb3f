//go:build linux

package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// opencryptoki 3.8 (Debian 12) keeps its configuration and state at paths
// compiled into the library and the daemon; none can be moved per
// instance (see docs/backends/pkcs11.md, "Tokens", "opencryptoki"):
//
//   - /etc/opencryptoki/opencryptoki.conf, read by pkcsslotd and by the
//     library at C_Initialize;
//   - /var/lib/opencryptoki/swtok, the soft token's state (NVTOK.DAT,
//     MK_SO, MK_USER, TOK_OBJ/). PKCS_APP_STORE is meant to move it, but
//     3.8's init_data_store then leaves the token's data_store path empty:
//     NVTOK.DAT, MK_SO and MK_USER were written to / (observed);
//   - /var/lock/opencryptoki (LCK..APIlock, swtok/LCK..swtok);
//   - /var/run/pkcsslotd.pid and /var/run/pkcsslotd.socket, and a System V
//     shared memory segment of pkcsslotd's, removed when it exits;
//   - /dev/shm/var.lib.opencryptoki.swtok, the token's object cache shared
//     by every process using it (POSIX shared memory, never removed by
//     opencryptoki).
//
// So an opencryptoki instance is the machine's one: a pkcsslotd already
// running with the machine's configuration makes Start skip (its error
// wraps ErrNotInstalled), or, under KEYPLANE_REQUIRE_TOOLS=1, is stopped
// by its PID and started again at Stop. Start takes a lock
// (ockLockFile, flock) that it holds until Stop, so that test processes
// running at once (go test ./... runs packages in parallel) take turns.
// Start moves an existing configuration and soft token state aside into
// ockSaved, writes a configuration with the soft token alone in slot 3,
// starts pkcsslotd and initializes a fresh token; Stop stops pkcsslotd by
// the PID in its pid file, removes the token state and the shared memory
// file, and moves back what was there. A run killed before Stop leaves
// ockSaved behind; the next Start sees it, treats the state in place as a
// leftover of its own, and Stop restores the saved files then. It needs
// root (CI runs as root).
const (
	OpencryptokiModule = "/usr/lib/x86_64-linux-gnu/pkcs11/libopencryptoki.so"

	ockSlotd   = "/usr/sbin/pkcsslotd"
	ockConfDir = "/etc/opencryptoki"
	ockConf    = ockConfDir + "/opencryptoki.conf"
	ockLib     = "/var/lib/opencryptoki"
	ockStore   = ockLib + "/swtok"
	ockSaved   = ockLib + "/keyplane-testenv-saved"
	ockLocks   = "/var/lock/opencryptoki"
	ockPIDFile = "/var/run/pkcsslotd.pid"
	ockShm     = "/dev/shm/var.lib.opencryptoki.swtok"
	ockLockFil = ockLocks + "/keyplane-testenv.lock"
	ockSlot    = 3
	ockGroup   = "pkcs11"

	// ockConfText puts the soft token alone in slot 3. The marker line
	// tells a later Start that the configuration in place is ours.
	ockMarker   = "# written by keyplane's internal/testenv (a throwaway test token); the original is in " + ockSaved
	ockConfText = "version opencryptoki-3.1\n" + ockMarker + "\nslot 3\n{\nstdll = libpkcs11_sw.so\n}\n"
)

// ockLockWait bounds how long Start waits for another test process's
// instance to stop.
const ockLockWait = 10 * time.Minute

func init() {
	registerTokenKind(TokenKind{Name: "opencryptoki", Package: "opencryptoki", Start: startOpencryptoki})
}

// startOpencryptoki makes a fresh soft token in opencryptoki's system
// paths and starts pkcsslotd (see the comment on the constants above).
// dir holds nothing but what the caller puts there.
func startOpencryptoki(dir string) (_ *Instance, err error) {
	pkcsconf, lerr := exec.LookPath("pkcsconf")
	for _, p := range []string{OpencryptokiModule, ockSlotd, ockConfDir, ockLib} {
		if _, err := os.Stat(p); err != nil && lerr == nil {
			lerr = err
		}
	}
	if lerr != nil {
		return nil, fmt.Errorf("opencryptoki: %w (%v)", ErrNotInstalled, lerr)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("opencryptoki: %w (its configuration and state are in /etc and /var: the throwaway token needs root)", ErrNotInstalled)
	}
	grp, err := user.LookupGroup(ockGroup)
	if err != nil {
		return nil, fmt.Errorf("opencryptoki: group %s: %v", ockGroup, err)
	}
	gid, _ := strconv.Atoi(grp.Gid)

	if err := mkdirGroup(ockLocks, gid); err != nil {
		return nil, err
	}
	lock, err := lockFile(ockLockFil, ockLockWait)
	if err != nil {
		return nil, fmt.Errorf("opencryptoki: %v", err)
	}
	in := &Instance{Kind: "opencryptoki", Module: OpencryptokiModule, Label: "keyplane", PIN: "1234", SOPIN: "12345678", Dir: ockStore}
	var slotd int    // our pkcsslotd, once started
	var saved bool   // the machine's files are in ockSaved
	var restart bool // the machine's pkcsslotd was stopped: start it again
	in.stop = func() error {
		var errs []error
		if slotd != 0 {
			errs = append(errs, stopSlotd(slotd))
		}
		_ = os.Remove(ockShm)
		if saved {
			errs = append(errs, restoreOpencryptoki())
		}
		if restart {
			if out, err := exec.Command(ockSlotd).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("opencryptoki: starting the machine's pkcsslotd again: %v: %s", err, bytes.TrimSpace(out)))
			}
		}
		errs = append(errs, lock.Close())
		return errors.Join(errs...)
	}
	defer func() {
		if err != nil {
			_ = in.Stop()
		}
	}()

	// A pkcsslotd running now: ours from a killed run (our configuration
	// is in place), or the machine's own (installing the package starts
	// it where invoke-rc.d may). The machine's is left alone unless tests
	// are required (CI): then it is stopped, and started again at Stop.
	if pid, ok := slotdPID(); ok {
		conf, _ := os.ReadFile(ockConf)
		ours := bytes.Contains(conf, []byte(ockMarker))
		if !ours && !Required() {
			return nil, fmt.Errorf("opencryptoki: %w: pkcsslotd (pid %d) is running with the machine's own configuration, and the test token would replace it; stop it (kill $(cat %s)) or set %s=1 to let the test stop it and start it again afterwards", ErrNotInstalled, pid, ockPIDFile, RequireEnv)
		}
		if err := stopSlotd(pid); err != nil {
			return nil, fmt.Errorf("opencryptoki: %v", err)
		}
		restart = !ours
	}

	if err := saveOpencryptoki(); err != nil {
		return nil, err
	}
	saved = true
	if err := writeFileAtomic(ockConf, []byte(ockConfText), 0o644); err != nil {
		return nil, fmt.Errorf("opencryptoki: %v", err)
	}
	if err := mkdirGroup(filepath.Join(ockStore, "TOK_OBJ"), gid); err != nil {
		return nil, err
	}
	if err := mkdirGroup(filepath.Join(ockLocks, "swtok"), gid); err != nil {
		return nil, err
	}
	_ = os.Remove(ockShm) // the object cache of a token that is gone
	_ = os.Remove(ockPIDFile)

	if out, err := exec.Command(ockSlotd).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("opencryptoki: %s: %v: %s", ockSlotd, err, bytes.TrimSpace(out))
	}
	// pkcsslotd forks into the background; the child writes the pid file.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if pid, ok := slotdPID(); ok {
			slotd = pid
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("opencryptoki: pkcsslotd did not write %s within 10s", ockPIDFile)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A fresh soft token's SO PIN is 87654321; PINs are 4 to 8 characters.
	slot := strconv.Itoa(ockSlot)
	for _, step := range []struct {
		stdin string
		args  []string
	}{
		{in.Label + "\n", []string{"-I", "-c", slot, "-S", "87654321"}},
		{"", []string{"-P", "-c", slot, "-S", "87654321", "-n", in.SOPIN}},
		{"", []string{"-u", "-c", slot, "-S", in.SOPIN, "-n", in.PIN}},
	} {
		cmd := exec.Command(pkcsconf, step.args...)
		cmd.Stdin = strings.NewReader(step.stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			// The arguments hold only the throwaway token's PINs.
			return nil, fmt.Errorf("opencryptoki: pkcsconf %s: %v: %s", step.args[0], err, bytes.TrimSpace(out))
		}
	}
	return in, nil
}

// saveOpencryptoki moves the configuration and the soft token state aside
// into ockSaved: the configuration to ockSaved/opencryptoki.conf (or a
// "no-conf" mark when there is none), the state to ockSaved/swtok (or a
// "no-swtok" mark). What a killed run already saved there stays, and the
// token state in place, that run's, is removed.
func saveOpencryptoki() error {
	if err := os.Mkdir(ockSaved, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("opencryptoki: %v", err)
	}
	savedConf, noConf := filepath.Join(ockSaved, "opencryptoki.conf"), filepath.Join(ockSaved, "no-conf")
	if !exists(savedConf) && !exists(noConf) {
		conf, err := os.ReadFile(ockConf)
		switch {
		case errors.Is(err, os.ErrNotExist):
			err = os.WriteFile(noConf, nil, 0o600)
		case err == nil:
			err = writeFileAtomic(savedConf, conf, 0o644)
		}
		if err != nil {
			return fmt.Errorf("opencryptoki: saving %s: %v", ockConf, err)
		}
	}
	savedStore, noStore := filepath.Join(ockSaved, "swtok"), filepath.Join(ockSaved, "no-swtok")
	if exists(savedStore) || exists(noStore) {
		return os.RemoveAll(ockStore) // a killed run's test token
	}
	err := os.Rename(ockStore, savedStore)
	if errors.Is(err, os.ErrNotExist) {
		err = os.WriteFile(noStore, nil, 0o600)
	}
	if err != nil {
		return fmt.Errorf("opencryptoki: moving %s aside: %v", ockStore, err)
	}
	return nil
}

// restoreOpencryptoki removes the test token and puts back what
// saveOpencryptoki moved aside.
func restoreOpencryptoki() error {
	savedStore := filepath.Join(ockSaved, "swtok")
	switch {
	case exists(savedStore):
		if err := os.RemoveAll(ockStore); err != nil {
			return fmt.Errorf("opencryptoki: %v", err)
		}
		if err := os.Rename(savedStore, ockStore); err != nil {
			return fmt.Errorf("opencryptoki: restoring %s: %v", ockStore, err)
		}
	case exists(filepath.Join(ockSaved, "no-swtok")):
		if err := os.RemoveAll(ockStore); err != nil {
			return fmt.Errorf("opencryptoki: %v", err)
		}
	}
	savedConf := filepath.Join(ockSaved, "opencryptoki.conf")
	switch {
	case exists(savedConf):
		conf, err := os.ReadFile(savedConf)
		if err == nil {
			err = writeFileAtomic(ockConf, conf, 0o644)
		}
		if err != nil {
			return fmt.Errorf("opencryptoki: restoring %s: %v", ockConf, err)
		}
	case exists(filepath.Join(ockSaved, "no-conf")):
		if err := os.Remove(ockConf); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("opencryptoki: %v", err)
		}
	}
	return os.RemoveAll(ockSaved)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// writeFileAtomic writes a file through a temporary one beside it.
func writeFileAtomic(p string, b []byte, mode os.FileMode) error {
	tmp := p + ".keyplane-tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// mkdirGroup makes dir (and its parents) with mode 0770 and group gid, as
// opencryptoki's packaging does.
func mkdirGroup(dir string, gid int) error {
	if err := os.MkdirAll(dir, 0o770); err != nil {
		return fmt.Errorf("opencryptoki: %v", err)
	}
	if err := os.Chown(dir, 0, gid); err != nil {
		return fmt.Errorf("opencryptoki: %v", err)
	}
	return os.Chmod(dir, 0o770)
}

// slotdPID returns the PID in pkcsslotd's pid file when that process is
// alive and is pkcsslotd.
func slotdPID() (int, bool) {
	b, err := os.ReadFile(ockPIDFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, false
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || strings.TrimSpace(string(comm)) != "pkcsslotd" || !alive(pid) {
		return 0, false
	}
	return pid, true
}

// alive reports whether pid is a process that has not exited (a zombie
// has).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: the state follows the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X'
}

// stopSlotd ends pkcsslotd: SIGTERM, then SIGKILL after 2 seconds.
// pkcsslotd ignores SIGTERM while a process is attached to its shared
// memory (observed: a test process that initialized the library, which
// keyplane never finalizes, kept it running until it was killed), and a
// pkcsslotd that did not exit by itself leaves its System V segment
// behind: it is removed here (IPC_RMID; the memory goes when the last
// process detaches), as pkcsslotd does when it exits. Its key is
// ftok(/usr/sbin/pkcsslotd, 'b'), as the daemon makes it.
func stopSlotd(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("kill %d: %v", pid, err)
	}
	for deadline := time.Now().Add(2 * time.Second); alive(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().Before(deadline) {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
		for end := time.Now().Add(5 * time.Second); alive(pid); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(end) {
				return fmt.Errorf("pkcsslotd (pid %d) did not stop", pid)
			}
		}
		return removeSlotdSegment()
	}
	return nil
}

// removeSlotdSegment removes pkcsslotd's System V shared memory segment.
func removeSlotdSegment() error {
	var st syscall.Stat_t
	if err := syscall.Stat(ockSlotd, &st); err != nil {
		return err
	}
	key := uint32('b')<<24 | uint32(st.Dev&0xff)<<16 | uint32(st.Ino&0xffff)
	id, _, errno := syscall.Syscall(syscall.SYS_SHMGET, uintptr(key), 0, 0)
	if errno == syscall.ENOENT {
		return nil
	}
	if errno != 0 {
		return fmt.Errorf("shmget 0x%08x: %v", key, errno)
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_SHMCTL, id, 0 /* IPC_RMID */, 0); errno != 0 {
		return fmt.Errorf("removing pkcsslotd's shared memory 0x%08x: %v", key, errno)
	}
	return nil
}

// lockFile takes an exclusive flock on path within wait; closing the file
// releases it (so does the process's exit).
func lockFile(path string, wait time.Duration) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(wait); ; {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("locking %s (another test's opencryptoki instance): %v", path, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
