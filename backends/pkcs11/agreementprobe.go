//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// agreementAlgorithms are the algorithms whose keys can do key agreement,
// in the order the capability report lists them.
var agreementAlgorithms = []backend.Algorithm{backend.ECP256, backend.ECP384, backend.ECP521, backend.X25519}

// agreementProbe is what the backend learned about key agreement on its
// token. A token's mechanism list says whether it has CKM_ECDH1_DERIVE,
// not on which curves, nor whether it makes X25519 keys through
// CKM_EC_EDWARDS_KEY_PAIR_GEN (SoftHSM2 2.6.1 does; the mechanism is for
// Ed25519 keys), so probeAgreement tries each.
type agreementProbe struct {
	once sync.Once
	// deriveRefused: the token refused an EC key pair with CKA_DERIVE true
	// and took it without (generateKeyPair).
	deriveRefused atomic.Bool

	mu sync.Mutex
	// result holds, per algorithm the probe ran for, "" when a key pair
	// derived the same secret as crypto/ecdh, else why not. An algorithm
	// the probe could not try is absent.
	result map[backend.Algorithm]string
	// untried says why an algorithm is absent from result.
	untried map[backend.Algorithm]string
}

// ecDeriveWanted: new EC keys get CKA_DERIVE true.
func (b *Backend) ecDeriveWanted() bool {
	return b.mechAllows(pkcs11.CKM_ECDH1_DERIVE, pkcs11.CKF_DERIVE, 0) && !b.agreement.deriveRefused.Load()
}

// x25519Mechanism is the mechanism and key type for X25519 key pairs:
// CKM_EC_MONTGOMERY_KEY_PAIR_GEN and CKK_EC_MONTGOMERY (PKCS#11 3.0) where
// the token lists the mechanism, else CKM_EC_EDWARDS_KEY_PAIR_GEN and
// CKK_EC_EDWARDS with the X25519 curve, as SoftHSM2 2.6.1 makes them.
func (b *Backend) x25519Mechanism() (mech, keyType uint) {
	if b.mechAllows(ckmECMontgomeryKeyPairGen, pkcs11.CKF_GENERATE_KEY_PAIR, 0) {
		return ckmECMontgomeryKeyPairGen, ckkECMontgomery
	}
	return ckmECEdwardsKeyPairGen, ckkECEdwards
}

// agreementCandidate says why the token's mechanisms rule out key
// agreement with alg keys, or "".
func (b *Backend) agreementCandidate(alg backend.Algorithm) string {
	if !b.mechAllows(pkcs11.CKM_ECDH1_DERIVE, pkcs11.CKF_DERIVE, 0) {
		return "the token lists no CKM_ECDH1_DERIVE"
	}
	if alg == backend.X25519 {
		if !b.mechAllows(ckmECMontgomeryKeyPairGen, pkcs11.CKF_GENERATE_KEY_PAIR, 0) &&
			!b.mechAllows(ckmECEdwardsKeyPairGen, pkcs11.CKF_GENERATE_KEY_PAIR, 0) {
			return "the token lists neither CKM_EC_MONTGOMERY_KEY_PAIR_GEN nor CKM_EC_EDWARDS_KEY_PAIR_GEN"
		}
		return ""
	}
	if !b.supportsAlgorithm(alg) {
		return fmt.Sprintf("the token makes no %s keys", alg)
	}
	if b.agreement.deriveRefused.Load() {
		return "the token refuses CKA_DERIVE on EC keys that sign"
	}
	return ""
}

// agreementRefused says why keys of alg do no key agreement on this
// token, or "" when they do (the probe derived the right secret, or could
// not run and the mechanisms allow it — except for X25519 over
// CKM_EC_EDWARDS_KEY_PAIR_GEN, which only the probe can show).
func (b *Backend) agreementRefused(alg backend.Algorithm) string {
	if why := b.agreementCandidate(alg); why != "" {
		return why
	}
	b.agreement.mu.Lock()
	defer b.agreement.mu.Unlock()
	if why, ok := b.agreement.result[alg]; ok {
		return why
	}
	if mech, _ := b.x25519Mechanism(); alg == backend.X25519 && mech == ckmECEdwardsKeyPairGen {
		why := b.agreement.untried[alg]
		if why == "" {
			why = "not probed yet"
		}
		return "CKM_EC_EDWARDS_KEY_PAIR_GEN may not make X25519 keys, and the probe could not try: " + why
	}
	return ""
}

// probeAgreement learns, once per backend, which curves the token does
// key agreement on: for each candidate, a session key pair made as
// GenerateKey would make it, one ECDH with a crypto/ecdh ephemeral key,
// the secret compared with crypto/ecdh's, and the pair destroyed. A token
// that makes no session keys (tpm2-pkcs11 refuses CKA_TOKEN false) is not
// probed with token keys, which it might not let keyplane destroy after
// use (TOKEN-FACTS: tpm2-pkcs11 1.9); its curves are left as the
// mechanisms say.
func (b *Backend) probeAgreement(ctx context.Context) {
	b.agreement.once.Do(func() {
		result := map[backend.Algorithm]string{}
		untried := map[backend.Algorithm]string{}
		for _, alg := range agreementAlgorithms {
			if b.agreementCandidate(alg) != "" {
				continue
			}
			why, tried := b.probeAgreementOn(ctx, alg)
			if tried {
				result[alg] = why
			} else {
				untried[alg] = why
			}
		}
		b.agreement.mu.Lock()
		b.agreement.result, b.agreement.untried = result, untried
		b.agreement.mu.Unlock()
	})
}

