package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrChecksumMismatch: the plugin executable's SHA-256 is not the pinned
// one. The plugin is not started. Errors with it also wrap
// backend.ErrAuthentication.
var ErrChecksumMismatch = errors.New("plugin executable checksum mismatch")

// host is the host side of one plugin: the child process it runs, the one
// gRPC connection to it, and its supervision (supervise.go): a child that
// crashes, hangs past a call's deadline, fails its health check or keeps
// answering ErrUnavailable is killed and a new one started for the next
// call.
type host struct {
	t      *target
	opts   Options
	logger *slog.Logger
	hcl    hclog.Logger
	exe    *pinnedExe // the checked copy that every start runs; nil without a pin

	cur atomic.Pointer[child] // the live child, or nil

	mu       sync.Mutex // guards the fields below, starting and retiring
	closed   atomic.Bool
	starting *startOp       // the start in progress, or nil
	failed   int            // children in a row that never served a call
	next     time.Time      // no start before this (backoff after failures)
	lastErr  error          // why the last start failed, or nil
	refused  error          // a start refused for good (ErrAuthentication), or nil
	stopping sync.WaitGroup // starts in progress and retired children being stopped
	ifaces   []pb.Interface // what the first child reported
	starts   atomic.Uint64  // children started and made live
}

// startOp is one start of a child, which callers wait for (each no longer
// than its own deadline).
type startOp struct {
	done chan struct{}
	c    *child
	err  error
}

// child is one plugin process and its connection.
type child struct {
	client  *goplugin.Client
	rpc     pb.BackendClient
	direct  *directPool // nil: every call over gRPC
	dir     string      // private directory holding the child's sockets
	pid     int
	dead    atomic.Bool
	served  atomic.Bool   // a call succeeded on it
	strikes atomic.Int32  // ErrUnavailable answers and timeouts in a row
	gone    chan struct{} // closed when retired: ends its health checks
}

// usable reports whether calls may go to c.
func (c *child) usable() bool {
	return c != nil && !c.dead.Load() && !c.client.Exited()
}

// stop ends the child — gracefully, which closes its backend, and after 2
// seconds with SIGKILL (go-plugin's Kill) — waits for it, and removes its
// sockets' directory (which a killed child cannot clean up itself). A
// child that supervision replaces is killed first (replace).
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
		opts.CallTimeout = t.callTimeout()
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = defaultStartTimeout
	}
	if opts.HealthInterval == 0 {
		opts.HealthInterval = defaultHealthInterval
	}
	if opts.HealthTimeout <= 0 {
		opts.HealthTimeout = defaultHealthTimeout
	}
	if opts.MaxUnavailable == 0 {
		opts.MaxUnavailable = defaultMaxUnavailable
	}
	logger := opts.Logger.With("keyplane_plugin", t.name)
	return &host{t: t, opts: opts, logger: logger, hcl: newSlogAdapter(logger, "go-plugin")}
}

// conn returns the live child, starting one when there is none (first use,
// after a crash, after supervision replaced one). One start runs at a
// time, on its own goroutine, bounded by StartTimeout; a caller waits for
// it no longer than ctx allows. After children that never served a call
// (failed starts, children killed before their first success) the next
// start waits (restartBackoff), and callers meanwhile get ErrUnavailable
// at once. The fast path is one atomic load and one check of the process
// state.
func (h *host) conn(ctx context.Context) (*child, error) {
	if c := h.cur.Load(); c.usable() {
		return c, nil
	}
	h.mu.Lock()
	if h.closed.Load() {
		h.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", h.t.name, backend.ErrClosed)
	}
	if c := h.cur.Load(); c != nil {
		if c.usable() {
			h.mu.Unlock()
			return c, nil
		}
		h.retireLocked(c, "plugin process exited; starting it again")
	}
	if h.refused != nil {
		h.mu.Unlock()
		return nil, h.refused
	}
	op := h.starting
	if op == nil {
		if wait := time.Until(h.next); wait > 0 {
			n, last := h.failed, h.lastErr
			h.mu.Unlock()
			if last != nil {
				// The start's own error keeps its kind (a backend URI the
				// plugin refuses stays ErrInvalidInput).
				return nil, fmt.Errorf("%w (next start of the plugin in %v)", last, wait.Round(time.Millisecond))
			}
			return nil, fmt.Errorf("%s: plugin restarting after %d children in a row that served no call; next start in %v: %w", h.t.name, n, wait.Round(time.Millisecond), backend.ErrUnavailable)
		}
		op = &startOp{done: make(chan struct{})}
		h.starting = op
		h.stopping.Go(func() { h.runStart(op) })
	}
	h.mu.Unlock()
	select {
	case <-op.done:
		return op.c, op.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: waiting for the plugin process to start: %w (%w)", h.t.name, ctx.Err(), backend.ErrUnavailable)
	}
}

