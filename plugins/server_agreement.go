package plugins

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

func (s *server) keyExchanger(ctx context.Context, ref string) (ecdh.KeyExchanger, error) {
	return cachedHandle(ctx, s, handleKeyExchanger, ref, "does no key agreement", backend.KeyAgreement.KeyExchanger)
}

func (s *server) decapsulator(ctx context.Context, ref string) (crypto.Decapsulator, error) {
	return cachedHandle(ctx, s, handleDecapsulator, ref, "has no KEM keys", backend.KEM.Decapsulator)
}

func (s *server) GetKeyExchanger(ctx context.Context, req *pb.KeyRequest) (*pb.KeyResponse, error) {
	if _, err := s.keyExchanger(ctx, req.GetRef()); err != nil {
		return nil, err
	}
	return s.keyFor(ctx, req.GetRef())
}

func (s *server) ECDH(ctx context.Context, req *pb.ECDHRequest) (*pb.ECDHResponse, error) {
	x, err := s.keyExchanger(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	peer, err := x.Curve().NewPublicKey(req.GetPeerPublicKey())
	if err != nil {
		return nil, toStatus(fmt.Errorf("ecdh: peer public key is not a point on %v: %w", x.Curve(), backend.ErrInvalidInput))
	}
	secret, err := x.ECDH(peer)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ECDHResponse{SharedSecret: secret}, nil
}

func (s *server) GetDecapsulator(ctx context.Context, req *pb.KeyRequest) (*pb.KeyResponse, error) {
	if _, err := s.decapsulator(ctx, req.GetRef()); err != nil {
		return nil, err
	}
	return s.keyFor(ctx, req.GetRef())
}

func (s *server) Decapsulate(ctx context.Context, req *pb.DecapsulateRequest) (*pb.DecapsulateResponse, error) {
	d, err := s.decapsulator(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	key, err := d.Decapsulate(req.GetCiphertext())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.DecapsulateResponse{SharedKey: key}, nil
}
