package plugins

import (
	"context"
	"crypto/x509"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// certsPart is backend.CertificateStore over the plugin protocol.
type certsPart struct{ p *Plugin }

func (c certsPart) StoreCertificates(ctx context.Context, ref string, chain []*x509.Certificate) error {
	if err := checkText("key reference", ref); err != nil {
		return err
	}
	if len(chain) == 0 || len(chain) > backend.MaxChainLength {
		return fmt.Errorf("%s: certificate chain of %d certificates (want 1 to %d): %w", c.p.h.t.name, len(chain), backend.MaxChainLength, backend.ErrInvalidInput)
	}
	req := &pb.StoreCertificatesRequest{Ref: ref}
	for i, cert := range chain {
		if cert == nil || len(cert.Raw) == 0 {
			return fmt.Errorf("%s: certificate %d of the chain is empty: %w", c.p.h.t.name, i+1, backend.ErrInvalidInput)
		}
		req.Certificates = append(req.Certificates, cert.Raw)
	}
	_, err := call(ctx, c.p, req, pb.BackendClient.StoreCertificates)
	return err
}

func (c certsPart) Certificates(ctx context.Context, ref string) ([]*x509.Certificate, error) {
	if err := checkText("key reference", ref); err != nil {
		return nil, err
	}
	resp, err := call(ctx, c.p, &pb.KeyRequest{Ref: ref}, pb.BackendClient.GetCertificates)
	if err != nil {
		return nil, err
	}
	var chain []*x509.Certificate
	for i, der := range resp.GetCertificates() {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d from the plugin: %v: %w", c.p.h.t.name, i+1, err, backend.ErrUnavailable)
		}
		chain = append(chain, cert)
	}
	return chain, nil
}

func (c certsPart) DeleteCertificates(ctx context.Context, ref string) error {
	if err := checkText("key reference", ref); err != nil {
		return err
	}
	_, err := call(ctx, c.p, &pb.KeyRequest{Ref: ref}, pb.BackendClient.DeleteCertificates)
	return err
}

// withCertificates is withInterfaces for a plugin whose backend stores
// certificates: the same compositions, each with certsPart.
func withCertificates(p *Plugin, a, f, i bool) backend.Backend {
	c := certsPart{p}
	switch {
	case a && f && i:
		return struct {
			*Plugin
			aeadPart
			fernetPart
			importPart
			certsPart
		}{p, aeadPart{p}, fernetPart{p}, importPart{p}, c}
	case a && f:
		return struct {
			*Plugin
			aeadPart
			fernetPart
			certsPart
		}{p, aeadPart{p}, fernetPart{p}, c}
	case a && i:
		return struct {
			*Plugin
			aeadPart
			importPart
			certsPart
		}{p, aeadPart{p}, importPart{p}, c}
	case f && i:
		return struct {
			*Plugin
			fernetPart
			importPart
			certsPart
		}{p, fernetPart{p}, importPart{p}, c}
	case a:
		return struct {
			*Plugin
			aeadPart
			certsPart
		}{p, aeadPart{p}, c}
	case f:
		return struct {
			*Plugin
			fernetPart
			certsPart
		}{p, fernetPart{p}, c}
	case i:
		return struct {
			*Plugin
			importPart
			certsPart
		}{p, importPart{p}, c}
	}
	return struct {
		*Plugin
		certsPart
	}{p, c}
}
