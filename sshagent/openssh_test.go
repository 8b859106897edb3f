package sshagent_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	_ "github.com/keyplane/keyplane/backends/pkcs11"
	_ "github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/keyplane/keyplane/sshagent"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// sshKeyAlgorithms are the key types the agent serves, each tested.
var sshKeyAlgorithms = []backend.Algorithm{backend.ECP256, backend.ECP384, backend.ECP521, backend.Ed25519, backend.RSA2048}

// openBackend opens "software" (software:memory) or "softhsm2" (the test
// binary's shared SoftHSM2 token).
func openBackend(t *testing.T, name string) backend.Backend {
	return testenv.OpenSoftwareOrSoftHSM(t, name, "sshagent")
}

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveSharedSoftHSM()
	os.Exit(code)
}

// generate makes one key of each algorithm, labelled by the algorithm.
func generate(t *testing.T, b backend.Backend, algs []backend.Algorithm) map[backend.Algorithm]*backend.Key {
	t.Helper()
	return testenv.GenerateEach(t, b, "ssh-", algs)
}

// flagRecorder is an agent that records the flags of each signature
// request before passing it on.
type flagRecorder struct {
	agent.ExtendedAgent
	mu    sync.Mutex
	flags []agent.SignatureFlags
}

func (r *flagRecorder) SignWithFlags(key ssh.PublicKey, data []byte, flags agent.SignatureFlags) (*ssh.Signature, error) {
	r.mu.Lock()
	r.flags = append(r.flags, flags)
	r.mu.Unlock()
	return r.ExtendedAgent.SignWithFlags(key, data, flags)
}

func (r *flagRecorder) take() []agent.SignatureFlags {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.flags
	r.flags = nil
	return f
}

// serve runs a on a fresh socket (in a short 0700 directory: Unix socket
// paths are limited to 108 bytes) until the end of the test, and returns
// the socket's path.
func serve(t *testing.T, a agent.ExtendedAgent) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kpagent")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "agent.sock")
	l, err := sshagent.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sshagent.Serve(ctx, l, a) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return sock
}

// authorizedKey is k's authorized_keys line (without comment).
func authorizedKey(t *testing.T, k *backend.Key) string {
	t.Helper()
	pub, err := ssh.NewPublicKey(k.Public)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
}

