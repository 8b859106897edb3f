package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// TPM2Module is tpm2-pkcs11's module (Debian, amd64).
const TPM2Module = "/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so"

// tpm2Packages are the Debian packages the tpm2 kind needs.
const tpm2Packages = "swtpm swtpm-tools libtpm2-pkcs11-1 tpm2-abrmd libtss2-tcti-tabrmd0 libtss2-tcti-swtpm0 dbus-daemon opensc"

// The TCTI libraries the daemons and the module load by name.
var tpm2TCTILibs = []string{
	"/usr/lib/x86_64-linux-gnu/libtss2-tcti-tabrmd.so.0",
	"/usr/lib/x86_64-linux-gnu/libtss2-tcti-swtpm.so.0",
}

// Bounds of the start-up: how long each daemon may take to be ready, and
// how long a stopped daemon may take to exit before it is killed.
const (
	tpm2ReadyTimeout = 15 * time.Second
	tpm2StopTimeout  = 5 * time.Second
)

// tpm2MaxTransients is tpm2-abrmd's limit of transient objects loaded for
// one client connection (its default is 27). tpm2-pkcs11 1.9 keeps every
// key it has used loaded for the rest of the process, about two transient
// objects a key, so with the default the 14th key a process generates and
// uses fails (C_GenerateKeyPair: CKR_GENERAL_ERROR, "rmt:warn(2.0): out of
// memory for object contexts"); the conformance suite uses about twenty.
// 100 is the most tpm2-abrmd 3.0 takes. Deployments meet the same limit:
// docs/backends/pkcs11.md says so.
const tpm2MaxTransients = 100

// The tpm2 kind's PINs (tpm2-pkcs11 has no PIN length limits to speak of).
const (
	tpm2UserPIN = "1234"
	tpm2SOPIN   = "12345678"
)

func init() {
	registerTokenKind(TokenKind{Name: "tpm2", Package: tpm2Packages, Start: startTPM2})
}

// startTPM2 makes a tpm2-pkcs11 token over a throwaway software TPM in dir:
// swtpm listening on two free TCP ports of 127.0.0.1, a private D-Bus
// session bus on a Unix socket in dir, and tpm2-abrmd (the resource
// manager) on that bus talking to swtpm; then pkcs11-tool initializes the
// token and its user PIN. The module reaches the TPM through tpm2-abrmd
// (TPM2_PKCS11_TCTI=tabrmd:bus_type=session): without the resource manager
// the TPM's sessions leak from process to process and C_Login fails after
// a few. Every daemon runs in its own process group and is stopped by
// Instance.Stop.
func startTPM2(dir string) (in *Instance, err error) {
	tools := map[string]string{}
	for _, name := range []string{"swtpm", "dbus-daemon", "dbus-send", "tpm2-abrmd", "pkcs11-tool"} {
		p, err := exec.LookPath(name)
		if err != nil {
			return nil, fmt.Errorf("tpm2: %w (%v)", ErrNotInstalled, err)
		}
		tools[name] = p
	}
	for _, f := range append([]string{TPM2Module}, tpm2TCTILibs...) {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("tpm2: %w (%v)", ErrNotInstalled, err)
		}
	}
	state, store := filepath.Join(dir, "tpm-state"), filepath.Join(dir, "store")
	for _, d := range []string{state, store} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	in = &Instance{Kind: "tpm2", Module: TPM2Module, Label: "keyplane", PIN: tpm2UserPIN, SOPIN: tpm2SOPIN, Dir: dir}
	ds := &daemons{in: in}
	in.OnStop(ds.stop)
	defer func() {
		if err != nil {
			_ = in.Stop()
			in = nil
		}
	}()

	port, err := startSWTPM(ds, tools["swtpm"], dir, state)
	if err != nil {
		return in, err
	}
	bus, err := startSessionBus(ds, tools["dbus-daemon"], dir)
	if err != nil {
		return in, err
	}
	abrmd, err := ds.start(dir, "tpm2-abrmd", []string{"DBUS_SESSION_BUS_ADDRESS=" + bus},
		tools["tpm2-abrmd"], "--session", "--allow-root", "--max-transients="+strconv.Itoa(tpm2MaxTransients),
		fmt.Sprintf("--tcti=swtpm:host=127.0.0.1,port=%d", port))
	if err != nil {
		return in, err
	}
	// tpm2-abrmd is ready when it owns its name on the bus.
	if err := abrmd.waitReady(func() error {
		out, err := exec.Command(tools["dbus-send"], "--bus="+bus, "--print-reply", "--dest=org.freedesktop.DBus",
			"/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", "string:com.intel.tss2.Tabrmd").CombinedOutput()
		if err != nil {
			return fmt.Errorf("dbus-send: %v: %s", err, bytes.TrimSpace(out))
		}
		if !bytes.Contains(out, []byte("boolean true")) {
			return errors.New("com.intel.tss2.Tabrmd has no owner on the bus yet")
		}
		return nil
	}); err != nil {
		return in, err
	}

	in.Env = []string{
		"TPM2_PKCS11_STORE=" + store,
		"TPM2_PKCS11_TCTI=tabrmd:bus_type=session",
		"DBUS_SESSION_BUS_ADDRESS=" + bus,
		"TPM2_PKCS11_LOG_LEVEL=0",
	}
	tool := tools["pkcs11-tool"]
	if err := runWithEnv(in.Env, tool, "--module", TPM2Module, "--slot-index", "0",
		"--init-token", "--label", in.Label, "--so-pin", in.SOPIN); err != nil {
		return in, err
	}
	if err := runWithEnv(in.Env, tool, "--module", TPM2Module, "--token-label", in.Label,
		"--login", "--login-type", "so", "--so-pin", in.SOPIN, "--init-pin", "--new-pin", in.PIN); err != nil {
		return in, err
	}
	return in, nil
}

