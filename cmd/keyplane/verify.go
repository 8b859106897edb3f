package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"

	"filippo.io/mldsa"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/pkcs8"
	"github.com/spf13/cobra"
)

// errBadSignature is what verify reports, with exit status 1.
var errBadSignature = errors.New("signature is NOT valid")

func newVerifyCmd(c *cli) *cobra.Command {
	var ref, pubFile, alg, in, sigFile string
	var version int
	var cf contextFlags
	cmd := &cobra.Command{
		Use:   "verify (--key K | --pubkey FILE) --alg A --sig FILE [--in FILE]",
		Short: "Verify a signature",
		Long: `Verify a signature made by "keyplane sign" (or any tool producing the same
standard signature) over a file (stdin without --in).

The check is done with Go's standard library against the key's public key,
never by the backend. With --pubkey, the public key comes from a PEM or DER
SubjectPublicKeyInfo file (what "keyplane pubkey" writes) and no backend is
opened: whoever holds only the public key can verify. RSA-PSS signatures
with any salt length are accepted. An ML-DSA signature made with a context
string verifies only with the same --context (or --context-hex).

Exit status: 0 when the signature is valid, 1 when it is not, 2 on errors
(missing key, unreadable file, unknown algorithm...).`,
		Example: `  keyplane verify --key release --alg ecdsa-sha256 --sig release.sig --in release.tar.gz && echo valid
  keyplane verify --pubkey release.pub --alg ecdsa-sha256 --sig release.sig --in release.tar.gz
  keyplane verify --pubkey release-pq.pub --alg ml-dsa --context "keyplane releases" --sig release.sig --in release.tar.gz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			op, err := parseOp(alg, backend.OpSign)
			if err != nil {
				return err
			}
			if err := cf.parse(cmd); err != nil {
				return err
			}
			sig, err := readFile("sig", sigFile)
			if err != nil {
				return err
			}
			check := func(k *backend.Key) error {
				if err := cf.check(k); err != nil {
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
				if !verifySignature(op, pub, tbs, sig, cf.value) {
					return failed(fmt.Errorf("%w: key %q, %s", errBadSignature, k.Label, op))
				}
				_, err = fmt.Fprintln(c.stdout, "signature is valid")
				return err
			}
			if pubFile != "" {
				k, err := readPublicKeyFile(pubFile)
				if err != nil {
					return err
				}
				return check(k)
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
				return check(k)
			})
		},
	}
	cmd.Flags().StringVar(&ref, "key", "", "the key `K`: its label, \"id:<hex>\", or a backend key URI")
	addVersionFlag(cmd, &version)
	cmd.Flags().StringVar(&pubFile, "pubkey", "", "verify against the public key in `FILE` (PEM or DER) instead of a backend's key")
	cmd.Flags().StringVar(&alg, "alg", "", "signature `algorithm` (required)")
	cmd.Flags().StringVar(&in, "in", "", "signed `FILE` (default: stdin)")
	cmd.Flags().StringVar(&sigFile, "sig", "", "`FILE` holding the signature (required)")
	cf.add(cmd)
	cmd.MarkFlagsOneRequired("key", "pubkey")
	cmd.MarkFlagsMutuallyExclusive("key", "pubkey")
	cmd.MarkFlagRequired("alg")
	cmd.MarkFlagRequired("sig")
	return cmd
}

// readPublicKeyFile reads a SubjectPublicKeyInfo, PEM ("PUBLIC KEY") or
// DER, and describes it as a key named after the file.
func readPublicKeyFile(path string) (*backend.Key, error) {
	data, err := readFile("pubkey", path)
	if err != nil {
		return nil, err
	}
	der := data
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("--pubkey %s: a PEM %q block, want \"PUBLIC KEY\" (SubjectPublicKeyInfo): %w", path, block.Type, backend.ErrInvalidInput)
		}
		der = block.Bytes
	}
	pub, err := pkcs8.ParsePublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("--pubkey %s: not a SubjectPublicKeyInfo public key (PEM or DER): %w", path, backend.ErrInvalidInput)
	}
	alg, err := backend.AlgorithmOf(pub)
	if err != nil {
		return nil, fmt.Errorf("--pubkey %s: %w", path, err)
	}
	return &backend.Key{Label: path, Algorithm: alg, Public: pub}, nil
}

// verifySignature checks sig over tbs (a digest, or the message for
// Ed25519 and ML-DSA) with the standard library (filippo.io/mldsa for
// ML-DSA, with the context string mldsaContext; "" for the others).
func verifySignature(op backend.Operation, pub any, tbs, sig []byte, mldsaContext string) bool {
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
	case *mldsa.PublicKey:
		return mldsa.Verify(k, tbs, sig, &mldsa.Options{Context: mldsaContext}) == nil
	}
	return false
}
