package backend_test

import (
	"fmt"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// secretConfig is a configuration whose field holds a secret.
type secretConfig struct{ pin string }

func (c secretConfig) String() string { return "x:token=t" }
func (c secretConfig) GoString() string {
	return backend.ConfigGoString("x.Config", c.String(), "PIN")
}
func (c secretConfig) Format(f fmt.State, verb rune) {
	backend.FormatConfig(f, verb, c.String(), c.GoString())
}

func TestFormatConfig(t *testing.T) {
	c := secretConfig{pin: "86420"}
	for _, verb := range []string{"%v", "%+v", "%s", "%d", "%x", "%q"} {
		if got := fmt.Sprintf(verb, c); got != "x:token=t" {
			t.Errorf("%s = %q, want the String form", verb, got)
		}
	}
	if got, want := fmt.Sprintf("%#v", c), `x.Config("x:token=t", PIN: set)`; got != want {
		t.Errorf("%%#v = %q, want %q", got, want)
	}
	if got, want := backend.ConfigGoString("y.Config", "y:", "A", "B"), `y.Config("y:", A: set, B: set)`; got != want {
		t.Errorf("ConfigGoString = %q, want %q", got, want)
	}
}
