// Command tokenmatrix writes docs/backends/tokens.md, the compatibility
// matrix of PKCS#11 tokens, from `keyplane conformance --json` on a
// throwaway token of every kind registered in internal/testenv.
//
//	go run ./internal/cmd/tokenmatrix -write   # regenerate the file
//	go run ./internal/cmd/tokenmatrix -check   # what scripts/test-all runs
//
// For each kind it starts a token (daemons on 127.0.0.1, in a temporary
// directory, stopped by PID at the end), lists every started token's module
// with `keyplane tokens --json` and checks that each token is there with a
// URI, has the token's security officer make a trusted wrapping key with
// `keyplane wrapping-key create` (for the wrap round trips; a token whose
// SO cannot log in runs without, and those checks are skipped), then runs
// `keyplane --backend <that URI>&pin-source=file:<pin> conformance --json`
// with the token's environment (Instance.Env) in the child's environment
// only. -check fails when a check failed on any token,
// when the listing or a URI is wrong, when a kind could not start under
// KEYPLANE_REQUIRE_TOOLS=1, or when the committed file differs from what
// it would write. Without KEYPLANE_REQUIRE_TOOLS=1 a kind whose software
// is missing is skipped with a warning, and the file is then not compared.
// -write refuses to write a file without every kind.
//
// -keyplane names the keyplane binary to run; without it, the generator
// builds one from this checkout (go build ./cmd/keyplane).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/keyplane/keyplane/internal/testenv"
)

func main() {
	os.Exit(run())
}

type options struct {
	write, check bool
	keyplane     string
	out          string
	kinds        []string // only these kinds (for trying one by hand; not with -write or -check)
}

func run() int {
	var o options
	var kinds string
	flag.BoolVar(&o.write, "write", false, "regenerate the matrix file")
	flag.BoolVar(&o.check, "check", false, "fail on any failed check, missing kind (under "+testenv.RequireEnv+"=1) or out-of-date file")
	flag.StringVar(&o.keyplane, "keyplane", "", "the keyplane binary (default: build ./cmd/keyplane)")
	flag.StringVar(&o.out, "out", "", "the matrix file (default: docs/backends/tokens.md in this module)")
	flag.StringVar(&kinds, "kinds", "", "comma-separated kinds to run, printing the matrix to stdout (neither -write nor -check)")
	flag.Parse()
	if kinds != "" {
		o.kinds = strings.Split(kinds, ",")
	}
	if o.write == o.check && o.kinds == nil || (o.write || o.check) && o.kinds != nil {
		fmt.Fprintln(os.Stderr, "tokenmatrix: give -write or -check, or -kinds alone")
		return 2
	}
	if err := generate(context.Background(), o); err != nil {
		fmt.Fprintf(os.Stderr, "tokenmatrix: %v\n", err)
		return 1
	}
	return 0
}

func generate(ctx context.Context, o options) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if o.out == "" {
		o.out = filepath.Join(root, "docs", "backends", "tokens.md")
	}
	work, err := os.MkdirTemp("", "keyplane-tokenmatrix-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	exe := o.keyplane
	if exe == "" {
		exe = filepath.Join(work, "keyplane")
		logf("building keyplane")
		build := exec.Command("go", "build", "-o", exe, "./cmd/keyplane")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/keyplane: %v\n%s", err, out)
		}
	}

	// Start every kind first: keyplane tokens lists them all at once.
	var started []*startedToken
	defer func() {
		for _, s := range started {
			if err := s.in.Stop(); err != nil {
				logf("stopping the %s token: %v", s.kind.Name, err)
			}
		}
	}()
	var missing []string
	for _, k := range testenv.TokenKinds() {
		if o.kinds != nil && !slices.Contains(o.kinds, k.Name) {
			continue
		}
		dir := filepath.Join(work, k.Name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			return err
		}
		logf("starting the %s token", k.Name)
		in, err := k.Start(dir)
		if errors.Is(err, testenv.ErrNotInstalled) {
			msg := fmt.Sprintf("%s token: %v (install: apt-get install -y %s)", k.Name, err, k.Package)
			if o.write || testenv.Required() {
				return fmt.Errorf("%s; %s=1 or -write requires every kind", msg, testenv.RequireEnv)
			}
			logf("skipping the %s", msg)
			missing = append(missing, k.Name)
			continue
		}
		if err != nil {
			return fmt.Errorf("starting a %s token: %w", k.Name, err)
		}
		s := &startedToken{kind: k, in: in}
		started = append(started, s)
		if s.pinFile, err = in.WritePINFile(dir); err != nil {
			return err
		}
	}
	if len(started) == 0 {
		return errors.New("no token kind could be started")
	}

	var problems []string
	if err := listTokens(ctx, exe, started); err != nil {
		return err
	}
	var runs []*tokenRun
	for _, s := range started {
		if s.uri == "" {
			problems = append(problems, s.problem)
			continue
		}
		noTrusted := wrapSetup(ctx, exe, s, filepath.Join(work, s.kind.Name))
		if noTrusted != "" {
			logf("%s: no trusted wrapping key, the wrap round trips are skipped: %s", s.kind.Name, noTrusted)
		}
		logf("conformance on the %s token (%s)", s.kind.Name, s.uri)
		start := time.Now()
		rep, err := conformanceRun(ctx, exe, s)
		if err != nil {
			return fmt.Errorf("%s token: %w", s.kind.Name, err)
		}
		pass, fail, skip := rep.Counts()
		logf("%s: %d passed, %d failed, %d skipped (%v)", s.kind.Name, pass, fail, skip, time.Since(start).Round(time.Second))
		if got := rep.Capabilities; got == nil || got.Details["token-label"] != s.in.Label {
			problems = append(problems, fmt.Sprintf("%s: the listed URI %s opened another token (capabilities %+v)", s.kind.Name, s.uri, got))
		}
		for _, r := range rep.Results {
			if r.Status == "fail" {
				problems = append(problems, fmt.Sprintf("%s: %s failed: %s", s.kind.Name, r.Name, message(r.Message)))
			}
		}
		runs = append(runs, &tokenRun{Kind: s.kind.Name, Packages: s.kind.Package, Module: s.in.Module, Report: rep, NoTrustedKey: noTrusted})
	}

	var buf bytes.Buffer
	if err := writeMatrix(&buf, runs, quirks); err != nil {
		return err
	}
	switch {
	case o.kinds != nil:
		os.Stdout.Write(buf.Bytes())
	case o.write:
		if len(problems) > 0 {
			return fmt.Errorf("not writing %s:\n  %s", o.out, strings.Join(problems, "\n  "))
		}
		if err := os.WriteFile(o.out, buf.Bytes(), 0o644); err != nil {
			return err
		}
		logf("wrote %s", o.out)
	case o.check:
		if len(missing) > 0 {
			logf("not comparing %s: no %s token here", o.out, strings.Join(missing, ", "))
		} else if old, err := os.ReadFile(o.out); err != nil || !bytes.Equal(old, buf.Bytes()) {
			problems = append(problems, fmt.Sprintf("%s is not what the generator writes (run: go run ./internal/cmd/tokenmatrix -write)%s",
				o.out, firstDifference(old, buf.Bytes())))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problem(s):\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	return nil
}

// firstDifference shows the first line where two files differ.
func firstDifference(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("; first difference at line %d:\n    committed: %q\n    generated: %q", i+1, x, y)
		}
	}
	return ""
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run tokenmatrix inside the keyplane module")
	}
	return filepath.Dir(gomod), nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "tokenmatrix: "+format+"\n", args...)
}
