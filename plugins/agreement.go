package plugins

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"fmt"
	"slices"

	"github.com/keyplane/keyplane/backend"
	pb "github.com/keyplane/keyplane/plugins/proto/keyplane/plugin/v1"
)

var (
	_ backend.KeyAgreement = (*Plugin)(nil)
	_ backend.KEM          = (*Plugin)(nil)
)

// reported reports whether the plugin's backend said it implements iface.
func (p *Plugin) reported(iface pb.Interface) bool { return slices.Contains(p.h.ifaces, iface) }

// supports returns nil when the plugin's backend reported iface, and
// otherwise ErrUnsupported saying what it lacks: lacks completes "the
// plugin's backend …" ("stores no certificates").
func (p *Plugin) supports(iface pb.Interface, lacks string) error {
	if p.reported(iface) {
		return nil
	}
	return fmt.Errorf("%s: the plugin's backend %s: %w", p.h.t.name, lacks, backend.ErrUnsupported)
}

// KeyExchanger is backend.KeyAgreement.KeyExchanger: the public key
// comes from the key's description, each ECDH is one call to the plugin.
// A Plugin always has the method (docs/decisions.md, "Wrappers and the
// extension interfaces"); when the plugin's backend does no key agreement
// it returns backend.ErrUnsupported.
func (p *Plugin) KeyExchanger(ctx context.Context, ref string) (ecdh.KeyExchanger, error) {
	if err := checkText("key reference", ref); err != nil {
		return nil, err
	}
	if err := p.supports(pb.Interface_INTERFACE_KEY_AGREEMENT, "does no key agreement"); err != nil {
		return nil, err
	}
	resp, err := call(ctx, p, &pb.KeyRequest{Ref: ref}, pb.BackendClient.GetKeyExchanger)
	if err != nil {
		return nil, err
	}
	k, err := keyFromWire(resp.GetKey())
	if err != nil {
		return nil, err
	}
	var pub *ecdh.PublicKey
	switch pk := k.Public.(type) {
	case *ecdh.PublicKey:
		pub = pk
	case *ecdsa.PublicKey:
		if pub, err = pk.ECDH(); err != nil {
			return nil, fmt.Errorf("%s: key %q: %v: %w", p.h.t.name, ref, err, backend.ErrInvalidInput)
		}
	default:
		return nil, fmt.Errorf("%s: key %q has a %T public key, not one for key agreement: %w", p.h.t.name, ref, k.Public, backend.ErrInvalidInput)
	}
	return &remoteKeyExchanger{p: p, ref: keyRefOf(k, ref), pub: pub}, nil
}

// Decapsulator is backend.KEM.Decapsulator: the encapsulation key comes
// from the key's description, each Decapsulate is one call to the plugin.
// As KeyExchanger, it is always there and returns backend.ErrUnsupported
// when the plugin's backend has no KEM keys.
func (p *Plugin) Decapsulator(ctx context.Context, ref string) (crypto.Decapsulator, error) {
	if err := checkText("key reference", ref); err != nil {
		return nil, err
	}
	if err := p.supports(pb.Interface_INTERFACE_KEM, "has no KEM keys"); err != nil {
		return nil, err
	}
	resp, err := call(ctx, p, &pb.KeyRequest{Ref: ref}, pb.BackendClient.GetDecapsulator)
	if err != nil {
		return nil, err
	}
	k, err := keyFromWire(resp.GetKey())
	if err != nil {
		return nil, err
	}
	ek, ok := k.Public.(crypto.Encapsulator)
	if !ok {
		return nil, fmt.Errorf("%s: key %q has a %T public key, not an encapsulation key: %w", p.h.t.name, ref, k.Public, backend.ErrInvalidInput)
	}
	return &remoteDecapsulator{p: p, ref: keyRefOf(k, ref), ek: ek}, nil
}

// remoteKeyExchanger is an ecdh.KeyExchanger whose private key is in the
// plugin. ECDH has no context: each call is bounded by
// Options.CallTimeout.
type remoteKeyExchanger struct {
	p   *Plugin
	ref string
	pub *ecdh.PublicKey
}

func (x *remoteKeyExchanger) PublicKey() *ecdh.PublicKey { return x.pub }
func (x *remoteKeyExchanger) Curve() ecdh.Curve          { return x.pub.Curve() }

// ECDH checks the peer's curve on the host, then asks the plugin.
func (x *remoteKeyExchanger) ECDH(peer *ecdh.PublicKey) ([]byte, error) {
	if peer == nil {
		return nil, fmt.Errorf("ecdh: nil peer public key: %w", backend.ErrInvalidInput)
	}
	if peer.Curve() != x.pub.Curve() {
		return nil, fmt.Errorf("ecdh: peer key on %v, this key is on %v: %w", peer.Curve(), x.pub.Curve(), backend.ErrInvalidInput)
	}
	resp, err := call(context.Background(), x.p, &pb.ECDHRequest{Ref: x.ref, PeerPublicKey: peer.Bytes()}, pb.BackendClient.ECDH)
	if err != nil {
		return nil, err
	}
	return resp.GetSharedSecret(), nil
}

// remoteDecapsulator is a crypto.Decapsulator whose private key is in the
// plugin. Decapsulate has no context: each call is bounded by
// Options.CallTimeout.
type remoteDecapsulator struct {
	p   *Plugin
	ref string
	ek  crypto.Encapsulator
}

func (d *remoteDecapsulator) Encapsulator() crypto.Encapsulator { return d.ek }

func (d *remoteDecapsulator) Decapsulate(ciphertext []byte) ([]byte, error) {
	resp, err := call(context.Background(), d.p, &pb.DecapsulateRequest{Ref: d.ref, Ciphertext: ciphertext}, pb.BackendClient.Decapsulate)
	if err != nil {
		return nil, err
	}
	return resp.GetSharedKey(), nil
}
