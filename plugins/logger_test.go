package plugins

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	hclog "github.com/hashicorp/go-hclog"
)

func TestSlogAdapter(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a := newSlogAdapter(l, "go-plugin")
	if a.GetLevel() != hclog.Info || a.IsDebug() || !a.IsInfo() {
		t.Errorf("level = %v, want info", a.GetLevel())
	}
	a.Info("plugin process exited", "id", 7)                     // go-plugin's chatter: demoted
	a.Warn("plugin failed to exit gracefully")                   // kept
	a.Named("keyplane-plugin").Info("from the plugin", "k", "v") // the plugin's own line: kept
	a.With("x", 1).Error("boom")
	out := buf.String()
	for _, want := range []string{"level=WARN msg=\"plugin failed to exit gracefully\"", "msg=\"from the plugin\"", "logger=go-plugin.keyplane-plugin", "k=v", "x=1", "level=ERROR"} {
		if !strings.Contains(out, want) {
			t.Errorf("log output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "plugin process exited") {
		t.Errorf("go-plugin's info message was not demoted:\n%s", out)
	}

	buf.Reset()
	w := &lineLogger{log: func(line string) { l.Info("stdio", "line", line) }}
	w.Write([]byte("first li"))
	w.Write([]byte("ne\nsecond\r\n\npartial"))
	if got := strings.Count(buf.String(), "stdio"); got != 2 || !strings.Contains(buf.String(), `line="first line"`) {
		t.Errorf("line logger wrote:\n%s", buf.String())
	}
}
