package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/jose"
	"github.com/spf13/cobra"
)

func newJWSCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "jws",
		Short: "Sign and verify JSON Web Signatures (JWS, JWT)",
		Long: `Sign a payload as a JWS in compact serialization (RFC 7515), and verify one.
A JWT is a JWS whose payload is a JSON claims set; jws signs and checks the
signature and leaves the claims (exp, aud...) to the reader.

Algorithms (RFC 7518, RFC 8037): ES256, ES384, ES512 (ECDSA P-256, P-384,
P-521), RS256, RS384, RS512 (RSA PKCS#1 v1.5), PS256, PS384, PS512 (RSA-PSS,
salt as long as the hash), EdDSA (Ed25519).`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newJWSSignCmd(c), newJWSVerifyCmd(c))
	return cmd
}

func newJWSSignCmd(c *cli) *cobra.Command {
	var ref, alg, kid, typ, in, out string
	cmd := &cobra.Command{
		Use:   "sign --key K [--alg A] [--kid ID] [--typ T] [--in FILE] [--out FILE]",
		Short: "Sign a payload and print the compact JWS",
		Long: `Sign a payload (stdin without --in) with the key and print the compact JWS
(header.payload.signature, base64url) on one line.

The protected header is {"alg":...,"kid":...,"typ":...}, "kid" and "typ"
only when given. Without --alg the algorithm follows from the key: ES256,
ES384 or ES512 for EC keys, RS256 for RSA, EdDSA for Ed25519; --alg picks
another that fits the key (RS384, RS512, PS256, PS384, PS512 for RSA).`,
		Example: `  echo -n '{"sub":"alice","exp":1893456000}' | keyplane jws sign --key issuer --kid issuer-1 --typ JWT > token.jwt
  keyplane jws verify --key issuer --in token.jwt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return c.withKey(ctx, ref, func(b backend.Backend, k *backend.Key) error {
				if _, err := jose.AlgorithmsFor(k.Public); err != nil {
					return fmt.Errorf("key %q (%s): %w", k.Label, k.Algorithm, err)
				}
				signer, err := b.Signer(ctx, ref)
				if err != nil {
					return keyError(ref, err)
				}
				payload, err := c.readInput(in)
				if err != nil {
					return err
				}
				token, err := jose.Sign(signer, payload, jose.SignOptions{Alg: jose.Algorithm(alg), KeyID: kid, Type: typ})
				if err != nil {
					return fmt.Errorf("signing with key %q: %w", k.Label, err)
				}
				return c.writeOutput(out, []byte(token+"\n"), permPublic)
			})
		},
	}
	addKeyFlag(cmd, &ref)
	cmd.Flags().StringVar(&alg, "alg", "", "JWS `algorithm` (default: the key's, see above)")
	cmd.Flags().StringVar(&kid, "kid", "", "the \"kid\" header `ID`")
	cmd.Flags().StringVar(&typ, "typ", "", "the \"typ\" header `T` (JWT for a JWT)")
	cmd.Flags().StringVar(&in, "in", "", "payload `FILE` (default: stdin)")
	c.addOutFlag(cmd, &out, "write the JWS to `FILE` (default: stdout)")
	return cmd
}

// errBadJWS is what jws verify reports, with exit status 1.
var errBadJWS = errors.New("JWS is NOT valid")

func newJWSVerifyCmd(c *cli) *cobra.Command {
	var ref, pubFile, in, out string
	var algs []string
	cmd := &cobra.Command{
		Use:   "verify (--key K | --pubkey FILE) [--alg A]... [--in FILE] [--out FILE]",
		Short: "Verify a compact JWS and print its payload",
		Long: `Verify a compact JWS (stdin without --in) against the key's public key, and
write its payload (to stdout without --out).

The token's "alg" must be one of --alg (repeatable; default: every algorithm
that fits the key) and fit the key; "none" is always refused, as are
headers with "crit". The check is done with Go's standard library, never by
the backend; with --pubkey (a PEM or DER SubjectPublicKeyInfo file) no
backend is opened.

Exit status: 0 when the JWS is valid, 1 when it is not, 2 on errors.`,
		Example: `  keyplane jws verify --key issuer --alg ES256 --in token.jwt
  keyplane jws verify --pubkey issuer.pub.pem --in token.jwt > claims.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (ref == "") == (pubFile == "") {
				return errors.New("give one of --key and --pubkey")
			}
			raw, err := c.readInput(in)
			if err != nil {
				return err
			}
			token := string(bytes.TrimSpace(raw))
			check := func(k *backend.Key) error {
				pub, err := publicKey(k)
				if err != nil {
					return err
				}
				allowed, err := jose.AlgorithmsFor(pub)
				if err != nil {
					return fmt.Errorf("key %q (%s): %w", k.Label, k.Algorithm, err)
				}
				if len(algs) > 0 {
					allowed = allowed[:0]
					for _, a := range algs {
						allowed = append(allowed, jose.Algorithm(a))
					}
				}
				payload, _, err := jose.Verify(token, pub, allowed...)
				if err != nil {
					reason := strings.TrimPrefix(err.Error(), jose.ErrInvalidSignature.Error()+": ")
					return failed(fmt.Errorf("%w: key %q: %s", errBadJWS, k.Label, reason))
				}
				return c.writeOutput(out, payload, permPublic)
			}
			if pubFile != "" {
				k, err := readPublicKeyFile(pubFile)
				if err != nil {
					return err
				}
				return check(k)
			}
			ctx := cmd.Context()
			return c.withKey(ctx, ref, func(b backend.Backend, k *backend.Key) error {
				return check(k)
			})
		},
	}
	cmd.Flags().StringVar(&ref, "key", "", "the key `K`: its label, \"id:<hex>\", or a backend key URI")
	cmd.Flags().StringVar(&pubFile, "pubkey", "", "public key `FILE` (PEM or DER SubjectPublicKeyInfo) instead of --key")
	cmd.Flags().StringArrayVar(&algs, "alg", nil, "allowed JWS `algorithm` (repeatable; default: those that fit the key)")
	cmd.Flags().StringVar(&in, "in", "", "`FILE` holding the JWS (default: stdin)")
	c.addOutFlag(cmd, &out, "write the payload to `FILE` (default: stdout)")
	return cmd
}
