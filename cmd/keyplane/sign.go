package main

import (
	"crypto/rand"
	"fmt"
	"io"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

func newSignCmd(c *cli) *cobra.Command {
	var ref, alg, in, out string
	var version int
	var cf contextFlags
	cmd := &cobra.Command{
		Use:   "sign --key K --alg A [--in FILE] [--out FILE]",
		Short: "Sign a file",
		Long: `Sign a file (stdin without --in) and write the raw signature (to stdout
without --out).

The input is hashed with the algorithm's hash and the digest is signed;
Ed25519 signs the message itself. Signatures are what the standards define:
PKCS#1 v1.5 and PSS as the big-endian integer of the key's size, ECDSA as
ASN.1 DER (like "openssl dgst -sign"), Ed25519 as 64 bytes. RSA-PSS uses a
salt as long as the hash.

ML-DSA (--alg ml-dsa, for ml-dsa-44/65/87 keys) signs the message itself,
hedged, with an optional context string: --context as text or --context-hex
as bytes, at most 255 bytes; the verifier must give the same (pyca:
key.sign(data, context)). Other keys refuse a context.

Algorithms: ` + joinAlgorithms(opsOfKind(backend.OpSign)) + `.`,
		Example: `  keyplane sign --key release --alg ecdsa-sha256 --in release.tar.gz --out release.sig
  keyplane pubkey --key release > pub.pem
  openssl dgst -sha256 -verify pub.pem -signature release.sig release.tar.gz
  keyplane sign --key release-pq --alg ml-dsa --context "keyplane releases" --in release.tar.gz --out release.sig`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			op, err := parseOp(alg, backend.OpSign)
			if err != nil {
				return err
			}
			if err := cf.parse(cmd); err != nil {
				return err
			}
			ctx := cmd.Context()
			return c.withBackend(ctx, func(b backend.Backend) error {
				ref, err := versionRef(ctx, b, ref, version)
				if err != nil {
					return err
				}
				k, err := lookupKey(ctx, b, ref)
				if err != nil {
					return err
				}
				if err := cf.check(k); err != nil {
					return err
				}
				if err := checkApplies(op, k); err != nil {
					return err
				}
				signer, err := b.Signer(ctx, ref)
				if err != nil {
					return keyError(ref, err)
				}
				tbs, err := c.toBeSigned(op, in)
				if err != nil {
					return err
				}
				sig, err := signer.Sign(rand.Reader, tbs, cf.signerOpts(op))
				if err != nil {
					return fmt.Errorf("signing with key %q (%s): %w", k.Label, op, err)
				}
				return c.writeOutput(out, sig, permPublic)
			})
		},
	}
	addKeyFlag(cmd, &ref)
	addVersionFlag(cmd, &version)
	cmd.Flags().StringVar(&alg, "alg", "", "signature `algorithm` (required)")
	cmd.Flags().StringVar(&in, "in", "", "`FILE` to sign (default: stdin)")
	c.addOutFlag(cmd, &out, "write the signature to `FILE` (default: stdout)")
	cf.add(cmd)
	cmd.MarkFlagRequired("alg")
	return cmd
}

// toBeSigned returns what a crypto.Signer signs for op: the digest of the
// input under op's hash, or the input itself for Ed25519.
func (c *cli) toBeSigned(op backend.Operation, in string) ([]byte, error) {
	h := op.Hash()
	if h == 0 {
		return c.readInput(in)
	}
	if !h.Available() {
		return nil, fmt.Errorf("hash %v is not linked into this binary: %w", h, backend.ErrUnsupported)
	}
	r, err := c.openInput(in)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	hh := h.New()
	if _, err := io.Copy(hh, r); err != nil {
		return nil, fmt.Errorf("reading input: %w", pathError(err))
	}
	return hh.Sum(nil), nil
}
