package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/keyplane/keyplane/backends/pkcs11"
)

// probeInChild probes one module in a child process: this executable run
// as "keyplane tokens --probe-child", the request (with the init args) on
// its stdin, a probeResult on its stdout. The child is killed, with its
// process group, when ctx is done. A child that dies (a module that
// crashed the process) or says nothing usable is an error naming how it
// ended and the last lines it wrote on stderr (modules print there).
func probeInChild(ctx context.Context, req moduleRequest) (*pkcs11.ModuleInfo, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding keyplane's own executable to probe the module in a child process (try --in-process): %w", err)
	}
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "tokens", "--probe-child")
	// Run as "keyplane" whatever the file is called (under testscript,
	// the name picks the command).
	cmd.Args[0] = "keyplane"
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &limitedBuffer{max: 64 << 10, buf: &stderr}
	setProcessGroup(cmd)
	cmd.WaitDelay = 2 * time.Second
	runErr := cmd.Run()
	var res probeResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err == nil && res.Module != nil {
		if res.Error != "" {
			return res.Module, errors.New(res.Error + moduleSaid(stderr.String(), req))
		}
		return res.Module, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("probe stopped: %w%s", ctx.Err(), moduleSaid(stderr.String(), req))
	}
	if runErr == nil {
		runErr = errors.New("no result")
	}
	return nil, fmt.Errorf("the probe process ended without a result (%v); the module crashed it?%s", runErr, moduleSaid(stderr.String(), req))
}

// moduleSaid quotes the last lines a probe child wrote on stderr, with
// secret init args taken out.
func moduleSaid(stderr string, req moduleRequest) string {
	if req.Secret && req.InitArgs != "" {
		stderr = strings.ReplaceAll(stderr, req.InitArgs, pkcs11.RedactedInitArgs)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	var kept []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l != "" {
			kept = append(kept, l)
		}
	}
	if len(kept) == 0 {
		return ""
	}
	// A crash inside the module: Go's runtime prints the signal, then
	// registers and stacks; the signal is what says what happened.
	var crash []string
	for _, l := range kept {
		if strings.HasPrefix(l, "fatal error: ") || strings.HasPrefix(l, "[signal ") ||
			strings.HasPrefix(l, "SIG") && strings.Contains(l, ": ") || l == "signal arrived during cgo execution" {
			crash = append(crash, l)
		}
	}
	switch {
	case len(crash) > 0:
		kept = crash[:min(len(crash), 3)]
	case len(kept) > 3:
		kept = kept[len(kept)-3:]
	}
	s := strings.Join(kept, " | ")
	if len(s) > 600 {
		s = s[len(s)-600:]
	}
	return " (stderr: " + s + ")"
}

// limitedBuffer keeps at most max bytes (the last ones) of what is written.
type limitedBuffer struct {
	max int
	buf *bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return n, nil
}
