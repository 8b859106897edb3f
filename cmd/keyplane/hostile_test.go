package main

import (
	"bytes"
	"crypto/rand"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeHugeRSAKey is a "RSA PRIVATE KEY" PEM with a 524,288-bit modulus
// n = p·q and random other numbers: not a key, but crypto/rsa spends
// seconds checking it before it says so.
func fakeHugeRSAKey(t *testing.T) []byte {
	t.Helper()
	rnd := func(bits int) *big.Int {
		b := make([]byte, bits/8)
		rand.Read(b)
		b[0] |= 0x80
		b[len(b)-1] |= 1
		return new(big.Int).SetBytes(b)
	}
	p, q := rnd(262144), rnd(262144)
	der, err := asn1.Marshal(struct {
		Version                     int
		N, E, D, P, Q, Dp, Dq, Qinv *big.Int
	}{0, new(big.Int).Mul(p, q), big.NewInt(65537), rnd(524280), p, q, rnd(262136), rnd(262136), rnd(262136)})
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})
}

// tenMillionIterations is pkcs8/testdata/huge-iter.pem (written by
// OpenSSL with 20,000,000 PBKDF2 iterations) with the count changed to
// 10,000,000: both are 4-byte DER INTEGERs (01312D00, 00989680).
func tenMillionIterations(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "pkcs8", "testdata", "huge-iter.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	from, to := []byte{0x02, 0x04, 0x01, 0x31, 0x2d, 0x00}, []byte{0x02, 0x04, 0x00, 0x98, 0x96, 0x80}
	if block == nil || bytes.Count(block.Bytes, from) != 1 {
		t.Fatal("huge-iter.pem does not hold the INTEGER 20000000 once")
	}
	block.Bytes = bytes.Replace(block.Bytes, from, to, 1)
	return pem.EncodeToMemory(block)
}

// TestImportHostileKeys: keyplane import refuses a fake 524,288-bit RSA
// key and an encrypted key asking for 10,000,000 PBKDF2 iterations from
// their headers, before the expensive work, and a file larger than any
// key file before decoding it; the time each took is logged (11.6 s and
// 1.4 s before the bounds).
func TestImportHostileKeys(t *testing.T) {
	dir := t.TempDir()
	hugeIter := tenMillionIterations(t)
	pass := filepath.Join(dir, "pass.txt")
	if err := os.WriteFile(pass, []byte("keyplane\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, append(make([]byte, 0), strings.Repeat("x", maxKeyFile+1)...), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, want string
		data       []byte
		args       []string
	}{
		{"524288-bit RSA", "larger than any key", fakeHugeRSAKey(t), nil},
		{"10M PBKDF2 iterations", "exceeds the limit", hugeIter, []string{"--passphrase-file", pass}},
		{"larger than a key file", "input is larger than", nil, nil},
	} {
		file := big
		if c.data != nil {
			file = filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".pem")
			if err := os.WriteFile(file, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		code, _, stderr := runCLI(t, "", append([]string{"--backend", "software:memory", "import", "--label", "hostile", "--in", file}, c.args...)...)
		elapsed := time.Since(start)
		t.Logf("%s: exit %d in %v: %s", c.name, code, elapsed, strings.TrimSpace(stderr))
		if code != exitError || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", c.name, code, stderr, exitError, c.want)
		}
	}
}