// startSWTPM starts swtpm on two free consecutive ports of 127.0.0.1 (the
// server's and the control channel's) and returns the server port once it
// accepts connections. A port taken between choosing
// it and swtpm binding it is retried with other ports.
func startSWTPM(ds *daemons, swtpm, dir, state string) (int, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePortPair()
		if err != nil {
			return 0, err
		}
		d, err := ds.start(dir, "swtpm", nil, swtpm, "socket", "--tpm2",
			"--tpmstate", "dir="+state,
			"--server", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", port),
			"--ctrl", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", port+1),
			"--flags", "not-need-init,startup-clear")
		if err != nil {
			return 0, err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		lastErr = d.waitReady(func() error {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				return err
			}
			return c.Close()
		})
		if lastErr == nil {
			return port, nil
		}
		if !d.exited() || !strings.Contains(d.stderr(), "in use") {
			return 0, lastErr
		}
	}
	return 0, lastErr
}

// startSessionBus starts a private D-Bus session bus listening on a Unix
// socket in dir and returns its address.
func startSessionBus(ds *daemons, dbusDaemon, dir string) (string, error) {
	sock := filepath.Join(dir, "bus")
	if len(sock) > 100 {
		// sun_path holds 108 bytes: a deep test directory needs a shorter one.
		short, err := os.MkdirTemp("", "kp-bus-")
		if err != nil {
			return "", err
		}
		ds.cleanup = append(ds.cleanup, func() error { return os.RemoveAll(short) })
		sock = filepath.Join(short, "bus")
	}
	addr := "unix:path=" + sock
	d, err := ds.start(dir, "dbus-daemon", nil, dbusDaemon, "--session", "--nofork", "--nopidfile", "--address="+addr)
	if err != nil {
		return "", err
	}
	return addr, d.waitReady(func() error {
		c, err := net.DialTimeout("unix", sock, time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	})
}

// freePortPair returns a port P of 127.0.0.1 such that P and P+1 were both
// free: swtpm's TCTI finds the control channel at the server's port + 1.
func freePortPair() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("tpm2: choosing a free port: %v", err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+1)))
		l.Close()
		if err == nil {
			l2.Close()
			return p, nil
		}
	}
	return 0, errors.New("tpm2: found no two consecutive free ports on 127.0.0.1")
}

// daemon is a process a token kind started and must stop.
type daemon struct {
	name string
	cmd  *exec.Cmd
	log  string        // the file holding its standard output and error
	done chan struct{} // closed when it has exited
	err  error         // what Wait returned, once done is closed
}

// daemons are the processes one token instance started.
type daemons struct {
	in      *Instance // whose PIDs list the daemons
	list    []*daemon
	cleanup []func() error // run after every daemon has exited
}

// stop stops the daemons in the reverse order of their start, then runs
// the clean-ups; it returns the first error.
func (ds *daemons) stop() error {
	var first error
	for i := len(ds.list) - 1; i >= 0; i-- {
		if err := ds.list[i].stop(); err != nil && first == nil {
			first = err
		}
	}
	ds.list = nil
	for _, f := range ds.cleanup {
		if err := f(); err != nil && first == nil {
			first = err
		}
	}
	ds.cleanup = nil
	return first
}

// start starts a daemon in its own process group, its output in
// dir/<name>.log, to be stopped by ds.stop.
func (ds *daemons) start(dir, name string, env []string, path string, args ...string) (*daemon, error) {
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("tpm2: starting %s: %v", name, err)
	}
	d := &daemon{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		close(d.done)
	}()
	ds.list = append(ds.list, d)
	if ds.in != nil {
		ds.in.PIDs = append(ds.in.PIDs, cmd.Process.Pid)
	}
	return d, nil
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stderr returns the end of what the daemon wrote.
func (d *daemon) stderr() string {
	b, _ := os.ReadFile(d.log)
	b = bytes.TrimSpace(b)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// waitReady polls ready until it succeeds, the daemon exits, or
// tpm2ReadyTimeout passes; the error then carries the daemon's output.
func (d *daemon) waitReady(ready func() error) error {
	deadline := time.Now().Add(tpm2ReadyTimeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-d.done:
			return fmt.Errorf("tpm2: %s exited before it was ready (%v): %s", d.name, d.err, d.stderr())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("tpm2: %s not ready after %v (last check: %v): %s", d.name, tpm2ReadyTimeout, err, d.stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the daemon's process group (the daemon and anything it forked)
// by its PID: SIGTERM, then SIGKILL if it has not exited within
// tpm2StopTimeout. It waits for the daemon to exit.
func (d *daemon) stop() error {
	if d.exited() {
		return nil
	}
	pgid := d.cmd.Process.Pid // Setpgid: the group is the daemon's PID
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(tpm2StopTimeout):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-d.done:
		case <-time.After(tpm2StopTimeout):
			return fmt.Errorf("tpm2: %s (pid %d) did not exit after SIGKILL", d.name, pgid)
		}
	}
	return nil
}

// runWithEnv runs a set-up tool with env added, failing with its output.
func runWithEnv(env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("tpm2: %s %s: %v: %s", filepath.Base(name), redactPINArgs(args), err, bytes.TrimSpace(out))
	}
	return nil
}

// redactPINArgs returns args as a command line with the values of PIN
// flags hidden.
func redactPINArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if i > 0 && strings.HasSuffix(args[i-1], "-pin") {
			out[i] = "***"
		}
	}
	return strings.Join(out, " ")
}
