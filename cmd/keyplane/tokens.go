package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/keyplane/keyplane/backends/pkcs11"
	"github.com/spf13/cobra"
)

// findModules lists the modules `keyplane tokens` probes when no --module
// is given; tests put their own list in its place.
var findModules = pkcs11.FindModules

// tokensListing is the JSON that `keyplane tokens --json` prints.
type tokensListing struct {
	Modules []moduleListing `json:"modules"`
}

// moduleListing is one module: what pkcs11.Discover read, where the module
// was found, and the error that stopped its probe ("" when none).
type moduleListing struct {
	pkcs11.ModuleInfo
	Sources []string `json:"sources"`
	Error   string   `json:"error,omitempty"`
}

// moduleRequest is one module to probe: --module (with the
// --module-init-args after it) or one that pkcs11.FindModules found.
type moduleRequest struct {
	Path     string   `json:"path"`
	InitArgs string   `json:"init_args,omitempty"`
	Secret   bool     `json:"init_args_secret,omitempty"` // init args not from the command line: show them redacted
	Sources  []string `json:"-"`
}

// moduleFlags collects --module and --module-init-args in command-line
// order, so that init args belong to the --module before them.
type moduleFlags struct {
	list []moduleRequest
}

type moduleFlag struct{ f *moduleFlags }

func (v moduleFlag) String() string { return "" }
func (v moduleFlag) Type() string   { return "path" }
func (v moduleFlag) Set(s string) error {
	if !strings.HasPrefix(s, "/") {
		return fmt.Errorf("--module %q: want an absolute path", s)
	}
	v.f.list = append(v.f.list, moduleRequest{Path: s, Sources: []string{"command line"}})
	return nil
}

type initArgsFlag struct{ f *moduleFlags }

func (v initArgsFlag) String() string { return "" }
func (v initArgsFlag) Type() string   { return "string" }
func (v initArgsFlag) Set(s string) error {
	n := len(v.f.list)
	if n == 0 {
		return errors.New("--module-init-args must follow the --module it is for")
	}
	if v.f.list[n-1].InitArgs != "" {
		return fmt.Errorf("--module-init-args given twice for --module %s", v.f.list[n-1].Path)
	}
	if s == "" || strings.IndexByte(s, 0) >= 0 {
		return errors.New("--module-init-args is empty or holds a NUL byte")
	}
	v.f.list[n-1].InitArgs = s
	return nil
}

const tokensLong = `List the PKCS#11 modules on this system, their slots and tokens, and what
keyplane can do with each token — the way "p11-kit list-modules" and
"pkcs11-tool -L -M" are used — with the keyplane URI that opens each token.

Without --module, modules are found in p11-kit's configuration (the
"module:" line of /usr/share/p11-kit/modules/*.module and
/etc/pkcs11/modules/*.module; ~/.config/pkcs11/modules too unless root,
as p11-kit does), every library in the PKCS#11 module directories
(/usr/lib/x86_64-linux-gnu/pkcs11, /usr/lib/softhsm, ...), and a few
well-known modules among ordinary libraries (NSS's libsoftokn3.so). With
--module, only the modules given are probed. A module that needs
C_Initialize arguments (NSS softokn) takes them from --module-init-args,
which applies to the --module before it.

For each module: its CK_INFO; for each slot: its CK_SLOT_INFO and, when a
token is present, the token's label, serial, manufacturer, model and flags,
the key types and operations keyplane would offer (from the mechanism list
alone; the backend's capability report, "keyplane conformance", may say
less after trying the token), the mechanisms keyplane would use, and the
URI. No PIN is needed or read, and no object is touched: add
&pin-source=file:/path/to/pin to the URI to log in.

Each module is probed in a child process (keyplane running itself), under a
deadline, so that a module that crashes or hangs is listed with the error
instead of taking the listing down. A module that fails to load or
initialize is listed with its error. Init args read from a p11-kit module
file (x-init-reserved) are shown as REDACTED; those given with
--module-init-args are shown as given.

Exit status: 0 when the listing was printed, 1 when a module given with
--module could not be probed, 2 on usage errors.`

