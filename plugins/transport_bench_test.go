package plugins

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/software"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

// BenchmarkTransport measures the protocol's round trip without a process
// boundary: the plugin server and a client in this process, over mTLS on a
// Unix socket with the same options as a real plugin. Compared with
// BenchmarkSign it separates what gRPC+TLS cost from what two processes
// cost (context switches, scheduling). A diagnostic, not a target.
func BenchmarkTransport(b *testing.B) {
	ctx := context.Background()
	ks, err := software.Open(ctx, "software:memory")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ks.GenerateKey(ctx, backend.KeySpec{Label: "k", Algorithm: backend.ECP256}); err != nil {
		b.Fatal(err)
	}
	srv := newServer(func(context.Context, string) (backend.Backend, error) { return ks, nil })
	if _, err := srv.OpenBackend(ctx, &pb.OpenBackendRequest{}); err != nil {
		b.Fatal(err)
	}
	cert := selfSigned(b)
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
	sock := filepath.Join(b.TempDir(), "s")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	gs := newGRPCServer([]grpc.ServerOption{grpc.Creds(credentials.NewTLS(tlsCfg))})
	pb.RegisterBackendServer(gs, srv)
	go gs.Serve(lis)
	defer gs.Stop()
	conn, err := grpc.NewClient("unix:"+sock, append(dialOptions(), grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)))...)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	c := pb.NewBackendClient(conn)
	key, err := c.GetSigner(ctx, &pb.KeyRequest{Ref: "k"})
	if err != nil {
		b.Fatal(err)
	}
	req := &pb.SignRequest{Ref: keyRefOf(&backend.Key{ID: key.GetKey().GetId()}, "k"), Digest: make([]byte, 32), Hash: pb.Hash_HASH_SHA256}
	b.Run("sign", func(b *testing.B) {
		for b.Loop() {
			cctx, cancel := context.WithTimeout(ctx, time.Minute)
			if _, err := c.Sign(cctx, req); err != nil {
				b.Fatal(err)
			}
			cancel()
		}
	})
	b.Run("capabilities", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.GetCapabilities(ctx, &pb.CapabilitiesRequest{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func selfSigned(b *testing.B) tls.Certificate {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		b.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k, Leaf: leaf}
}
