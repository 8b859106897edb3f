package plugins

import (
	"context"
	"crypto/x509"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// The plugin host is always a backend.CertificateStore (docs/decisions.md,
// "Wrappers and the extension interfaces"): when the plugin's backend did
// not report INTERFACE_CERTIFICATES, every method answers ErrUnsupported
// without a call, and Capabilities.Certificates is false.
var _ backend.CertificateStore = (*Plugin)(nil)

// hasCerts returns nil when the plugin's backend stores certificates.
func (p *Plugin) hasCerts() error {
	return p.supports(pb.Interface_INTERFACE_CERTIFICATES, "stores no certificates")
}

func (p *Plugin) StoreCertificates(ctx context.Context, ref string, chain []*x509.Certificate) error {
	if err := p.hasCerts(); err != nil {
		return err
	}
	if err := checkText("key reference", ref); err != nil {
		return err
	}
	if len(chain) == 0 || len(chain) > backend.MaxChainLength {
		return fmt.Errorf("%s: certificate chain of %d certificates (want 1 to %d): %w", p.h.t.name, len(chain), backend.MaxChainLength, backend.ErrInvalidInput)
	}
	req := &pb.StoreCertificatesRequest{Ref: ref}
	for i, cert := range chain {
		if cert == nil || len(cert.Raw) == 0 {
			return fmt.Errorf("%s: certificate %d of the chain is empty: %w", p.h.t.name, i+1, backend.ErrInvalidInput)
		}
		req.Certificates = append(req.Certificates, cert.Raw)
	}
	_, err := call(ctx, p, req, pb.BackendClient.StoreCertificates)
	return err
}

func (p *Plugin) Certificates(ctx context.Context, ref string) ([]*x509.Certificate, error) {
	if err := p.hasCerts(); err != nil {
		return nil, err
	}
	if err := checkText("key reference", ref); err != nil {
		return nil, err
	}
	resp, err := call(ctx, p, &pb.KeyRequest{Ref: ref}, pb.BackendClient.GetCertificates)
	if err != nil {
		return nil, err
	}
	var chain []*x509.Certificate
	for i, der := range resp.GetCertificates() {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d from the plugin: %v: %w", p.h.t.name, i+1, err, backend.ErrUnavailable)
		}
		chain = append(chain, cert)
	}
	return chain, nil
}

func (p *Plugin) DeleteCertificates(ctx context.Context, ref string) error {
	if err := p.hasCerts(); err != nil {
		return err
	}
	if err := checkText("key reference", ref); err != nil {
		return err
	}
	_, err := call(ctx, p, &pb.KeyRequest{Ref: ref}, pb.BackendClient.DeleteCertificates)
	return err
}