func newTokensCmd(c *cli) *cobra.Command {
	var asJSON, inProcess, probeChild bool
	var timeout time.Duration
	mods := &moduleFlags{}
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "List PKCS#11 modules, slots and tokens, with the URI that opens each token",
		Long:  tokensLong,
		Example: `  keyplane tokens
  keyplane tokens --module /usr/lib/softhsm/libsofthsm2.so --json
  keyplane tokens --module /usr/lib/x86_64-linux-gnu/libsoftokn3.so \
      --module-init-args "configdir='sql:$HOME/.pki/nssdb' certPrefix='' keyPrefix='' secmod='secmod.db' flags="`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if probeChild {
				return runProbeChild(ctx, c, timeout)
			}
			if timeout <= 0 {
				return errors.New("--timeout must be positive")
			}
			reqs := mods.list
			explicit := len(reqs) > 0
			if !explicit {
				for _, m := range findModules() {
					reqs = append(reqs, moduleRequest{Path: m.Path, InitArgs: m.InitArgs, Secret: m.InitArgs != "", Sources: m.Sources})
				}
			}
			probe := probeInChild
			if inProcess {
				probe = probeInProcess
			}
			listing := tokensListing{Modules: probeAll(ctx, reqs, timeout, probe)}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var err error
			if asJSON {
				err = writeJSON(c.stdout, listing)
			} else {
				err = writeTokensTable(c.stdout, listing)
			}
			if err != nil {
				return err
			}
			if explicit {
				for _, m := range listing.Modules {
					if m.Error != "" {
						msg := m.Error
						if !strings.Contains(msg, m.Path) {
							msg = "module " + m.Path + ": " + msg
						}
						return failed(errors.New(msg))
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the listing as JSON (shape: docs/cli.md)")
	cmd.Flags().Var(moduleFlag{mods}, "module", "probe the PKCS#11 module at this absolute `path` (repeatable; default: the modules found on the system)")
	cmd.Flags().Var(initArgsFlag{mods}, "module-init-args", "C_Initialize arguments (CK_C_INITIALIZE_ARGS.pReserved) for the --module before it")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "longest time one module may take")
	cmd.Flags().BoolVar(&inProcess, "in-process", false, "probe modules in this process instead of a child process each (a crashing module then ends keyplane)")
	cmd.Flags().BoolVar(&probeChild, "probe-child", false, "internal: probe the one module described on stdin and write JSON to stdout")
	_ = cmd.Flags().MarkHidden("probe-child")
	return cmd
}

// probeFunc probes one module within ctx.
type probeFunc func(ctx context.Context, req moduleRequest) (*pkcs11.ModuleInfo, error)

// maxProbes bounds how many modules are probed at once.
const maxProbes = 4

// probeAll probes every module, at most maxProbes at once, each within
// timeout, and returns the listings in the order of reqs.
func probeAll(ctx context.Context, reqs []moduleRequest, timeout time.Duration, probe probeFunc) []moduleListing {
	out := make([]moduleListing, len(reqs))
	sem := make(chan struct{}, maxProbes)
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			info, err := probe(pctx, req)
			if info == nil {
				info = &pkcs11.ModuleInfo{Path: req.Path, Slots: []pkcs11.SlotInfo{}}
			}
			l := moduleListing{ModuleInfo: *info, Sources: req.Sources}
			if l.Sources == nil {
				l.Sources = []string{}
			}
			if err != nil {
				l.Error = err.Error()
				if pctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
					l.Error = fmt.Sprintf("no answer within %v (the module hangs?): %s", timeout, l.Error)
				}
			}
			out[i] = l
		}()
	}
	wg.Wait()
	return out
}

func probeInProcess(ctx context.Context, req moduleRequest) (*pkcs11.ModuleInfo, error) {
	return pkcs11.Discover(ctx, req.Path, pkcs11.DiscoverOptions{InitArgs: req.InitArgs, InitArgsSecret: req.Secret})
}

// probeResult is what a probe child writes to stdout.
type probeResult struct {
	Module *pkcs11.ModuleInfo `json:"module"`
	Error  string             `json:"error,omitempty"`
}