// runStart starts a child for op and makes it the live one.
func (h *host) runStart(op *startOp) {
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.StartTimeout)
	c, err := h.start(ctx)
	cancel()
	h.mu.Lock()
	h.starting = nil
	switch {
	case err == nil && h.closed.Load():
		c.dead.Store(true)
		c.stop()
		c, err = nil, fmt.Errorf("%s: %w", h.t.name, backend.ErrClosed)
	case err == nil:
		h.lastErr = nil
		h.starts.Add(1)
		h.cur.Store(c)
		h.stopping.Go(func() { h.watch(c) })
	case errors.Is(err, backend.ErrAuthentication):
		// A wrong PIN or passphrase, or a checksum mismatch: trying again
		// cannot help, and a PIN sent again by every new child would lock
		// the token.
		h.refused = err
	case errors.Is(err, backend.ErrUnavailable):
		// A token or a plugin that is away: back off.
		h.lastErr = err
		h.backoffLocked()
	default:
		// A configuration the plugin refuses (ErrInvalidInput, say): the
		// next call tries again at once, so that a fix is picked up.
		h.lastErr = nil
	}
	h.mu.Unlock()
	op.c, op.err = c, err
	close(op.done)
}

// backoffLocked counts one more child that never served a call and delays
// the next start.
func (h *host) backoffLocked() {
	h.failed++
	h.next = time.Now().Add(restartBackoff(h.failed))
}

// start runs the plugin executable (its checked copy when a hash is
// pinned) and sends it the backend configuration.
func (h *host) start(ctx context.Context) (*child, error) {
	var cmd *exec.Cmd
	if h.t.sha256 != nil {
		if h.exe == nil {
			// Once per host: restarts run the same checked bytes.
			exe, err := pinExecutable(h.t.name, h.t.exe, h.t.sha256)
			if err != nil {
				return nil, err
			}
			h.exe = exe
		}
		cmd = h.exe.command()
	} else {
		cmd = exec.Command(h.t.exe)
	}
	// The child's sockets (go-plugin's gRPC socket and the direct channel's)
	// go in a directory only this user can enter, removed when it stops.
	dir, err := os.MkdirTemp("", "keyplane-plugin-")
	if err != nil {
		return nil, fmt.Errorf("%s: making the plugin's socket directory: %v: %w", h.t.name, err, backend.ErrUnavailable)
	}
	cmd.Env = append(childEnv(h.opts.ForwardEnv, h.opts.Logger), goplugin.EnvUnixSocketDir+"="+dir)
	setChildProc(cmd)
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: Handshake(),
		Plugins:         goplugin.PluginSet{pluginName: &grpcPlugin{}},
		Cmd:             cmd,
		// No SecureConfig: go-plugin would hash cmd.Path again by path;
		// the pinned copy is already checked and cannot change.
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
		return nil, fmt.Errorf("%s: starting %s: %v: %w", h.t.name, h.t.exe, err, backend.ErrUnavailable)
	}
	raw, err := proto.Dispense(pluginName)
	if err != nil {
		client.Kill()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%s: %s does not serve the keyplane backend plugin: %v: %w", h.t.name, h.t.exe, err, backend.ErrUnavailable)
	}
	c := &child{client: client, rpc: raw.(pb.BackendClient), dir: dir, gone: make(chan struct{})}
	if rc := client.ReattachConfig(); rc != nil {
		c.pid = rc.Pid
	}
	// A backend that hangs while opening (a PKCS#11 module stuck in
	// C_Initialize) must not hold every caller forever: ctx ends with
	// StartTimeout.
	resp, err := h.openBackend(ctx, c)
	if err != nil {
		c.stop()
		return nil, err
	}
	if h.ifaces == nil {
		h.ifaces = append([]pb.Interface{}, resp.GetInterfaces()...)
	}
	if !h.opts.NoDirect {
		c.direct = h.openDirect(ctx, c)
	}
	h.logger.Debug("plugin started", "executable", h.t.exe, "pid", c.pid, "direct", c.direct != nil)
	return c, nil
}

