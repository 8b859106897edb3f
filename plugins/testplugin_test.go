package plugins_test

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/software"
)

// The test plugin: this test binary, started by a host (TestMain sees the
// handshake's magic cookie), serves a software keystore whose faults are
// switched on by files the test creates. Each fault file is consumed by
// the first plugin process that sees it (os.Remove succeeds for one), and
// that process keeps the fault for the rest of its life, as a process
// whose PKCS#11 module is wedged does; a fresh process is healthy.
//
//	plugin:<test binary>?dir=<keystore>&hang=<file>&unavailable=<file>&slow-health=<file>
//
//	hang         Sign blocks for ever (a module call that never returns)
//	unavailable  Sign fails at once with ErrUnavailable, and Health says
//	             the backend is wedged (a wedged module answering fast)
//	slow-health  Health blocks for ever; signing still works
//	down         (not consumed) while it exists, opening the backend
//	             fails with ErrUnavailable (a token that is away)
//	starts       a line is appended to this file at every open
//
// Capabilities' notes report the process's dumpable flag and core-file
// limit, for TestChildNoCoreDumps.
type testPluginConfig struct {
	hang, unavailable, slowHealth string
}

var (
	hung, unavailable, slowHealth atomic.Bool // this plugin process's faults
)

func openTestPlugin(ctx context.Context, config string) (backend.Backend, error) {
	q, err := url.ParseQuery(config)
	if err != nil {
		return nil, fmt.Errorf("test plugin: %v: %w", err, backend.ErrInvalidInput)
	}
	dir := q.Get("dir")
	if dir == "" {
		return nil, fmt.Errorf("test plugin: dir= is required: %w", backend.ErrInvalidInput)
	}
	if f := q.Get("starts"); f != "" {
		if log, err := os.OpenFile(f, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
			fmt.Fprintln(log, os.Getpid())
			log.Close()
		}
	}
	if f := q.Get("down"); f != "" {
		if _, err := os.Stat(f); err == nil {
			return nil, fmt.Errorf("test plugin: the token is away: %w", backend.ErrUnavailable)
		}
	}
	b, err := software.Open(ctx, "software:"+dir)
	if err != nil {
		return nil, err
	}
	return &testPlugin{Backend: b, cfg: testPluginConfig{hang: q.Get("hang"), unavailable: q.Get("unavailable"), slowHealth: q.Get("slow-health")}}, nil
}

// take reports whether this process has the fault, consuming its file
// when it first sees it.
func take(file string, flag *atomic.Bool) bool {
	if flag.Load() {
		return true
	}
	takeMu.Lock()
	defer takeMu.Unlock()
	if file != "" && os.Remove(file) == nil {
		flag.Store(true)
	}
	return flag.Load()
}

var takeMu sync.Mutex

type testPlugin struct {
	backend.Backend
	cfg testPluginConfig
}

func (b *testPlugin) Signer(ctx context.Context, ref string) (crypto.Signer, error) {
	s, err := b.Backend.Signer(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &testSigner{Signer: s, cfg: b.cfg}, nil
}

// Health is the optional health check the plugin server's Ping calls.
func (b *testPlugin) Health(ctx context.Context) error {
	if take(b.cfg.slowHealth, &slowHealth) {
		select {} // never answers
	}
	if take(b.cfg.unavailable, &unavailable) {
		return fmt.Errorf("test plugin: a module call has not returned (wedged): %w", backend.ErrUnavailable)
	}
	return nil
}

func (b *testPlugin) Capabilities(ctx context.Context) (*backend.Capabilities, error) {
	c, err := b.Backend.Capabilities(ctx)
	if err != nil {
		return nil, err
	}
	dumpable, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil {
		dumpable = -1
	}
	var lim unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_CORE, &lim)
	c.Notes = append(c.Notes, fmt.Sprintf("dumpable=%d core-limit=%d/%d", dumpable, lim.Cur, lim.Max))
	return c, nil
}

type testSigner struct {
	crypto.Signer
	cfg testPluginConfig
}

func (s *testSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if take(s.cfg.hang, &hung) {
		for {
			time.Sleep(time.Hour) // a module call that never returns
		}
	}
	if take(s.cfg.unavailable, &unavailable) {
		return nil, fmt.Errorf("test plugin: token not reachable: %w", backend.ErrUnavailable)
	}
	return s.Signer.Sign(r, digest, opts)
}
