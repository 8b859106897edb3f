package testenv

import (
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// P11KitServer is a running `p11-kit server` exporting a SoftHSM2 token
// over a Unix socket, the stand-in for a network HSM (TOKEN-FACTS.md):
// P11KitClientModule reaches it. Kill and Start are the fault of the
// fault tests: the server's whole process group killed, then started
// again on the same socket.
type P11KitServer struct {
	Tok  *Token
	Sock string

	t    testing.TB
	exe  string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartP11KitServer starts a server for tok on the socket path sock, sets
// P11_KIT_SERVER_ADDRESS for the rest of the test (the client module reads
// it when it is initialized), and kills the server at the end of the test.
// It skips/fails t when p11-kit or its client module is missing.
func StartP11KitServer(t testing.TB, tok *Token, sock string) *P11KitServer {
	t.Helper()
	exe := Command(t, "p11-kit", "p11-kit")
	if _, err := os.Stat(P11KitClientModule); err != nil {
		Missing(t, P11KitClientModule, "apt-get install -y p11-kit-modules")
	}
	t.Setenv("P11_KIT_SERVER_ADDRESS", "unix:path="+sock)
	s := &P11KitServer{Tok: tok, Sock: sock, t: t, exe: exe}
	s.Start()
	t.Cleanup(s.Kill)
	return s
}

// Start runs the server and waits until its socket accepts connections.
func (s *P11KitServer) Start() {
	s.t.Helper()
	os.Remove(s.Sock)
	cmd := exec.Command(s.exe, "server", "-f", "-n", s.Sock, "--provider", s.Tok.Module, "pkcs11:token="+s.Tok.Label)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+s.Tok.Conf)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr // stdout: shell variables
	// The server forks a process per client connection: its own process
	// group, so that Kill takes the connections down with the listener.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("p11-kit server: %v", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", s.Sock); err == nil {
			c.Close()
			return
		}
		select {
		case <-s.done:
			s.t.Fatalf("p11-kit server exited at start: %v", cmd.ProcessState)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Kill()
			s.t.Fatal("p11-kit server's socket did not come up within 10s")
		}
	}
}

// Kill ends the server's whole process group with SIGKILL (no goodbye to
// its clients) and waits until no process of the group is left.
func (s *P11KitServer) Kill() {
	if s.cmd == nil {
		return
	}
	pgid := s.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGKILL)
	<-s.done
	for range 1000 {
		if syscall.Kill(-pgid, 0) != nil {
			break
		}
		syscall.Kill(-pgid, syscall.SIGKILL)
		time.Sleep(time.Millisecond)
	}
	s.cmd = nil
}
