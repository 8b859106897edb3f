package pkcs11

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestFindModules lays out p11-kit module files and module directories in
// a temporary tree and checks what is found, in which order, and once.
func TestFindModules(t *testing.T) {
	root := t.TempDir()
	mkfile := func(p, content string) string {
		t.Helper()
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	scan := filepath.Join(root, "lib", "pkcs11")
	general := filepath.Join(root, "lib")
	a := mkfile("lib/pkcs11/liba.so", "")
	mkfile("lib/pkcs11/p11-kit-proxy.so", "")   // left out of a scan
	mkfile("lib/pkcs11/README", "")             // not a library
	soft := mkfile("lib/libsoftokn3.so", "")    // well-known name in a general directory
	mkfile("lib/libunrelated.so", "")           // general directory: not scanned
	other := mkfile("opt/vendor/libhsm.so", "") // named by absolute path in a module file
	if err := os.Symlink(a, filepath.Join(root, "lib", "pkcs11", "libalias.so")); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(root, "p11-kit")
	mkfile("p11-kit/b-vendor.module", "# comment\nmodule: "+other+"\nx-init-reserved: password=hunter2\ncritical: no\n")
	mkfile("p11-kit/a-rel.module", "module: liba.so\n")
	mkfile("p11-kit/c-missing.module", "module: /nowhere/libgone.so\n")
	mkfile("p11-kit/d-empty.module", "# no module line\n")

	for _, v := range []*[]string{&p11KitModuleConfigDirs, &moduleScanDirs, &moduleDirs} {
		saved := *v
		t.Cleanup(func() { *v = saved })
	}
	p11KitModuleConfigDirs = []string{conf, filepath.Join(root, "none")}
	moduleScanDirs = []string{scan}
	moduleDirs = []string{scan, general}
	t.Setenv("HOME", filepath.Join(root, "home")) // no ~/.config/pkcs11 for a non-root run

	got := FindModules()
	type row struct {
		path     string
		sources  []string
		initArgs string
	}
	want := []row{
		{a, []string{"p11-kit:" + filepath.Join(conf, "a-rel.module"), "dir:" + scan}, ""},
		{other, []string{"p11-kit:" + filepath.Join(conf, "b-vendor.module")}, "password=hunter2"},
		{soft, []string{"dir:" + general}, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("found %d modules, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Path != w.path || !slices.Equal(g.Sources, w.sources) || g.InitArgs != w.initArgs {
			t.Errorf("module %d = %+v, want %+v", i, g, w)
		}
	}
}
