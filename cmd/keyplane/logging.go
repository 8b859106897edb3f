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
// Records below min are dropped: slog.LevelWarn unless KEYPLANE_LOG asks
// for more (see parseLogLevel).
type warningHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	min   slog.Level
	attrs []slog.Attr
}

func newWarningHandler(w io.Writer, min slog.Level) *warningHandler {
	return &warningHandler{mu: new(sync.Mutex), w: w, min: min}
}

// LogEnv names the variable that sets how much keyplane logs.
const LogEnv = "KEYPLANE_LOG"

// parseLogLevel reads KEYPLANE_LOG: "debug", "info", "warn" (the default
// when empty) or "error".
func parseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "", "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%s=%q: want debug, info, warn or error", LogEnv, s)
}

func (h *warningHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.min }

func (h *warningHandler) Handle(_ context.Context, r slog.Record) error {
	var level string
	switch {
	case r.Level >= slog.LevelError:
		level = "error"
	case r.Level >= slog.LevelWarn:
		level = "warning"
	case r.Level >= slog.LevelInfo:
		level = "info"
	default:
		level = "debug"
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