// probeAgreementOn runs the probe for alg: why it failed ("" when it
// worked), and whether it ran (false: the token did not answer the
// question, why says what happened instead).
func (b *Backend) probeAgreementOn(ctx context.Context, alg backend.Algorithm) (why string, tried bool) {
	spec := backend.KeySpec{Label: "keyplane-probe-" + string(alg), Algorithm: alg}
	err := b.withSession(ctx, func(s *session) error {
		priv, err := b.generateKeyPair(s, spec, newID(), false)
		if err != nil {
			if alg == backend.X25519 && codeOf(err) != pkcs11.CKR_OK && !templateRefusedSession(codeOf(err)) {
				why, tried = fmt.Sprintf("no X25519 key pair: %v", err), true
				return nil
			}
			why = fmt.Sprintf("no session key pair to probe with: %v", err)
			return nil
		}
		defer func() { b.destroyProbe(s, priv) }()
		if alg.Family() == backend.FamilyEC && b.agreement.deriveRefused.Load() {
			why, tried = "the token refuses CKA_DERIVE on EC keys that sign", true
			return nil
		}
		k, err := b.readKeyPair(s, priv)
		if err != nil {
			why = fmt.Sprintf("reading the probe key: %v", err)
			return nil
		}
		pub, err := agreementPublicKey(k)
		if err != nil {
			why, tried = err.Error(), true
			return nil
		}
		eph, err := pub.Curve().GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		got, err := b.deriveSecret(s, priv, alg, eph.PublicKey().Bytes())
		if err != nil {
			if codeOf(err) == pkcs11.CKR_OK {
				return err // not an answer from the token
			}
			why, tried = err.Error(), true
			return nil
		}
		want, err := eph.ECDH(pub)
		if err != nil {
			return err
		}
		tried = true
		if subtle.ConstantTimeCompare(got, want) != 1 {
			why = "the token derived another secret than crypto/ecdh"
		}
		return nil
	})
	if err != nil && why == "" {
		why = err.Error()
	}
	return why, tried
}

// templateRefusedSession: codes for a template the token will not take,
// here a session key pair (CKA_TOKEN false) of a kind it may well make as
// token objects.
func templateRefusedSession(code uint) bool {
	return code == pkcs11.CKR_TEMPLATE_INCONSISTENT || code == pkcs11.CKR_ATTRIBUTE_VALUE_INVALID
}

// destroyProbe destroys a probe's private key and its public half.
func (b *Backend) destroyProbe(s *session, priv pkcs11.ObjectHandle) {
	a, err := b.attrs(s, priv, pkcs11.CKA_ID)
	if err == nil {
		if pubs, err := b.findObjects(s, keyQuery{id: a[pkcs11.CKA_ID]}.template(pkcs11.CKO_PUBLIC_KEY)); err == nil {
			for _, h := range pubs {
				_ = b.p.DestroyObject(s.h, h)
			}
		}
	}
	_ = b.p.DestroyObject(s.h, priv)
}

// agreementPublicKey is k's public key as crypto/ecdh has it.
func agreementPublicKey(k *keyObject) (*ecdh.PublicKey, error) {
	switch p := k.pub.(type) {
	case *ecdh.PublicKey:
		return p, nil
	case *ecdsa.PublicKey:
		pub, err := p.ECDH()
		if err != nil {
			return nil, fmt.Errorf("key %q: %v: %w", k.label, err, backend.ErrUnsupported)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("key %q is a %s key; key agreement takes X25519 and EC keys: %w", k.label, k.alg, backend.ErrUnsupported)
}

// agreementReport is Capabilities' DetailKeyAgreement value and its notes.
func (b *Backend) agreementReport() (detail string, notes []string) {
	if !b.mechAllows(pkcs11.CKM_ECDH1_DERIVE, pkcs11.CKF_DERIVE, 0) {
		return "none (the token lists no CKM_ECDH1_DERIVE)", nil // the detail says it all
	}
	var yes []string
	for _, alg := range agreementAlgorithms {
		why := b.agreementRefused(alg)
		switch {
		case why == "":
			yes = append(yes, string(alg))
		case alg.Family() == backend.FamilyEC && !b.supportsAlgorithm(alg):
			// No such keys at all: nothing to say about agreement.
		default:
			notes = append(notes, fmt.Sprintf("no key agreement with %s keys: %s", alg, why))
		}
	}
	if len(yes) == 0 {
		return "none (" + b.agreementCandidateSummary() + ")", notes
	}
	return strings.Join(yes, ", "), notes
}

func (b *Backend) agreementCandidateSummary() string {
	if why := b.agreementCandidate(backend.ECP256); why != "" {
		return why
	}
	return "the probe found no curve it derives on"
}

// agreementFromMechanisms says what the mechanism list alone tells of key
// agreement (keyplane tokens, which opens no session).
func (b *Backend) agreementFromMechanisms() string {
	if why := b.agreementCandidate(backend.ECP256); why == "the token lists no CKM_ECDH1_DERIVE" {
		return "none (" + why + ")"
	}
	var ec []string
	for _, alg := range agreementAlgorithms {
		if alg != backend.X25519 && b.agreementCandidate(alg) == "" {
			ec = append(ec, string(alg))
		}
	}
	parts := []string{}
	if len(ec) > 0 {
		parts = append(parts, strings.Join(ec, ", ")+" (CKM_ECDH1_DERIVE)")
	}
	switch mech, _ := b.x25519Mechanism(); {
	case b.agreementCandidate(backend.X25519) != "":
		parts = append(parts, "x25519: no")
	case mech == ckmECMontgomeryKeyPairGen:
		parts = append(parts, "x25519 (CKM_EC_MONTGOMERY_KEY_PAIR_GEN)")
	default:
		parts = append(parts, "x25519 if CKM_EC_EDWARDS_KEY_PAIR_GEN takes the X25519 curve (SoftHSM2 2.6.1 does; an opened backend probes it)")
	}
	return strings.Join(parts, "; ")
}
