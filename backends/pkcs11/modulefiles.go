package pkcs11

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// P11KitModuleConfigDirs returns the directories of p11-kit's module files
// (pkcs11.conf(5)): the packaged ones, then the system administrator's.
// p11-kit also reads ~/.config/pkcs11/modules, but not as root; keyplane
// reads it for other users the same way. Each call returns a new slice.
func P11KitModuleConfigDirs() []string { return slices.Clone(p11KitModuleConfigDirs) }

// ModuleScanDirs returns the directories that hold PKCS#11 modules only,
// so that every shared library in them is a module to list. General
// library directories (/usr/lib, /usr/lib/x86_64-linux-gnu) are not
// scanned: there, only [WellKnownModules] are looked for. Each call
// returns a new slice.
func ModuleScanDirs() []string { return slices.Clone(moduleScanDirs) }

// WellKnownModules returns the module file names looked for in every
// directory of [ModuleDirs]: modules that are installed among ordinary
// libraries (NSS's software token) or in a directory of their own. Each
// call returns a new slice.
func WellKnownModules() []string { return slices.Clone(wellKnownModules) }

// The lists behind the functions above (tests replace the directories).
var p11KitModuleConfigDirs = []string{
	"/usr/share/p11-kit/modules",
	"/etc/pkcs11/modules",
}

var moduleScanDirs = []string{
	"/usr/lib/x86_64-linux-gnu/pkcs11",
	"/usr/lib/aarch64-linux-gnu/pkcs11",
	"/usr/lib64/pkcs11",
	"/usr/lib/pkcs11",
	"/usr/local/lib/pkcs11",
	"/usr/lib/softhsm",
	"/usr/lib64/softhsm",
	"/usr/local/lib/softhsm",
	"/opt/homebrew/lib/softhsm",
}

var wellKnownModules = []string{
	"libsoftokn3.so",
	"libsofthsm2.so",
	"libtpm2_pkcs11.so",
	"libopencryptoki.so",
	"opensc-pkcs11.so",
}

// scanSkipped are modules a directory scan leaves out, because loading
// them without their own set-up says nothing about a token: p11-kit's
// proxy (it re-exports the modules of p11-kit's configuration, listed on
// their own), its RPC client (needs P11_KIT_SERVER_ADDRESS) and OpenSC's
// call logger (needs PKCS11SPY). Given by path, they are probed like any
// other.
var scanSkipped = []string{"p11-kit-proxy.so", "p11-kit-client.so", "pkcs11-spy.so"}

// ModuleFile is a module found on the system by [FindModules].
type ModuleFile struct {
	// Path is the module's absolute path.
	Path string `json:"path"`
	// Sources say where it was found: "p11-kit:/usr/share/p11-kit/modules/softhsm2.module",
	// "dir:/usr/lib/softhsm", ...
	Sources []string `json:"sources"`
	// InitArgs is the x-init-reserved value of a p11-kit module file
	// (module-init-args), "" when none. It may hold a secret: print it
	// only redacted.
	InitArgs string `json:"-"`
}

// FindModules lists the PKCS#11 modules installed on this system, the way
// p11-kit and pkcs11-tool users find them: the "module:" of every p11-kit
// module file in [P11KitModuleConfigDirs] (and ~/.config/pkcs11/modules
// when not root; a relative module name is looked up in [ModuleDirs]),
// every shared library in [ModuleScanDirs], and every [WellKnownModules]
// name in [ModuleDirs]. A file reached by several paths (symbolic links)
// is listed once, under the first path found. Module files whose
// "enable-in" leaves out p11-kit-proxy, or whose "disable-in" names it,
// are still listed: p11-kit's proxy is not how keyplane loads modules.
// Nothing is loaded. The order is stable: p11-kit's files by file name,
// then the directories in order, names sorted.
func FindModules() []ModuleFile {
	var out []ModuleFile
	index := map[string]int{} // real path → index in out
	add := func(path, source, initArgs string) {
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			return // a dangling link or a module file naming nothing
		}
		if st, err := os.Stat(real); err != nil || !st.Mode().IsRegular() {
			return
		}
		key := real + "\x00" + initArgs
		if i, ok := index[key]; ok {
			if !slices.Contains(out[i].Sources, source) {
				out[i].Sources = append(out[i].Sources, source)
			}
			// Show a file by its well-known name rather than an alias
			// (opencryptoki's PKCS11_API.so is libopencryptoki.so).
			if slices.Contains(wellKnownModules, filepath.Base(path)) && !slices.Contains(wellKnownModules, filepath.Base(out[i].Path)) &&
				!strings.HasPrefix(out[i].Sources[0], "p11-kit:") {
				out[i].Path = path
			}
			return
		}
		index[key] = len(out)
		out = append(out, ModuleFile{Path: path, Sources: []string{source}, InitArgs: initArgs})
	}
	confDirs := slices.Clone(p11KitModuleConfigDirs)
	if os.Geteuid() != 0 {
		if home, err := os.UserHomeDir(); err == nil {
			confDirs = append(confDirs, filepath.Join(home, ".config", "pkcs11", "modules"))
		}
	}
	for _, dir := range confDirs {
		names, _ := filepath.Glob(filepath.Join(dir, "*.module"))
		slices.Sort(names)
		for _, f := range names {
			mod, args, ok := readP11KitModuleFile(f)
			if !ok {
				continue
			}
			if !filepath.IsAbs(mod) {
				mod = lookupModuleName(mod)
				if mod == "" {
					continue
				}
			}
			add(mod, "p11-kit:"+f, args)
		}
	}
	for _, dir := range moduleScanDirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries { // sorted by name
			name := e.Name()
			if !strings.HasSuffix(name, ".so") || slices.Contains(scanSkipped, name) {
				continue
			}
			add(filepath.Join(dir, name), "dir:"+dir, "")
		}
	}
	for _, dir := range moduleDirs {
		for _, name := range wellKnownModules {
			add(filepath.Join(dir, name), "dir:"+dir, "")
		}
	}
	return out
}

// lookupModuleName finds a module file name from a p11-kit module file in
// [ModuleDirs] (p11-kit's own module directory comes first there).
func lookupModuleName(name string) string {
	for _, dir := range moduleDirs {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// readP11KitModuleFile reads the "module:" and "x-init-reserved:" fields
// of a p11-kit module file (pkcs11.conf(5): "name: value" lines, "#"
// comments). ok is false when the file cannot be read or names no module.
func readP11KitModuleFile(path string) (module, initArgs string, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, found := strings.Cut(line, ":")
		if !found {
			continue
		}
		switch strings.TrimSpace(name) {
		case "module":
			module = strings.TrimSpace(value)
		case "x-init-reserved":
			initArgs = strings.TrimSpace(value)
		}
	}
	return module, initArgs, sc.Err() == nil && module != ""
}
