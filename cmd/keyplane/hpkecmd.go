package main

import (
	"crypto"
	"fmt"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/hpke"
	"github.com/spf13/cobra"
)

// hpkeFlags are the flags of encrypt and decrypt for the hpke-* suites.
type hpkeFlags struct {
	kemKey, info string
	recipients   []string // encrypt --recipient
}

func (h *hpkeFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&h.kemKey, "kem-key", "", "the ML-KEM-768 key `K` of a hybrid suite (hpke-xwing, hpke-mlkem768-p256); --key is then its X25519 or P-256 key")
	cmd.Flags().StringVar(&h.info, "info", "", "HPKE info string, as `text` (hpke-* only; both sides must use the same)")
}

// addRecipient adds encrypt's --recipient.
func (h *hpkeFlags) addRecipient(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&h.recipients, "recipient", nil, "seal to the public key in `FILE` (PEM SubjectPublicKeyInfo) instead of --key; twice for a hybrid suite, its two public keys (hpke-* only)")
}

// isHPKE reports whether --alg names an HPKE suite.
func isHPKE(alg string) bool { return strings.HasPrefix(alg, "hpke-") }

const hpkeAlgorithmsHelp = `
HPKE (RFC 9180) suites, output enc ‖ ciphertext as Python's cryptography
(hpke.Suite.encrypt) writes it; --info sets the info string (text):
  hpke-x25519         DHKEM(X25519), HKDF-SHA256, AES-128-GCM; --key an x25519 key
  hpke-p256           DHKEM(P-256), HKDF-SHA256, AES-128-GCM; --key an ec-p256 key
  hpke-mlkem768       ML-KEM-768, HKDF-SHA256, AES-256-GCM; --key an ml-kem-768 key
  hpke-xwing          X-Wing (MLKEM768-X25519), HKDF-SHA256, AES-256-GCM;
                      --key an x25519 key, --kem-key an ml-kem-768 key
  hpke-mlkem768-p256  MLKEM768-P256, HKDF-SHA256, AES-256-GCM;
                      --key an ec-p256 key, --kem-key an ml-kem-768 key
encrypt --recipient FILE seals to a public key in a file instead (PEM
SubjectPublicKeyInfo, as "keyplane pubkey" and pyca write it), with no
backend: one file for a single-key suite, two for a hybrid (its x25519 or
ec-p256 key and its ml-kem-768 key, in either order: each file names its
key type).`

// check refuses the flags that do not apply to an HPKE suite, and the HPKE
// flags for other algorithms.
func (h *hpkeFlags) check(cmd *cobra.Command, alg string) (hpke.Suite, error) {
	if !isHPKE(alg) {
		for _, f := range []string{"kem-key", "info"} {
			if cmd.Flags().Changed(f) {
				return hpke.Suite{}, fmt.Errorf("--%s applies to the hpke-* suites only, not %s", f, alg)
			}
		}
		return hpke.Suite{}, nil
	}
	s, err := hpke.ParseSuite(alg)
	if err != nil {
		return s, err
	}
	for _, f := range []string{"label", "aad", "ttl"} {
		if cmd.Flags().Lookup(f) != nil && cmd.Flags().Changed(f) {
			return s, fmt.Errorf("--%s does not apply to %s", f, alg)
		}
	}
	hybrid := len(s.KeyAlgorithms()) == 2
	if hybrid && h.kemKey == "" {
		return s, fmt.Errorf("%s is a hybrid: --key names its %s key and --kem-key its %s key", alg, s.KeyAlgorithms()[0], s.KeyAlgorithms()[1])
	}
	if !hybrid && h.kemKey != "" {
		return s, fmt.Errorf("--kem-key applies to the hybrid suites only, not %s", alg)
	}
	return s, nil
}

// refs returns the key references in the suite's order.
func (h *hpkeFlags) refs(f *cryptFlags) []string {
	if h.kemKey != "" {
		return []string{f.ref, h.kemKey}
	}
	return []string{f.ref}
}

// hpkeEncrypt seals the input to the public keys of the suite's keys.
func (c *cli) hpkeEncrypt(cmd *cobra.Command, f *cryptFlags, h *hpkeFlags) error {
	s, err := h.check(cmd, f.alg)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	return c.withBackend(ctx, func(b backend.Backend) error {
		var pubs []crypto.PublicKey
		for i, ref := range h.refs(f) {
			k, err := lookupKey(ctx, b, ref)
			if err != nil {
				return err
			}
			if want := s.KeyAlgorithms()[i]; k.Algorithm != want {
				return fmt.Errorf("%s needs a %s key, %q is %s: %w", s, want, k.Label, k.Algorithm, backend.ErrUnsupported)
			}
			pub, err := publicKey(k)
			if err != nil {
				return err
			}
			pubs = append(pubs, pub)
		}
		return c.hpkeSeal(s, pubs, h.info, f, h.refs(f))
	})
}

// hpkeSeal seals --in to the suite's public keys pubs (in the suite's
// order) with the info string, and writes enc ‖ ciphertext to --out; to
// names the recipients (key references or files) in errors.
func (c *cli) hpkeSeal(s hpke.Suite, pubs []crypto.PublicKey, info string, f *cryptFlags, to []string) error {
	pub, err := s.PublicKey(pubs...)
	if err != nil {
		return err
	}
	plaintext, err := c.readInput(f.in)
	if err != nil {
		return err
	}
	out, err := s.Seal(pub, []byte(info), plaintext)
	if err != nil {
		return fmt.Errorf("encrypting to %s: %w", strings.Join(to, " and "), err)
	}
	return c.writeOutput(f.out, out, permPublic)
}

// hpkeDecrypt opens the input with the backend's keys.
func (c *cli) hpkeDecrypt(cmd *cobra.Command, f *cryptFlags, h *hpkeFlags) error {
	s, err := h.check(cmd, f.alg)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	return c.withBackend(ctx, func(b backend.Backend) error {
		for i, ref := range h.refs(f) {
			k, err := lookupKey(ctx, b, ref)
			if err != nil {
				return err
			}
			if want := s.KeyAlgorithms()[i]; k.Algorithm != want {
				return fmt.Errorf("%s needs a %s key, %q is %s: %w", s, want, k.Label, k.Algorithm, backend.ErrUnsupported)
			}
		}
		o, err := hpke.OpenerFor(ctx, s, b, h.refs(f)...)
		if err != nil {
			return err
		}
		sealed, err := c.readInput(f.in)
		if err != nil {
			return err
		}
		out, err := o.Open([]byte(h.info), sealed)
		if err != nil {
			return fmt.Errorf("decrypting with %s (%s): %w", strings.Join(h.refs(f), " and "), s, err)
		}
		return c.writeOutput(f.out, out, permSecret)
	})
}