// retire forgets a child whose connection failed and stops it (reaping the
// process), so that the next call starts a fresh one.
func (h *host) retire(c *child, why string) {
	h.mu.Lock()
	h.retireLocked(c, why)
	h.mu.Unlock()
}

func (h *host) retireLocked(c *child, why string) {
	if !c.dead.CompareAndSwap(false, true) {
		return
	}
	if h.cur.Load() == c {
		h.cur.Store(nil)
	}
	close(c.gone)
	if !c.served.Load() {
		h.backoffLocked()
	}
	if h.closed.Load() {
		c.stop()
		return
	}
	h.stopping.Go(c.stop) // under mu: never concurrent with close's Wait
	h.logger.Warn(why, "pid", c.pid)
}

// close stops the child, waits for it to exit, and makes every later call
// return ErrClosed. It is idempotent.
func (h *host) close() error {
	h.mu.Lock()
	if !h.closed.CompareAndSwap(false, true) {
		h.mu.Unlock()
		return nil
	}
	c := h.cur.Swap(nil)
	if c != nil && c.dead.CompareAndSwap(false, true) {
		close(c.gone)
	} else {
		c = nil
	}
	h.mu.Unlock()
	if c != nil {
		c.stop()
	}
	// Starts in progress end, and children retired after a crash are
	// reaped, and their logging is over, before Close returns.
	h.stopping.Wait()
	if h.exe != nil {
		h.exe.close()
	}
	return nil
}

// live is conn for the calls that take no context (Sign, Decrypt): the
// fast path needs none; waiting for a start is bounded by CallTimeout.
func (h *host) live() (*child, error) {
	if c := h.cur.Load(); c.usable() {
		return c, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.CallTimeout)
	defer cancel()
	return h.conn(ctx)
}

// openBackend makes the child's first call: OpenBackend, or, with secrets
// from the program's callbacks, OpenBackendWithSecrets (config.go), whose
// secret bytes are zeroed once sent.
func (h *host) openBackend(ctx context.Context, c *child) (*pb.OpenBackendResponse, error) {
	var resp *pb.OpenBackendResponse
	var err error
	if len(h.t.secrets) == 0 {
		resp, err = c.rpc.OpenBackend(ctx, &pb.OpenBackendRequest{Uri: h.t.config})
	} else {
		req, rerr := h.t.secretsRequest(ctx)
		if rerr != nil {
			return nil, rerr
		}
		resp, err = c.rpc.OpenBackendWithSecrets(ctx, req)
		zeroSecrets(req)
		if status.Code(err) == codes.Unimplemented {
			return nil, fmt.Errorf("%s: %s cannot take a PIN or passphrase from code (it has no OpenBackendWithSecrets; build it on plugins.ServeOpenRequest): %w", h.t.name, h.t.exe, backend.ErrUnsupported)
		}
	}
	if err != nil {
		out, _ := fromStatus(h.t.name, err)
		return nil, fmt.Errorf("opening the backend in %s: %w", h.t.exe, out)
	}
	return resp, nil
}
