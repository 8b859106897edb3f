package plugins

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/keyplane/keyplane/backend"
)

// TestSentinelRoundTrip sends every sentinel through the status mapping
// both ways: errors.Is holds on the host, the plugin's message is kept
// (except for ErrDecryption, which stays vague), and nothing is taken for
// a broken channel.
func TestSentinelRoundTrip(t *testing.T) {
	if len(sentinelWire) != len(backend.AllSentinels()) {
		t.Fatalf("sentinelWire maps %d sentinels, backend.AllSentinels() has %d: map the new one", len(sentinelWire), len(backend.AllSentinels()))
	}
	for _, s := range backend.AllSentinels() {
		t.Run(s.Error(), func(t *testing.T) {
			in := fmt.Errorf("key %q in slot 3: %w", "k1", s)
			out, transport := fromStatus("p", toStatus(in))
			if transport {
				t.Errorf("a backend error was taken for a broken channel")
			}
			if !errors.Is(out, s) {
				t.Errorf("errors.Is(%v, %v) = false", out, s)
			}
			if backend.Kind(out) != s {
				t.Errorf("backend.Kind = %v, want %v", backend.Kind(out), s)
			}
			var re *RemoteError
			if !errors.As(out, &re) || re.Plugin != "p" {
				t.Errorf("error %T %v is not a *RemoteError from plugin p", out, out)
			}
			if s == backend.ErrDecryption {
				if out.Error() != "p: decryption failed" {
					t.Errorf("decryption error %q carries detail", out.Error())
				}
				return
			}
			if !strings.Contains(out.Error(), `key "k1" in slot 3`) {
				t.Errorf("message %q lost the plugin's text", out.Error())
			}
		})
	}
}

func TestStatusWithoutDetail(t *testing.T) {
	cases := []struct {
		err       error
		want      error
		transport bool
	}{
		{status.Error(codes.Unavailable, "error reading from server: EOF"), backend.ErrUnavailable, true},
		{status.Error(codes.Canceled, "context canceled"), context.Canceled, false},
		{status.Error(codes.DeadlineExceeded, "deadline"), context.DeadlineExceeded, false},
		{status.Error(codes.DeadlineExceeded, "deadline"), backend.ErrUnavailable, false},
		{status.Error(codes.Unimplemented, "unknown method Foo"), backend.ErrUnsupported, false},
		{status.Error(codes.NotFound, "gone"), backend.ErrNotFound, false},
		{status.Error(codes.InvalidArgument, "bad"), backend.ErrInvalidInput, false},
		{status.Error(codes.ResourceExhausted, "received message larger than max"), backend.ErrInvalidInput, false},
		{errors.New("not a status"), backend.ErrUnavailable, true},
		{context.Canceled, context.Canceled, false},
	}
	for _, c := range cases {
		out, transport := fromStatus("p", c.err)
		if !errors.Is(out, c.want) || transport != c.transport {
			t.Errorf("fromStatus(%v) = %v (transport %v), want %v (transport %v)", c.err, out, transport, c.want, c.transport)
		}
	}
	// A plain error with no sentinel stays without one.
	out, _ := fromStatus("p", toStatus(errors.New("odd failure")))
	if backend.Kind(out) != nil || !strings.Contains(out.Error(), "odd failure") {
		t.Errorf("plain error came back as %v (kind %v)", out, backend.Kind(out))
	}
	// Context errors of the plugin keep their kind.
	out, _ = fromStatus("p", toStatus(fmt.Errorf("slow: %w", context.DeadlineExceeded)))
	if !errors.Is(out, context.DeadlineExceeded) {
		t.Errorf("deadline error came back as %v", out)
	}
}
