package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

// errBadSignature is what verify reports, with exit status 1.
var errBadSignature = errors.New("signature is NOT valid")

func newVerifyCmd(c *cli) *cobra.Command {
	var ref, alg, in, sigFile string
	cmd := &cobra.Command{
		Use:   "verify --key K --alg A --sig FILE [--in FILE]",
		Short: "Verify a signature",
		Long: `Verify a signature made by "keyplane sign" (or any tool producing the same
standard signature) over a file (stdin without --in).

The check is done with Go's standard library against the key's public key,
never by the backend. RSA-PSS signatures with any salt length are accepted.

Exit status: 0 when the signature is valid, 1 when it is not, 2 on errors
(missing key, unreadable file, unknown algorithm...).`,
		Example: `  keyplane verify --key release --alg ecdsa-sha256 --sig release.sig --in release.tar.gz && echo valid`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			op, err := parseOp(alg, backend.OpSign)
			if err != nil {
				return err
			}
			sig, err := readFile("sig", sigFile)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return c.withBackend(ctx, func(b backend.Backend) error {
				k, err := lookupKey(ctx, b, ref)
				if err != nil {
					return err
				}
				if err := checkApplies(op, k); err != nil {
					return err
				}
				pub, err := publicKey(k)
				if err != nil {
					return err
				}
				tbs, err := c.toBeSigned(op, in)
				if err != nil {
					return err
				}
				if !verifySignature(op, pub, tbs, sig) {
					return failed(fmt.Errorf("%w: key %q, %s", errBadSignature, k.Label, op))
				}
				_, err = fmt.Fprintln(c.stdout, "signature is valid")
				return err
			})
		},
	}
	addKeyFlag(cmd, &ref)
	cmd.Flags().StringVar(&alg, "alg", "", "signature `algorithm` (required)")
	cmd.Flags().StringVar(&in, "in", "", "signed `FILE` (default: stdin)")
	cmd.Flags().StringVar(&sigFile, "sig", "", "`FILE` holding the signature (required)")
	cmd.MarkFlagRequired("alg")
	cmd.MarkFlagRequired("sig")
	return cmd
}

// verifySignature checks sig over tbs (a digest, or the message for
// Ed25519) with the standard library.
func verifySignature(op backend.Operation, pub any, tbs, sig []byte) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if op.PSS() {
			return rsa.VerifyPSS(k, op.Hash(), tbs, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
		}
		return rsa.VerifyPKCS1v15(k, op.Hash(), tbs, sig) == nil
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, tbs, sig)
	case ed25519.PublicKey:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(k, tbs, sig)
	}
	return false
}
