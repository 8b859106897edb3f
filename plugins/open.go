package plugins

import (
	"context"
	"slices"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

func init() {
	backend.Register("plugin+", openDefault)
	backend.Register("plugin", openDefault)
}

func openDefault(ctx context.Context, uri string) (backend.Backend, error) {
	return Open(ctx, uri, Options{})
}

// Open starts the plugin that uri names and opens its backend:
//
//	plugin+software:memory                         the software backend in keyplane-plugin
//	plugin+pkcs11:token=t?module-path=...&pin-source=file:/run/pin
//	plugin:/opt/acme/acme-kms-plugin?sha256=<hex>&region=eu   a third-party plugin
//
// backend.Open calls it with the zero Options for the "plugin" and
// "plugin+" schemes. It starts the process now, so that a missing
// executable, a wrong checksum or a backend URI the plugin refuses is an
// error here; the returned value implements the optional interfaces
// (AEADBackend, FernetBackend, Importer) that the plugin's backend
// reports, and always the extension interfaces of docs/decisions.md
// ("Wrappers and the extension interfaces"): CertificateStore, whose
// methods answer ErrUnsupported when the plugin's backend has none.
//
// Open is ParseURI, opts, then OpenConfig; a program that supplies a PIN
// or passphrase in code sets Config.PIN or Config.Passphrase between.
func Open(ctx context.Context, uri string, opts Options) (backend.Backend, error) {
	return OpenConfig(ctx, &Config{Options: opts, uri: uri})
}

type aeadPart struct{ p *Plugin }

func (a aeadPart) AEAD(ctx context.Context, ref string) (backend.AEAD, error) {
	return a.p.aead(ctx, ref)
}

type fernetPart struct{ p *Plugin }

func (f fernetPart) Fernet(ctx context.Context, ref string) (backend.FernetKey, error) {
	return f.p.fernet(ctx, ref)
}

type importPart struct{ p *Plugin }

func (i importPart) ImportKey(ctx context.Context, label string, key any) (*backend.Key, error) {
	return i.p.importKey(ctx, label, key)
}

// withInterfaces returns p in a type that has exactly the optional
// interfaces the plugin reported, so that type assertions tell the truth.
func withInterfaces(p *Plugin, ifaces []pb.Interface) backend.Backend {
	a := slices.Contains(ifaces, pb.Interface_INTERFACE_AEAD)
	f := slices.Contains(ifaces, pb.Interface_INTERFACE_FERNET)
	i := slices.Contains(ifaces, pb.Interface_INTERFACE_IMPORT)
	switch {
	case a && f && i:
		return struct {
			*Plugin
			aeadPart
			fernetPart
			importPart
		}{p, aeadPart{p}, fernetPart{p}, importPart{p}}
	case a && f:
		return struct {
			*Plugin
			aeadPart
			fernetPart
		}{p, aeadPart{p}, fernetPart{p}}
	case a && i:
		return struct {
			*Plugin
			aeadPart
			importPart
		}{p, aeadPart{p}, importPart{p}}
	case f && i:
		return struct {
			*Plugin
			fernetPart
			importPart
		}{p, fernetPart{p}, importPart{p}}
	case a:
		return struct {
			*Plugin
			aeadPart
		}{p, aeadPart{p}}
	case f:
		return struct {
			*Plugin
			fernetPart
		}{p, fernetPart{p}}
	case i:
		return struct {
			*Plugin
			importPart
		}{p, importPart{p}}
	}
	return p
}
