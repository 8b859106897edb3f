package plugins

import (
	"context"
	"crypto/x509"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// certStore returns the backend as a CertificateStore.
func (s *server) certStore() (backend.CertificateStore, error) {
	b, err := s.backend()
	if err != nil {
		return nil, err
	}
	cs, ok := b.(backend.CertificateStore)
	if !ok {
		return nil, toStatus(fmt.Errorf("this plugin's backend stores no certificates: %w", backend.ErrUnsupported))
	}
	return cs, nil
}

func (s *server) StoreCertificates(ctx context.Context, req *pb.StoreCertificatesRequest) (*pb.StoreCertificatesResponse, error) {
	cs, err := s.certStore()
	if err != nil {
		return nil, err
	}
	ders := req.GetCertificates()
	if len(ders) > backend.MaxChainLength {
		return nil, toStatus(fmt.Errorf("certificate chain of %d certificates (at most %d): %w", len(ders), backend.MaxChainLength, backend.ErrInvalidInput))
	}
	chain := make([]*x509.Certificate, 0, len(ders))
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, toStatus(fmt.Errorf("certificate %d: %v: %w", i+1, err, backend.ErrInvalidInput))
		}
		chain = append(chain, c)
	}
	if err := cs.StoreCertificates(ctx, req.GetRef(), chain); err != nil {
		return nil, toStatus(err)
	}
	return &pb.StoreCertificatesResponse{}, nil
}

func (s *server) GetCertificates(ctx context.Context, req *pb.KeyRequest) (*pb.CertificatesResponse, error) {
	cs, err := s.certStore()
	if err != nil {
		return nil, err
	}
	chain, err := cs.Certificates(ctx, req.GetRef())
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &pb.CertificatesResponse{}
	for _, c := range chain {
		resp.Certificates = append(resp.Certificates, c.Raw)
	}
	return resp, nil
}

func (s *server) DeleteCertificates(ctx context.Context, req *pb.KeyRequest) (*pb.DeleteCertificatesResponse, error) {
	cs, err := s.certStore()
	if err != nil {
		return nil, err
	}
	if err := cs.DeleteCertificates(ctx, req.GetRef()); err != nil {
		return nil, toStatus(err)
	}
	return &pb.DeleteCertificatesResponse{}, nil
}
