package plugins

import (
	"context"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

func (s *server) aead(ctx context.Context, ref string) (backend.AEAD, error) {
	return cachedHandle(ctx, s, handleAEAD, ref, "has no AEAD keys", backend.AEADBackend.AEAD)
}

func (s *server) fernet(ctx context.Context, ref string) (backend.FernetKey, error) {
	return cachedHandle(ctx, s, handleFernet, ref, "has no Fernet keys", backend.FernetBackend.Fernet)
}

func (s *server) GetAEAD(ctx context.Context, req *pb.KeyRequest) (*pb.AEADInfo, error) {
	a, err := s.aead(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	k, err := s.keyFor(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	return &pb.AEADInfo{Key: k.GetKey(), NonceSize: int32(a.NonceSize()), Overhead: int32(a.Overhead())}, nil
}

func (s *server) AEADSeal(ctx context.Context, req *pb.AEADSealRequest) (*pb.AEADSealResponse, error) {
	a, err := s.aead(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	out, err := a.Seal(ctx, req.GetPlaintext(), req.GetAdditionalData())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.AEADSealResponse{Sealed: out}, nil
}

func (s *server) AEADOpen(ctx context.Context, req *pb.AEADOpenRequest) (*pb.AEADOpenResponse, error) {
	a, err := s.aead(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	out, err := a.Open(ctx, req.GetSealed(), req.GetAdditionalData())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.AEADOpenResponse{Plaintext: out}, nil
}

func (s *server) GetFernet(ctx context.Context, req *pb.KeyRequest) (*pb.KeyResponse, error) {
	if _, err := s.fernet(ctx, req.GetRef()); err != nil {
		return nil, err
	}
	return s.keyFor(ctx, req.GetRef())
}

func (s *server) FernetMAC(ctx context.Context, req *pb.FernetMACRequest) (*pb.FernetMACResponse, error) {
	f, err := s.fernet(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	mac, err := f.MAC(ctx, req.GetData())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.FernetMACResponse{Mac: mac}, nil
}

func (s *server) FernetEncryptCBC(ctx context.Context, req *pb.FernetCBCRequest) (*pb.FernetCBCResponse, error) {
	f, err := s.fernet(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	out, err := f.EncryptCBC(ctx, req.GetIv(), req.GetData())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.FernetCBCResponse{Data: out}, nil
}

func (s *server) FernetDecryptCBC(ctx context.Context, req *pb.FernetCBCRequest) (*pb.FernetCBCResponse, error) {
	f, err := s.fernet(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	out, err := f.DecryptCBC(ctx, req.GetIv(), req.GetData())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.FernetCBCResponse{Data: out}, nil
}
