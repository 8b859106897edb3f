//go:build cgo && !nopkcs11

package pkcs11

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestModuleDirsDocumented: the module-name row of docs/backends/pkcs11.md
// lists ModuleDirs, in order (where module-name= loads code from is a
// security question, so the doc must not drift).
func TestModuleDirsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/backends/pkcs11.md")
	if err != nil {
		t.Fatal(err)
	}
	var row string
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "| `module-name` |") {
			row = line
		}
	}
	if row == "" {
		t.Fatal("docs/backends/pkcs11.md has no module-name row")
	}
	_, dirs, _ := strings.Cut(row, " in ")
	var got []string
	for _, m := range regexp.MustCompile("`(/[^`]*)`").FindAllStringSubmatch(dirs, -1) {
		got = append(got, m[1])
	}
	if !slices.Equal(got, ModuleDirs()) {
		t.Errorf("docs/backends/pkcs11.md lists module directories\n %q\nModuleDirs() is\n %q", got, ModuleDirs())
	}
}