// runProbeChild is `keyplane tokens --probe-child`: it reads one
// moduleRequest as JSON from stdin (init args travel there, never on a
// command line), probes it in this process and writes a probeResult.
func runProbeChild(ctx context.Context, c *cli, timeout time.Duration) error {
	var req moduleRequest
	if err := json.NewDecoder(io.LimitReader(c.stdin, 1<<20)).Decode(&req); err != nil {
		return fmt.Errorf("reading the probe request: %w", err)
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	info, err := probeInProcess(ctx, req)
	res := probeResult{Module: info}
	if err != nil {
		res.Error = err.Error()
	}
	return json.NewEncoder(c.stdout).Encode(res)
}

// writeTokensTable prints the listing for people.
func writeTokensTable(w io.Writer, l tokensListing) error {
	ew := &errWriter{w: w}
	if len(l.Modules) == 0 {
		ew.printf("no PKCS#11 modules found (give one with --module PATH)\n")
	}
	for i, m := range l.Modules {
		if i > 0 {
			ew.printf("\n")
		}
		ew.printf("module %s\n", m.Path)
		if len(m.Sources) > 0 {
			ew.printf("  found in: %s\n", strings.Join(m.Sources, ", "))
		}
		if m.InitArgs != "" {
			ew.printf("  init args: %s\n", m.InitArgs)
		}
		if lib := m.Library; lib != nil {
			ew.printf("  library: %s, %s %s (Cryptoki %s)\n", lib.Description, lib.Manufacturer, lib.Version, lib.CryptokiVersion)
		}
		if m.Error != "" {
			ew.printf("  error: %s\n", m.Error)
		}
		if m.Library != nil && len(m.Slots) == 0 {
			ew.printf("  no slots\n")
		}
		for _, s := range m.Slots {
			ew.printf("  slot %d: %s (%s)", s.ID, s.Description, s.Manufacturer)
			if len(s.Flags) > 0 {
				ew.printf(" [%s]", strings.Join(s.Flags, ", "))
			}
			ew.printf("\n")
			if s.Error != "" {
				ew.printf("    error: %s\n", s.Error)
			}
			t := s.Token
			if t == nil {
				if s.Error == "" {
					ew.printf("    no token\n")
				}
				continue
			}
			ew.printf("    token %q: %s %s, serial %q, firmware %s\n", t.Label, t.Manufacturer, t.Model, t.Serial, t.FirmwareVersion)
			ew.printf("      flags: %s\n", strings.Join(t.Flags, ", "))
			if t.URI != "" {
				ew.printf("      uri: %s\n", t.URI)
				ew.printf("           (add &pin-source=file:/path/to/pin to log in)\n")
			} else {
				ew.printf("      uri: none (the token is not initialized)\n")
			}
			ew.printf("      key types: %s\n", joinOr(t.Algorithms, "none"))
			ew.printf("      operations: %s\n", joinOr(t.Operations, "none"))
			ew.printf("      key agreement: %s\n", t.KeyAgreement)
			ew.printf("      post-quantum: %s\n", t.PostQuantum)
			used := 0
			for _, mech := range t.Mechanisms {
				if len(mech.Keyplane) > 0 {
					used++
				}
			}
			if used == 0 {
				ew.printf("      mechanisms keyplane uses: none (of %d)\n", len(t.Mechanisms))
				continue
			}
			ew.printf("      mechanisms keyplane uses:\n")
			tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
			others := 0
			for _, mech := range t.Mechanisms {
				if len(mech.Keyplane) == 0 {
					others++
					continue
				}
				sizes := ""
				if mech.MaxKeySize > 0 {
					sizes = fmt.Sprintf("%d-%d", mech.MinKeySize, mech.MaxKeySize)
				}
				fmt.Fprintf(tw, "        %s\t%s\t%s\t%s\n", mech.Name, sizes, strings.Join(mech.Flags, ","), strings.Join(mech.Keyplane, ", "))
			}
			tw.Flush()
			if others > 0 {
				ew.printf("        (and %d other mechanisms; --json lists them all)\n", others)
			}
		}
	}
	return ew.err
}

func joinOr(xs []string, none string) string {
	if len(xs) == 0 {
		return none
	}
	return strings.Join(xs, ", ")
}

// errWriter remembers the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
