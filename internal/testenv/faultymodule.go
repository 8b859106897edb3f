package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// faultyModuleSource is a PKCS#11 module in name only: its
// C_GetFunctionList, the first call any PKCS#11 application makes, crashes
// the process (CRASH) or never returns (HANG). It stands for a vendor
// module that does so, which no real token does on demand.
const faultyModuleSource = `#include <signal.h>
#include <unistd.h>
unsigned long C_GetFunctionList(void **list) {
#ifdef CRASH
	raise(SIGSEGV);
#endif
	for (;;) pause();
	return 0;
}
`

// FaultyModule builds, with gcc, a shared library whose C_GetFunctionList
// crashes the process (fault "crash") or hangs for ever (fault "hang"),
// and returns its path. It skips/fails t without gcc.
func FaultyModule(t testing.TB, fault string) string {
	t.Helper()
	gcc := Command(t, "gcc", "gcc")
	dir := t.TempDir()
	src := filepath.Join(dir, "faulty.c")
	if err := os.WriteFile(src, []byte(faultyModuleSource), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "lib"+fault+".so")
	args := []string{"-shared", "-fPIC", "-o", out, src}
	switch fault {
	case "crash":
		args = append(args, "-DCRASH")
	case "hang":
	default:
		t.Fatalf("testenv.FaultyModule: unknown fault %q", fault)
	}
	if msg, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %v: %v\n%s", args, err, msg)
	}
	return out
}
