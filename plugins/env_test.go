package plugins

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
)

// TestChildEnvNamesIsACopy checks that an importer cannot widen the
// environment allow-list: appending to or overwriting the slice
// ChildEnvNames returns changes neither the next call's answer nor the
// environment a plugin is started with.
func TestChildEnvNamesIsACopy(t *testing.T) {
	const intruder = "KEYPLANE_TEST_CLOUD_TOKEN"
	t.Setenv(intruder, "leaked")
	t.Setenv("PATH", "/usr/bin:/bin")

	names := ChildEnvNames()
	want := slices.Clone(names)
	if !slices.Contains(want, "PATH") {
		t.Fatalf("ChildEnvNames() = %v, want PATH in it", want)
	}
	names[slices.Index(names, "PATH")] = intruder
	_ = append(names, intruder)

	if got := ChildEnvNames(); !slices.Equal(got, want) {
		t.Errorf("ChildEnvNames() after a caller changed its copy = %v, want %v", got, want)
	}
	env := childEnv(nil, slog.New(slog.DiscardHandler))
	if !slices.Contains(env, "PATH=/usr/bin:/bin") {
		t.Errorf("plugin environment %q lost PATH after a caller changed its copy of the allow-list", env)
	}
	for _, kv := range env {
		if strings.HasPrefix(kv, intruder+"=") {
			t.Errorf("plugin environment holds %q: a caller widened the allow-list through its copy", kv)
		}
	}
}
