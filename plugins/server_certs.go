package plugins

import (
	"context"
	"crypto/x509"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// lacksCertificates completes the ErrUnsupported answer of a plugin whose
// backend is no backend.CertificateStore.
const lacksCertificates = "stores no certificates"

func (s *server) StoreCertificates(ctx context.Context, req *pb.StoreCertificatesRequest) (*pb.StoreCertificatesResponse, error) {
	return callInner(s, lacksCertificates, func(cs backend.CertificateStore) (*pb.StoreCertificatesResponse, error) {
		ders := req.GetCertificates()
		if len(ders) > backend.MaxChainLength {
			return nil, fmt.Errorf("certificate chain of %d certificates (at most %d): %w", len(ders), backend.MaxChainLength, backend.ErrInvalidInput)
		}
		chain := make([]*x509.Certificate, 0, len(ders))
		for i, der := range ders {
			c, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, fmt.Errorf("certificate %d: %v: %w", i+1, err, backend.ErrInvalidInput)
			}
			chain = append(chain, c)
		}
		if err := cs.StoreCertificates(ctx, req.GetRef(), chain); err != nil {
			return nil, err
		}
		return &pb.StoreCertificatesResponse{}, nil
	})
}

func (s *server) GetCertificates(ctx context.Context, req *pb.KeyRequest) (*pb.CertificatesResponse, error) {
	return callInner(s, lacksCertificates, func(cs backend.CertificateStore) (*pb.CertificatesResponse, error) {
		chain, err := cs.Certificates(ctx, req.GetRef())
		if err != nil {
			return nil, err
		}
		resp := &pb.CertificatesResponse{}
		for _, c := range chain {
			resp.Certificates = append(resp.Certificates, c.Raw)
		}
		return resp, nil
	})
}

func (s *server) DeleteCertificates(ctx context.Context, req *pb.KeyRequest) (*pb.DeleteCertificatesResponse, error) {
	return callInner(s, lacksCertificates, func(cs backend.CertificateStore) (*pb.DeleteCertificatesResponse, error) {
		if err := cs.DeleteCertificates(ctx, req.GetRef()); err != nil {
			return nil, err
		}
		return &pb.DeleteCertificatesResponse{}, nil
	})
}
