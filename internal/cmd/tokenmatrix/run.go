package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyplane/keyplane/backends/pkcs11"
	"github.com/keyplane/keyplane/conformance"
	"github.com/keyplane/keyplane/internal/testenv"
)

// started is a running token and what the generator learnt of it.
type startedToken struct {
	kind    testenv.TokenKind
	in      *testenv.Instance
	pinFile string
	uri     string // the URI keyplane tokens lists for it (without a PIN); "" when it did not
	problem string // why uri is ""
	// wrapping: wrapSetup made the trusted wrapping key.
	wrapping bool
}

// listing is the part of `keyplane tokens --json` the generator reads.
type listing struct {
	Modules []struct {
		pkcs11.ModuleInfo
		Error string `json:"error"`
	} `json:"modules"`
}

// Time bounds for the keyplane runs.
const (
	tokensTimeout      = 3 * time.Minute
	conformanceTimeout = 20 * time.Minute
)

// listTokens runs `keyplane tokens --json` over every started token's
// module (with its init args) in one process, the tokens' environments
// together, and records for each token the URI listed for its label.
func listTokens(ctx context.Context, exe string, ss []*startedToken) error {
	args := []string{"tokens", "--json", "--timeout", "60s"}
	env := os.Environ()
	for _, s := range ss {
		args = append(args, "--module", s.in.Module)
		if s.in.InitArgs != "" {
			args = append(args, "--module-init-args", s.in.InitArgs)
		}
		env = append(env, s.in.Env...)
	}
	ctx, cancel := context.WithTimeout(ctx, tokensTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var l listing
	if err := json.Unmarshal(stdout.Bytes(), &l); err != nil {
		return fmt.Errorf("keyplane tokens --json: %v (exit: %v)\n%s", err, runErr, stderr.String())
	}
	for _, s := range ss {
		s.problem = fmt.Sprintf("%s: keyplane tokens does not list module %s", s.kind.Name, s.in.Module)
		for _, m := range l.Modules {
			if m.Path != s.in.Module || m.InitArgs != s.in.InitArgs {
				continue
			}
			if m.Error != "" {
				s.problem = fmt.Sprintf("%s: keyplane tokens lists module %s with an error: %s", s.kind.Name, m.Path, m.Error)
				break
			}
			s.problem = fmt.Sprintf("%s: keyplane tokens lists no token %q in module %s", s.kind.Name, s.in.Label, m.Path)
			for _, slot := range m.Slots {
				if t := slot.Token; t != nil && t.Label == s.in.Label {
					if t.URI == "" {
						s.problem = fmt.Sprintf("%s: keyplane tokens lists token %q without a URI", s.kind.Name, t.Label)
						break
					}
					s.uri, s.problem = t.URI, ""
					break
				}
			}
			break
		}
	}
	return nil
}

// Labels of the trusted wrapping key wrapSetup makes for the wrap round
// trips, and of its unwrap-only half in the same token.
const (
	wrappingLabel   = "tokenmatrix-kek"
	unwrappingLabel = "tokenmatrix-kek-unwrap"
)

// wrapSetup makes, with `keyplane wrapping-key create` (the token's SO
// logs in with the instance's SO PIN, from a file), the trusted wrapping
// key the conformance run's wrap round trips use. It returns why it
// could not, or "": a token whose SO cannot log in, or that lacks
// aes-key-wrap-pad, then runs the suite without one (those checks are
// skipped with the reason).
func wrapSetup(ctx context.Context, exe string, s *startedToken, dir string) string {
	pin, tried := s.in.SOPIN, ""
	if pin == "" {
		// A token set up without one (NSS softokn has no SO): try the
		// user's PIN, so that the matrix shows the token's own answer.
		pin, tried = s.in.PIN, " (the token was set up without an SO PIN; tried the user PIN)"
	}
	soPIN, err := writeSecretFile(dir, "so.pin", pin)
	if err != nil {
		return err.Error()
	}
	uri := s.uri + "&pin-source=file:" + s.pinFile
	ctx, cancel := context.WithTimeout(ctx, tokensTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "--backend", uri, "wrapping-key", "create", "--label", wrappingLabel,
		"--so-pin-file", soPIN, "--unwrap-in", uri, "--unwrap-label", unwrappingLabel)
	cmd.Env = append(os.Environ(), s.in.Env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "wrapping-key create: " + strings.TrimPrefix(lastLines(out.String(), 1), "keyplane: ") + tried
	}
	s.wrapping = true
	return ""
}

// writeSecretFile writes value and a newline to a new 0600 file in dir.
func writeSecretFile(dir, name, value string) (string, error) {
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, []byte(value+"\n"), 0o600)
}

// conformanceRun runs `keyplane conformance --json` on the token through
// the URI keyplane tokens listed, with the PIN file added and the token's
// environment set in the child only. A failed check (exit status 1) is in
// the report; a run that could not start (exit status 2) is an error.
func conformanceRun(ctx context.Context, exe string, s *startedToken) (*conformance.Report, error) {
	ctx, cancel := context.WithTimeout(ctx, conformanceTimeout)
	defer cancel()
	args := []string{"--backend", s.uri + "&pin-source=file:" + s.pinFile, "conformance", "--json"}
	if s.wrapping {
		args = append(args, "--trusted-wrapping-key", wrappingLabel, "--unwrapping-key", unwrappingLabel)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), s.in.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		return nil, fmt.Errorf("keyplane conformance: %v\n%s", err, lastLines(stderr.String(), 20))
	}
	var rep conformance.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return nil, fmt.Errorf("keyplane conformance --json: %v\n%s", err, lastLines(stderr.String(), 20))
	}
	return &rep, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
