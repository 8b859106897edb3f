package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// NSSModule is NSS's software token (softokn), Debian amd64.
const NSSModule = "/usr/lib/x86_64-linux-gnu/libsoftokn3.so"

// nssTokenLabel is the label the database token gets from
// dbTokenDescription in the init arguments (softokn pads it with spaces
// to 32 bytes in CK_TOKEN_INFO; miekg/pkcs11 trims them).
const nssTokenLabel = "keyplane"

func init() {
	registerTokenKind(TokenKind{Name: "nss", Package: "libnss3 libnss3-tools", Start: startNSS})
}

// startNSS makes a fresh NSS database in dir with certutil -N (which sets
// the user PIN) and returns softokn opened on it through module-init-args.
// There is no daemon: the module reads the database in the process that
// loads it.
func startNSS(dir string) (*Instance, error) {
	certutil, err := exec.LookPath("certutil")
	if err == nil {
		_, err = os.Stat(NSSModule)
	}
	if err != nil {
		return nil, fmt.Errorf("nss: %w (%v)", ErrNotInstalled, err)
	}
	// The init arguments quote the directory with single quotes; NSS has
	// no escape for a quote inside them.
	if strings.ContainsAny(dir, "'\"") {
		return nil, fmt.Errorf("nss: database directory %q holds a quote, which softokn's init arguments cannot carry", dir)
	}
	db := filepath.Join(dir, "nssdb")
	if err := os.MkdirAll(db, 0o700); err != nil {
		return nil, err
	}
	in := &Instance{Kind: "nss", Module: NSSModule, Label: nssTokenLabel, PIN: "keyplane-1234", Dir: dir}
	pinFile := filepath.Join(dir, "certutil-pin")
	if err := os.WriteFile(pinFile, []byte(in.PIN+"\n"), 0o600); err != nil {
		return nil, err
	}
	defer os.Remove(pinFile)
	cmd := exec.Command(certutil, "-N", "-d", "sql:"+db, "-f", pinFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("certutil -N: %v: %s", err, strings.TrimSpace(out.String()))
	}
	// softokn's own configuration string (NSS's "module spec" parameters):
	// the database, no file name prefixes, no secmod database changes, and
	// the database token's label.
	in.InitArgs = fmt.Sprintf("configdir='sql:%s' certPrefix='' keyPrefix='' secmod='secmod.db' flags= dbTokenDescription='%s'", db, nssTokenLabel)
	return in, nil
}
