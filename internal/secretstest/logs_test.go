package secretstest

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// ownPrefix starts the messages the test logs itself.
const ownPrefix = "secretstest:"

// lowestLevel is below slog.LevelDebug, to catch trace records too (the
// plugin host maps go-plugin's trace level to LevelDebug-4).
const lowestLevel = slog.LevelDebug - 8

// logCapture records every log/slog record, at every level, in two forms:
// the text handler's (values printed with fmt's %+v) and the JSON
// handler's (values marshalled with encoding/json, which shows exported
// fields a String method hides).
type logCapture struct {
	mu     sync.Mutex
	out    bytes.Buffer
	total  int
	belowI int // records below slog.LevelInfo (debug and trace), not the test's own
}

func (l *logCapture) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.out.Write(p)
}

// install makes the capture slog's default logger until t ends.
func (l *logCapture) install(t *testing.T) {
	opts := &slog.HandlerOptions{Level: lowestLevel}
	h := &countingHandler{l: l, next: slog.NewMultiHandler(slog.NewTextHandler(l, opts), slog.NewJSONHandler(l, opts))}
	prev := slog.Default()
	slog.SetDefault(slog.New(h))
	t.Cleanup(func() { slog.SetDefault(prev) })
}

// lines returns the captured lines and the record counts.
func (l *logCapture) lines() (lines []string, total, debug int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Split(strings.TrimRight(l.out.String(), "\n"), "\n"), l.total, l.belowI
}

// countingHandler counts records on their way to the real handlers.
type countingHandler struct {
	l    *logCapture
	next slog.Handler
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	h.l.mu.Lock()
	h.l.total++
	// The test's own records (values it logs on purpose) do not count.
	if r.Level < slog.LevelInfo && !strings.HasPrefix(r.Message, ownPrefix) {
		h.l.belowI++
	}
	h.l.mu.Unlock()
	return h.next.Handle(ctx, r)
}

func (h *countingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &countingHandler{l: h.l, next: h.next.WithAttrs(attrs)}
}

func (h *countingHandler) WithGroup(name string) slog.Handler {
	return &countingHandler{l: h.l, next: h.next.WithGroup(name)}
}
