package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// pycaCandidates are the interpreters PythonCryptography tries, in order:
// the python3 first on PATH (pyenv's shim on these machines), pyenv's own
// versions, then the system ones.
func pycaCandidates() []string {
	c := []string{"python3"}
	if home, err := os.UserHomeDir(); err == nil {
		c = append(c, filepath.Join(home, ".pyenv", "shims", "python3"))
		if m, _ := filepath.Glob(filepath.Join(home, ".pyenv", "versions", "*", "bin", "python3")); len(m) > 0 {
			c = append(c, m...)
		}
	}
	return append(c, "/usr/local/bin/python3", "/usr/bin/python3")
}

var (
	pycaOnce  sync.Once
	pycaFound map[int]pycaInterp
)

type pycaInterp struct {
	path    string
	version string
}

// findPyca returns, for each cryptography major version seen, the first
// interpreter that has it.
func findPyca() map[int]pycaInterp {
	pycaOnce.Do(func() {
		pycaFound = map[int]pycaInterp{}
		for _, p := range pycaCandidates() {
			path, err := exec.LookPath(p)
			if err != nil {
				continue
			}
			out, err := exec.Command(path, "-c", "import cryptography; print(cryptography.__version__)").Output()
			if err != nil {
				continue
			}
			v := strings.TrimSpace(string(out))
			major, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
			if err != nil {
				continue
			}
			if _, ok := pycaFound[major]; !ok {
				pycaFound[major] = pycaInterp{path, v}
			}
		}
	})
	return pycaFound
}

// PythonCryptography returns a python3 whose cryptography package has at
// least major version minMajor (48 for ML-KEM, ML-DSA and HPKE), and that
// version; or skips t (fails it under KEYPLANE_REQUIRE_TOOLS=1). Debian's
// python3-cryptography is 38, so the peer for the post-quantum tests is
// the default python3 of these machines (pyenv's 3.11 with cryptography
// 48), found on PATH or under ~/.pyenv.
func PythonCryptography(t testing.TB, minMajor int) (path, version string) {
	t.Helper()
	best := -1
	for major := range findPyca() {
		if major >= minMajor && (best < 0 || major < best) {
			best = major
		}
	}
	if best < 0 {
		Missing(t, "python3 with cryptography >= "+strconv.Itoa(minMajor),
			"pip install 'cryptography>="+strconv.Itoa(minMajor)+"' for the default python3 (Debian's python3-cryptography is 38)")
		return "", ""
	}
	i := findPyca()[best]
	return i.path, i.version
}
