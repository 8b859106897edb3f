package observe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/keyplane/keyplane/backend"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// Wrap returns a backend that does what b does and observes every key use:
// an audit record, the operation counter and latency histogram, and a span
// (see the package doc). It has exactly the optional interfaces b has
// (backend.AEADBackend, FernetBackend, Importer, Exporter,
// SessionPoolReporter, a plugin's Health and ChildStarts), so type
// assertions on it answer as they would on b; the handles it returns
// (crypto.Signer, crypto.Decrypter, backend.AEAD, backend.FernetKey) are
// observed too. Its Unwrap method returns b.
//
// When b reports a session pool (backend.SessionPoolReporter) or plugin
// restarts (ChildStarts), Wrap registers gauges for them; Close unregisters
// them. An instrument the MeterProvider refuses is reported to
// otel.Handle, as OpenTelemetry instrumentations do, and the rest still
// work. Wrap panics on a nil b, like other constructors given nothing to
// wrap.
func Wrap(b backend.Backend, opts Options) backend.Backend {
	if b == nil {
		panic("observe: Wrap of a nil backend")
	}
	o := &observed{inner: b, audit: opts.AuditLog, in: newInstruments(opts), name: backendName(b, opts.Backend)}
	if err := o.registerGauges(); err != nil {
		otel.Handle(fmt.Errorf("observe: %w", err))
	}
	return compose(o, partsOf(b))
}

// backendName is what records call the backend: the redacted name the
// caller gave, else the scheme the backend reports.
func backendName(b backend.Backend, given string) string {
	if given != "" {
		return backend.Redact(given)
	}
	if caps, err := b.Capabilities(context.Background()); err == nil && caps.Backend != "" {
		return caps.Backend
	}
	return "unknown"
}

// partsOf returns the compose mask of b's optional interfaces, in the bit
// order of gen_compose.go's parts.
func partsOf(b backend.Backend) uint {
	var m uint
	for i, has := range []bool{
		is[backend.AEADBackend](b),
		is[backend.FernetBackend](b),
		is[backend.Importer](b),
		is[backend.Exporter](b),
		is[healthChecker](b),
		is[backend.SessionPoolReporter](b),
		is[childStarter](b),
	} {
		if has {
			m |= 1 << i
		}
	}
	return m
}

func is[T any](b backend.Backend) bool { _, ok := b.(T); return ok }

// healthChecker is plugins.HealthChecker: a backend that can tell at once
// whether it is able to serve (the pkcs11 backend, on a hung module).
type healthChecker interface {
	Health(ctx context.Context) error
}

// childStarter is a plugin backend (plugins.Plugin.ChildStarts).
type childStarter interface {
	ChildStarts() uint64
}

// observed is the wrapper; compose puts it in a struct with its parts.
type observed struct {
	inner backend.Backend
	audit *slog.Logger
	in    *instruments
	name  string

	closeOnce sync.Once
	gauges    metric.Registration // nil when b reports nothing to gauge
}

// Unwrap returns the backend inside.
func (o *observed) Unwrap() backend.Backend { return o.inner }

// Capabilities is the inner backend's (not a key use: not observed).
func (o *observed) Capabilities(ctx context.Context) (*backend.Capabilities, error) {
	return o.inner.Capabilities(ctx)
}

// Close closes the inner backend and unregisters the gauges.
func (o *observed) Close() error {
	var uerr error
	o.closeOnce.Do(func() {
		if o.gauges != nil {
			uerr = o.gauges.Unregister()
		}
	})
	return errors.Join(o.inner.Close(), uerr)
}

func (o *observed) GenerateKey(ctx context.Context, spec backend.KeySpec) (*backend.Key, error) {
	ctx, p := o.begin(ctx, methodGenerateKey, methodGenerateKey, keyInfo{label: spec.Label})
	k, err := o.inner.GenerateKey(ctx, spec)
	if err == nil {
		p.key = keyOf(k)
	}
	p.end(err)
	return k, err
}

func (o *observed) Key(ctx context.Context, ref string) (*backend.Key, error) {
	ctx, p := o.begin(ctx, methodKey, methodKey, refKey(ref))
	k, err := o.inner.Key(ctx, ref)
	if err == nil {
		p.key = keyOf(k)
	}
	p.end(err)
	return k, err
}

func (o *observed) Keys(ctx context.Context) ([]*backend.Key, error) {
	ctx, p := o.begin(ctx, methodKeys, methodKeys, keyInfo{})
	ks, err := o.inner.Keys(ctx)
	p.end(err)
	return ks, err
}

func (o *observed) DeleteKey(ctx context.Context, ref string) error {
	key := o.lookup(ctx, ref)
	ctx, p := o.begin(ctx, methodDeleteKey, methodDeleteKey, key)
	err := o.inner.DeleteKey(ctx, ref)
	p.end(err)
	return err
}

// lookup describes the key ref names, asking the inner backend (not
// observed: it is part of the operation that asks); when that fails, from
// ref alone.
func (o *observed) lookup(ctx context.Context, ref string) keyInfo {
	if k, err := o.inner.Key(ctx, ref); err == nil {
		return keyOf(k)
	}
	return refKey(ref)
}

// health is the inner backend's Health.
func (o *observed) health(ctx context.Context) error {
	return o.inner.(healthChecker).Health(ctx)
}
