// Command plugin-memory is an example third-party keyplane plugin: a
// backend that keeps its keys in memory, served over keyplane's plugin
// protocol. A host runs it with
//
//	plugin:/abs/path/to/plugin-memory?sha256=<hex of the executable>
//
// or, to have it refuse some key types,
//
//	plugin:/abs/path/to/plugin-memory?sha256=<hex>&algorithms=ec-p256,ed25519
//
// Its keys live as long as the process: a crash (and the restart the host
// does after one) loses them.
//
// A real plugin puts its own backend.Backend (a cloud KMS client, an
// in-house signing service) where this one opens software:memory.
package main

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/plugins"
)

func main() {
	plugins.ServeOpen(open)
}

// open reads the configuration the host sends (the plugin: URI's query,
// without the host's sha256= and timeout=) and returns the backend.
func open(ctx context.Context, config string) (backend.Backend, error) {
	q, err := url.ParseQuery(config)
	if err != nil {
		return nil, fmt.Errorf("plugin-memory: malformed configuration: %w", backend.ErrInvalidInput)
	}
	var allowed []backend.Algorithm
	for name, values := range q {
		if name != "algorithms" || len(values) != 1 {
			return nil, fmt.Errorf("plugin-memory: unknown or repeated parameter %q (known: algorithms): %w", name, backend.ErrInvalidInput)
		}
		for _, a := range strings.Split(values[0], ",") {
			alg, err := backend.ParseAlgorithm(a)
			if err != nil {
				return nil, fmt.Errorf("plugin-memory: algorithms=: %w", err)
			}
			allowed = append(allowed, alg)
		}
	}
	ks, err := software.Open(ctx, "software:memory")
	if err != nil {
		return nil, err
	}
	if allowed == nil {
		return ks, nil
	}
	return &restricted{Keystore: ks, allowed: allowed}, nil
}

// restricted is the memory keystore limited to some algorithms: it reports
// only those and refuses to make or import other keys.
type restricted struct {
	*software.Keystore
	allowed []backend.Algorithm
}

func (r *restricted) Capabilities(ctx context.Context) (*backend.Capabilities, error) {
	c, err := r.Keystore.Capabilities(ctx)
	if err != nil {
		return nil, err
	}
	c.Algorithms = slices.DeleteFunc(c.Algorithms, func(a backend.Algorithm) bool { return !slices.Contains(r.allowed, a) })
	c.Operations = slices.DeleteFunc(c.Operations, func(op backend.Operation) bool {
		return !slices.ContainsFunc(r.allowed, op.Applies)
	})
	return c, nil
}

func (r *restricted) GenerateKey(ctx context.Context, spec backend.KeySpec) (*backend.Key, error) {
	if !slices.Contains(r.allowed, spec.Algorithm) {
		return nil, fmt.Errorf("plugin-memory: key type %q is not enabled (algorithms=): %w", spec.Algorithm, backend.ErrUnsupported)
	}
	return r.Keystore.GenerateKey(ctx, spec)
}

func (r *restricted) ImportKey(ctx context.Context, label string, key any) (*backend.Key, error) {
	alg, err := algorithmOf(key)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(r.allowed, alg) {
		return nil, fmt.Errorf("plugin-memory: key type %q is not enabled (algorithms=): %w", alg, backend.ErrUnsupported)
	}
	return r.Keystore.ImportKey(ctx, label, key)
}

func algorithmOf(key any) (backend.Algorithm, error) {
	if sk, ok := key.(backend.SecretKey); ok {
		return sk.Algorithm, nil
	}
	return backend.AlgorithmOf(key)
}
