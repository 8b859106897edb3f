package plugins_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/plugins"
)

// TestContext: a cancelled context stops a call before it is sent, and a
// deadline cuts a slow call short (gRPC carries the deadline to the
// plugin, whose handler context ends with it).
func TestContext(t *testing.T) {
	b, _ := openPlugin(t, "plugin+software:memory", plugins.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.Keys(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Keys with a cancelled context: %v, want context.Canceled", err)
	}

	ctx, cancel = context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := b.GenerateKey(ctx, backend.KeySpec{Label: "slow", Algorithm: backend.RSA4096})
	took := time.Since(start)
	if err == nil {
		t.Skipf("RSA-4096 generation finished within 20ms (%v); cannot observe the deadline", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("GenerateKey past its deadline: %v, want context.DeadlineExceeded and ErrUnavailable", err)
	}
	if took > 2*time.Second {
		t.Errorf("GenerateKey returned %v after a 20ms deadline", took)
	}
	// The plugin is still healthy afterwards.
	if _, err := b.Keys(t.Context()); err != nil {
		t.Errorf("Keys after a deadline: %v", err)
	}
}
