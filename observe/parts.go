package observe

import (
	"context"

	"github.com/keyplane/keyplane/backend"
)

// The parts: one optional interface each, composed with *observed by
// compose (compose_gen.go) when the inner backend has it.

type aeadPart struct{ o *observed }

func (a aeadPart) AEAD(ctx context.Context, ref string) (backend.AEAD, error) {
	return a.o.aead(ctx, ref)
}

type fernetPart struct{ o *observed }

func (f fernetPart) Fernet(ctx context.Context, ref string) (backend.FernetKey, error) {
	return f.o.fernet(ctx, ref)
}

type importPart struct{ o *observed }

func (i importPart) ImportKey(ctx context.Context, label string, key any) (*backend.Key, error) {
	o := i.o
	ctx, p := o.begin(ctx, methodImportKey, methodImportKey, keyInfo{label: label})
	k, err := o.inner.(backend.Importer).ImportKey(ctx, label, key)
	if err == nil {
		p.key = keyOf(k)
	}
	p.end(err)
	return k, err
}

type exportPart struct{ o *observed }

func (e exportPart) ExportKey(ctx context.Context, ref string) (any, error) {
	o := e.o
	key := o.lookup(ctx, ref)
	ctx, p := o.begin(ctx, methodExportKey, methodExportKey, key)
	k, err := o.inner.(backend.Exporter).ExportKey(ctx, ref)
	p.end(err)
	return k, err
}

type healthPart struct{ o *observed }

// Health is the inner backend's (not observed: a plugin host calls it
// every few seconds).
func (h healthPart) Health(ctx context.Context) error { return h.o.health(ctx) }

type poolPart struct{ o *observed }

func (p poolPart) SessionPoolStats() backend.SessionPoolStats {
	return p.o.inner.(backend.SessionPoolReporter).SessionPoolStats()
}

type startsPart struct{ o *observed }

func (s startsPart) ChildStarts() uint64 { return s.o.inner.(childStarter).ChildStarts() }
