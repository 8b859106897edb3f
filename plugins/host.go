package plugins

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"

	hclog "github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// ErrChecksumMismatch: the plugin executable's SHA-256 is not the pinned
// one. The plugin is not started. Errors with it also wrap
// backend.ErrAuthentication.
var ErrChecksumMismatch = errors.New("plugin executable checksum mismatch")

// host is the host side of one plugin: the child process it runs (started
// again after a crash) and the one gRPC connection to it.
type host struct {
	t      *target
	opts   Options
	logger *slog.Logger
	hcl    hclog.Logger

	cur atomic.Pointer[child] // the live child, or nil

	mu       sync.Mutex // serializes starting, retiring and closing
	closed   atomic.Bool
	stopping sync.WaitGroup // retired children being stopped
	ifaces   []pb.Interface // what the first child reported
}

// child is one plugin process and its connection.
type child struct {
	client *goplugin.Client
	rpc    pb.BackendClient
	direct *directPool // nil: every call over gRPC
	dir    string      // private directory holding the child's sockets
	pid    int
	dead   atomic.Bool
}

// stop kills the child, waits for it, and removes its sockets' directory
// (which a killed child cannot clean up itself).
func (c *child) stop() {
	c.client.Kill()
	if c.direct != nil {
		c.direct.close()
	}
	os.RemoveAll(c.dir)
}

func newHost(t *target, opts Options) *host {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = defaultCallTimeout
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = defaultStartTimeout
	}
	logger := opts.Logger.With("keyplane_plugin", t.name)
	return &host{t: t, opts: opts, logger: logger, hcl: newSlogAdapter(logger, "go-plugin")}
}

// conn returns the live child, starting one when there is none (first use,
// or after a crash). Starting is serialized; the fast path is one atomic
// load and one check of the process state.
func (h *host) conn(ctx context.Context) (*child, error) {
	if c := h.cur.Load(); c != nil && !c.dead.Load() && !c.client.Exited() {
		return c, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed.Load() {
		return nil, fmt.Errorf("%s: %w", h.t.name, backend.ErrClosed)
	}
	if c := h.cur.Load(); c != nil {
		if !c.dead.Load() && !c.client.Exited() {
			return c, nil
		}
		h.retireLocked(c)
	}
	c, err := h.start(ctx)
	if err != nil {
		return nil, err
	}
	h.cur.Store(c)
	return c, nil
}

// start runs the plugin executable, checks its hash first when one is
// pinned, and sends it the backend configuration.
func (h *host) start(ctx context.Context) (*child, error) {
	if err := h.checkSum(); err != nil {
		return nil, err
	}
	// The child's sockets (go-plugin's gRPC socket and the direct channel's)
	// go in a directory only this user can enter, removed when it stops.
	dir, err := os.MkdirTemp("", "keyplane-plugin-")
	if err != nil {
		return nil, fmt.Errorf("%s: making the plugin's socket directory: %v: %w", h.t.name, err, backend.ErrUnavailable)
	}
	cmd := exec.Command(h.t.exe)
	cmd.Env = append(childEnv(h.opts.ForwardEnv, h.opts.Logger), goplugin.EnvUnixSocketDir+"="+dir)
	setParentDeath(cmd)
	var secure *goplugin.SecureConfig
	if h.t.sha256 != nil {
		secure = &goplugin.SecureConfig{Checksum: h.t.sha256, Hash: sha256.New()}
	}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  Handshake,
		Plugins:          goplugin.PluginSet{pluginName: &grpcPlugin{}},
		Cmd:              cmd,
		SecureConfig:     secure,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		Logger:           h.hcl,
		StartTimeout:     h.opts.StartTimeout,
		GRPCDialOptions:  dialOptions(),
		Stderr:           io.Discard,
		SyncStdout:       stdioLogger(h.logger, h.t.name, "stdout"),
		SyncStderr:       stdioLogger(h.logger, h.t.name, "stderr"),
	})
	proto, err := client.Client()
	if err != nil {
		client.Kill()
		os.RemoveAll(dir)
		if errors.Is(err, goplugin.ErrChecksumsDoNotMatch) {
			// The file changed between our check and go-plugin's.
			return nil, fmt.Errorf("%s: %s changed while being checked; not starting it: %w (%w)", h.t.name, h.t.exe, ErrChecksumMismatch, backend.ErrAuthentication)
		}
		return nil, fmt.Errorf("%s: starting %s: %v: %w", h.t.name, h.t.exe, err, backend.ErrUnavailable)
	}
	raw, err := proto.Dispense(pluginName)
	if err != nil {
		client.Kill()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%s: %s does not serve the keyplane backend plugin: %v: %w", h.t.name, h.t.exe, err, backend.ErrUnavailable)
	}
	c := &child{client: client, rpc: raw.(pb.BackendClient), dir: dir}
	if rc := client.ReattachConfig(); rc != nil {
		c.pid = rc.Pid
	}
	// A backend that hangs while opening (a PKCS#11 module stuck in
	// C_Initialize) must not hold every caller forever.
	octx, cancel := context.WithTimeout(ctx, h.opts.StartTimeout)
	defer cancel()
	resp, err := c.rpc.OpenBackend(octx, &pb.OpenBackendRequest{Uri: h.t.config})
	if err != nil {
		c.stop()
		out, _ := fromStatus(h.t.name, err)
		return nil, fmt.Errorf("opening the backend in %s: %w", h.t.exe, out)
	}
	if h.ifaces == nil {
		h.ifaces = append([]pb.Interface{}, resp.GetInterfaces()...)
	}
	if !h.opts.NoDirect {
		c.direct = h.openDirect(octx, c)
	}
	h.logger.Debug("plugin started", "executable", h.t.exe, "pid", c.pid, "direct", c.direct != nil)
	return c, nil
}

