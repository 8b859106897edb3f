package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// warningHandler prints the warnings that backends log through log/slog
// (an unencrypted keystore, loose directory permissions) as one line on
// stderr, in the CLI's own style:
//
//	keyplane: warning: software keystore: no passphrase configured (...) (dir=/home/me/keys)
//
// Records below slog.LevelWarn are dropped.
type warningHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	attrs []slog.Attr
}

func newWarningHandler(w io.Writer) *warningHandler {
	return &warningHandler{mu: new(sync.Mutex), w: w}
}

func (h *warningHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *warningHandler) Handle(_ context.Context, r slog.Record) error {
	level := "warning"
	if r.Level >= slog.LevelError {
		level = "error"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s: %s", errorPrefix, level, r.Message)
	var kv []string
	for _, a := range h.attrs {
		kv = append(kv, a.String())
	}
	r.Attrs(func(a slog.Attr) bool {
		kv = append(kv, a.String())
		return true
	})
	if len(kv) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(kv, ", "))
	}
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *warningHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &h2
}

// WithGroup is not needed for one-line warnings; groups are flattened.
func (h *warningHandler) WithGroup(string) slog.Handler { return h }
