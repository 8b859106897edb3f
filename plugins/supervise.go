package plugins

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// Supervision of the child. A child is killed (SIGKILL, its process
// group) and replaced by the next call when
//
//   - a call is still unanswered at the host's deadline (Options.CallTimeout):
//     its module is stuck, and a stuck call holds whatever it holds for good;
//   - it does not answer a health check (Ping) within HealthTimeout, or
//     answers that its backend is broken;
//   - MaxUnavailable calls in a row end in ErrUnavailable: a child whose
//     module is wedged answers fast with ErrUnavailable for ever, so a host
//     that only restarted children on transport errors would keep it.
//
// Calls in flight on a killed child get ErrUnavailable at once (its
// sockets close). Children that never served a call in a row delay the
// next start (restartBackoff), so a token that is down costs a start
// every second at most, and callers are never held past their deadline.

// errHostDeadline is the cause of a call context that ran out of the
// host's own deadline (not the caller's).
var errHostDeadline = errors.New("plugin call deadline")

// restartBackoff is the wait before the start after n children in a row
// that never served a call: 50 ms, doubling, at most 1 s (a token that
// comes back is used within about a second).
func restartBackoff(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := minRestartBackoff << min(n-1, 10)
	return min(d, maxRestartBackoff)
}

const (
	minRestartBackoff = 50 * time.Millisecond
	maxRestartBackoff = time.Second
)

// replace kills child c now and forgets it; the next call starts another.
func (h *host) replace(c *child, why string) {
	if c.dead.Load() {
		return
	}
	if !c.client.Exited() {
		killGroup(c.pid)
	}
	h.retire(c, "plugin child replaced: "+why)
}

// watch sends c a health check every HealthInterval until it is retired.
func (h *host) watch(c *child) {
	if h.opts.HealthInterval < 0 {
		return
	}
	tick := time.NewTicker(h.opts.HealthInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.gone:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), h.opts.HealthTimeout)
		_, err := c.rpc.Ping(ctx, &pb.PingRequest{})
		cancel()
		if err == nil || status.Code(err) == codes.Unimplemented {
			continue // an older plugin has no Ping, but it answered
		}
		if c.dead.Load() {
			return
		}
		if status.Code(err) == codes.DeadlineExceeded {
			h.replace(c, fmt.Sprintf("no answer to its health check within %v", h.opts.HealthTimeout))
		} else {
			out, _ := fromStatus(h.t.name, err)
			h.replace(c, fmt.Sprintf("health check failed: %v", out))
		}
		return
	}
}

// succeeded records a call that c answered.
func (h *host) succeeded(c *child) {
	if c.strikes.Load() != 0 { // no store, and no cache-line traffic, on the usual path
		c.strikes.Store(0)
	}
	if !c.served.Load() {
		c.served.Store(true)
		h.mu.Lock()
		h.failed = 0
		h.mu.Unlock()
	}
}

// strike records an ErrUnavailable answer from c, and replaces c after
// MaxUnavailable of them in a row.
func (h *host) strike(c *child) {
	if h.opts.MaxUnavailable < 0 {
		return
	}
	if n := c.strikes.Add(1); int(n) >= h.opts.MaxUnavailable {
		h.replace(c, fmt.Sprintf("%d calls in a row answered ErrUnavailable", n))
	}
}

// fail turns an error from a gRPC call on child c into a keyplane error:
// it retires c when the channel itself failed, replaces it when the call
// ran past the host's deadline (ctx is the call's context), and counts an
// ErrUnavailable answer.
func (h *host) fail(ctx context.Context, c *child, err error) error {
	out, transport := fromStatus(h.t.name, err)
	switch {
	case transport:
		if h.closed.Load() {
			return fmt.Errorf("%s: %w", h.t.name, backend.ErrClosed)
		}
		h.retire(c, "plugin connection lost; the next call starts it again")
	case context.Cause(ctx) == errHostDeadline:
		h.replace(c, fmt.Sprintf("a call was still unanswered after %v", h.opts.CallTimeout))
		return fmt.Errorf("%s: no answer within %v; the plugin process is replaced: %w (%w)", h.t.name, h.opts.CallTimeout, context.DeadlineExceeded, backend.ErrUnavailable)
	case ctx.Err() != nil:
		// The caller's own deadline or cancellation: not the child's fault.
	case errors.Is(out, backend.ErrUnavailable):
		h.strike(c)
	default:
		h.succeeded(c) // it answered, with the backend's error
	}
	return out
}

// failDirect is fail for a call over the direct channel, whose deadline is
// always the host's.
func (h *host) failDirect(c *child, err error) error {
	var te *directTransportError
	if !errors.As(err, &te) {
		out, _ := fromStatus(h.t.name, err)
		if errors.Is(out, backend.ErrUnavailable) {
			h.strike(c)
		} else {
			h.succeeded(c)
		}
		return out
	}
	if h.closed.Load() {
		return fmt.Errorf("%s: %w", h.t.name, backend.ErrClosed)
	}
	if te.timeout {
		h.replace(c, fmt.Sprintf("a call was still unanswered after %v", h.opts.CallTimeout))
		return fmt.Errorf("%s: no answer within %v; the plugin process is replaced: %w (%w)", h.t.name, h.opts.CallTimeout, context.DeadlineExceeded, backend.ErrUnavailable)
	}
	h.retire(c, "plugin connection lost; the next call starts it again")
	return fmt.Errorf("%s: connection lost: %v: %w", h.t.name, te.err, backend.ErrUnavailable)
}

// callContext bounds one call by the host's deadline d as well as ctx's
// own; errHostDeadline tells the two apart.
func callContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, d, errHostDeadline)
}