// checkSum compares the executable's SHA-256 with the pinned one, with a
// message that shows both (go-plugin checks again, just before it starts
// the process).
func (h *host) checkSum() error {
	if h.t.sha256 == nil {
		return nil
	}
	f, err := os.Open(h.t.exe)
	if err != nil {
		return fmt.Errorf("%s: reading %s to check its SHA-256: %v: %w", h.t.name, h.t.exe, err, backend.ErrUnavailable)
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return fmt.Errorf("%s: reading %s to check its SHA-256: %v: %w", h.t.name, h.t.exe, err, backend.ErrUnavailable)
	}
	got := sum.Sum(nil)
	if subtle.ConstantTimeCompare(got, h.t.sha256) != 1 {
		return fmt.Errorf("%s: %s has SHA-256 %s, but %s is pinned; not starting it: %w (%w)",
			h.t.name, h.t.exe, hex.EncodeToString(got), hex.EncodeToString(h.t.sha256), ErrChecksumMismatch, backend.ErrAuthentication)
	}
	return nil
}

// retire forgets a child whose connection failed and stops it (reaping the
// process), so that the next call starts a fresh one.
func (h *host) retire(c *child) {
	if !c.dead.CompareAndSwap(false, true) {
		return
	}
	h.mu.Lock()
	if h.cur.Load() == c {
		h.cur.Store(nil)
	}
	h.stopping.Go(c.stop) // under mu: never concurrent with close's Wait
	h.mu.Unlock()
	h.logger.Warn("plugin connection lost; the next call starts it again", "pid", c.pid)
}

func (h *host) retireLocked(c *child) {
	c.dead.Store(true)
	h.cur.Store(nil)
	h.stopping.Go(c.stop)
}

// fail turns an error from a call on child c into a keyplane error, and
// retires c when the channel itself failed.
func (h *host) fail(c *child, err error) error {
	out, transport := fromStatus(h.t.name, err)
	if transport {
		if h.closed.Load() {
			return fmt.Errorf("%s: %w", h.t.name, backend.ErrClosed)
		}
		h.retire(c)
	}
	return out
}

// close stops the child, waits for it to exit, and makes every later call
// return ErrClosed. It is idempotent.
func (h *host) close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed.CompareAndSwap(false, true) {
		return nil
	}
	if c := h.cur.Swap(nil); c != nil {
		c.dead.Store(true)
		c.stop()
	}
	// Children retired after a crash are reaped, and their logging is
	// over, before Close returns.
	h.stopping.Wait()
	return nil
}

// failDirect is fail for a call over the direct channel.
func (h *host) failDirect(c *child, err error) error {
	var te *directTransportError
	if !errors.As(err, &te) {
		out, _ := fromStatus(h.t.name, err)
		return out
	}
	if h.closed.Load() {
		return fmt.Errorf("%s: %w", h.t.name, backend.ErrClosed)
	}
	if te.timeout {
		return fmt.Errorf("%s: no answer within %v: %w (%w)", h.t.name, h.opts.CallTimeout, context.DeadlineExceeded, backend.ErrUnavailable)
	}
	h.retire(c)
	return fmt.Errorf("%s: connection lost: %v: %w", h.t.name, te.err, backend.ErrUnavailable)
}

// live is conn for the calls that take no context (Sign, Decrypt): the
// fast path needs none; starting a child is bounded by CallTimeout.
func (h *host) live() (*child, error) {
	if c := h.cur.Load(); c != nil && !c.dead.Load() && !c.client.Exited() {
		return c, nil
	}
	ctx, cancel := h.callContext()
	defer cancel()
	return h.conn(ctx)
}

// callContext is the context for calls that take none.
func (h *host) callContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), h.opts.CallTimeout)
}
