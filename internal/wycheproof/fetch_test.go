package wycheproof

import (
	"strings"
	"testing"
)

// TestFetchFailsClearly: with no proxy and an empty module cache, fetch
// gives an error naming the go command's complaint (Dir then hands it to
// testenv.Missing).
func TestFetchFailsClearly(t *testing.T) {
	t.Setenv("GOMODCACHE", t.TempDir())
	t.Setenv("GOPROXY", "off")
	dir, err := fetch()
	if err == nil {
		t.Fatalf("fetch succeeded without a proxy or cache: %s", dir)
	}
	if !strings.Contains(err.Error(), "go mod download") {
		t.Errorf("error %q does not say what failed", err)
	}
	t.Log(err)
}

func TestDir(t *testing.T) {
	dir := Dir(t)
	if !strings.Contains(dir, "wycheproof@"+Version) || !strings.HasSuffix(dir, "testvectors_v1") {
		t.Errorf("Dir = %s, want the pinned module's testvectors_v1", dir)
	}
	if n := len(Files(t, "rsa_oaep_*_test.json")); n != 22 {
		t.Errorf("%d rsa_oaep files at the pinned version, want 22", n)
	}
}