// tool runs an OpenSSH tool with SSH_AUTH_SOCK=sock, returning its combined
// output and error.
func tool(sock, stdin, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var backendNames = []string{"software", "softhsm2"}

// TestSSHAddList: ssh-add -L lists every key, in authorized_keys form
// with the label as comment, and nothing else (an AES key is not listed).
func TestSSHAddList(t *testing.T) {
	sshAdd := testenv.Command(t, "ssh-add", "openssh-client")
	for _, name := range backendNames {
		t.Run(name, func(t *testing.T) {
			b := openBackend(t, name)
			keys := generate(t, b, sshKeyAlgorithms)
			if _, err := b.GenerateKey(context.Background(), backend.KeySpec{Label: "not-ssh", Algorithm: backend.AES256}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.DeleteKey(context.Background(), "not-ssh") })
			a, err := sshagent.New(b)
			if err != nil {
				t.Fatal(err)
			}
			sock := serve(t, a)
			out, err := tool(sock, "", sshAdd, "-L")
			if err != nil {
				t.Fatalf("ssh-add -L: %v\n%s", err, out)
			}
			got := strings.Split(strings.TrimSpace(out), "\n")
			var want []string
			for _, alg := range sshKeyAlgorithms {
				want = append(want, authorizedKey(t, keys[alg])+" "+keys[alg].Label)
			}
			if !sameSet(got, want) {
				t.Errorf("ssh-add -L:\n%s\nwant the lines:\n%s", out, strings.Join(want, "\n"))
			}
			t.Logf("ssh-add -L listed %d keys", len(got))
		})
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestSSHKeygenSign: ssh-keygen -Y sign with each key through the agent,
// and ssh-keygen -Y verify says "Good signature"; a changed message does
// not verify.
func TestSSHKeygenSign(t *testing.T) {
	keygen := testenv.Command(t, "ssh-keygen", "openssh-client")
	for _, name := range backendNames {
		t.Run(name, func(t *testing.T) {
			b := openBackend(t, name)
			keys := generate(t, b, sshKeyAlgorithms)
			a, err := sshagent.New(b)
			if err != nil {
				t.Fatal(err)
			}
			rec := &flagRecorder{ExtendedAgent: a}
			sock := serve(t, rec)
			dir := t.TempDir()
			msg := "release 1.2.3\n"
			for _, alg := range sshKeyAlgorithms {
				line := authorizedKey(t, keys[alg])
				pubFile := filepath.Join(dir, string(alg)+".pub")
				if err := os.WriteFile(pubFile, []byte(line+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				msgFile := filepath.Join(dir, string(alg)+".txt")
				if err := os.WriteFile(msgFile, []byte(msg), 0o600); err != nil {
					t.Fatal(err)
				}
				out, err := tool(sock, "", keygen, "-Y", "sign", "-f", pubFile, "-n", "file", msgFile)
				if err != nil {
					t.Fatalf("%s: ssh-keygen -Y sign: %v\n%s", alg, err, out)
				}
				if f := rec.take(); alg == backend.RSA2048 && (len(f) != 1 || f[0]&agent.SignatureFlagRsaSha512 == 0) {
					t.Errorf("%s: ssh-keygen -Y sign asked with flags %v, want rsa-sha2-512", alg, f)
				}
				allowed := filepath.Join(dir, string(alg)+".allowed")
				if err := os.WriteFile(allowed, []byte("signer@keyplane "+line+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				verify := []string{"-Y", "verify", "-f", allowed, "-I", "signer@keyplane", "-n", "file", "-s", msgFile + ".sig"}
				out, err = tool(sock, msg, keygen, verify...)
				if err != nil || !strings.Contains(out, "Good \"file\" signature for signer@keyplane") {
					t.Fatalf("%s: ssh-keygen -Y verify: %v\n%s", alg, err, out)
				}
				t.Logf("%s %s: %s", name, alg, strings.TrimSpace(out))
				out, err = tool(sock, msg+"tampered", keygen, verify...)
				if err == nil {
					t.Errorf("%s: ssh-keygen -Y verify accepted a changed message:\n%s", alg, out)
				}
			}
		})
	}
}

// TestSSHLogin logs in to a throwaway sshd on 127.0.0.1 with ECDSA P-256,
// Ed25519 and RSA keys served by the agent, and is refused with a key that
// is not in authorized_keys.
func TestSSHLogin(t *testing.T) {
	sshClient := testenv.Command(t, "ssh", "openssh-client")
	sshd := findSSHD(t)
	for _, name := range backendNames {
		t.Run(name, func(t *testing.T) {
			b := openBackend(t, name)
			algs := []backend.Algorithm{backend.ECP256, backend.Ed25519, backend.RSA2048}
			keys := generate(t, b, algs)
			a, err := sshagent.New(b)
			if err != nil {
				t.Fatal(err)
			}
			rec := &flagRecorder{ExtendedAgent: a}
			sock := serve(t, rec)
			srv := startSSHD(t, sshd)
			for _, alg := range algs {
				pubFile := filepath.Join(srv.dir, string(alg)+".pub")
				if err := os.WriteFile(pubFile, []byte(authorizedKey(t, keys[alg])+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				login := func() (string, error) {
					return tool(sock, "", sshClient, "-F", "none", "-o", "BatchMode=yes",
						"-o", "IdentityAgent="+sock, "-o", "IdentityFile="+pubFile, "-o", "IdentitiesOnly=yes",
						"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile="+filepath.Join(srv.dir, "known_hosts"),
						"-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
						"-p", strconv.Itoa(srv.port), "root@127.0.0.1", "echo", "ok")
				}
				// Not authorized yet: refused.
				srv.authorize(t, nil)
				out, err := login()
				if err == nil || !strings.Contains(out, "Permission denied") {
					t.Fatalf("%s: login with a key not in authorized_keys: %v\n%s", alg, err, out)
				}
				rec.take()
				srv.authorize(t, keys[alg])
				out, err = login()
				if err != nil || !strings.HasSuffix(strings.TrimSpace(out), "ok") {
					t.Fatalf("%s: ssh login: %v\n%s\nsshd: %s", alg, err, out, srv.log())
				}
				t.Logf("%s %s: ssh ... echo ok printed %q", name, alg, lastLine(out))
				f := rec.take()
				if len(f) != 1 {
					t.Errorf("%s: %d signature requests for one login, want 1", alg, len(f))
				}
				if alg == backend.RSA2048 && len(f) == 1 && f[0]&(agent.SignatureFlagRsaSha256|agent.SignatureFlagRsaSha512) == 0 {
					t.Errorf("RSA login asked for ssh-rsa (SHA-1), flags %v", f[0])
				}
			}
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func findSSHD(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("sshd"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/sshd"); err == nil {
		return "/usr/sbin/sshd"
	}
	testenv.Missing(t, "sshd", "apt-get install -y openssh-server")
	return ""
}

// sshdInstance is a throwaway sshd.
type sshdInstance struct {
	dir    string
	port   int
	authz  string // the AuthorizedKeysFile
	stderr *bytes.Buffer
	mu     *sync.Mutex
}

func (s *sshdInstance) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// authorize makes k the only authorized key (none when k is nil).
func (s *sshdInstance) authorize(t *testing.T, k *backend.Key) {
	t.Helper()
	line := ""
	if k != nil {
		line = authorizedKey(t, k) + "\n"
	}
	if err := os.WriteFile(s.authz, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
}

type lockedBuffer struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// startSSHD starts sshd -D -e on 127.0.0.1 with a temporary configuration
// and host key, and stops it (its process group) at the end of the test.
func startSSHD(t *testing.T, sshd string) *sshdInstance {
	t.Helper()
	keygen := testenv.Command(t, "ssh-keygen", "openssh-client")
	dir := t.TempDir()
	hostKey := filepath.Join(dir, "host_ed25519")
	testenv.Run(t, keygen, "-q", "-t", "ed25519", "-N", "", "-f", hostKey)
	// sshd's privilege separation directory must exist.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		testenv.Missing(t, "the /run/sshd directory sshd needs ("+err.Error()+")", "run as root, or mkdir /run/sshd")
	}
	port := freePort(t)
	s := &sshdInstance{dir: dir, port: port, authz: filepath.Join(dir, "authorized_keys"), stderr: new(bytes.Buffer), mu: new(sync.Mutex)}
	s.authorize(t, nil)
	conf := filepath.Join(dir, "sshd_config")
	cfg := fmt.Sprintf(`ListenAddress 127.0.0.1
Port %d
HostKey %s
PidFile %s
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowAgentForwarding no
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
LogLevel VERBOSE
`, port, hostKey, filepath.Join(dir, "sshd.pid"), s.authz)
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sshd, "-D", "-e", "-f", conf)
	cmd.Stdout = lockedBuffer{s.mu, s.stderr}
	cmd.Stderr = lockedBuffer{s.mu, s.stderr}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sshd: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			c.Close()
			return s
		}
		select {
		case <-exited:
			t.Fatalf("sshd exited at start:\n%s", s.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen on port %d within 10s: %v\n%s", port, err, s.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var execLookPath = exec.LookPath
