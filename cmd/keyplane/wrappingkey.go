package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/pkcs11"
	"github.com/keyplane/keyplane/internal/secretfile"
	"github.com/spf13/cobra"
)

func newWrappingKeyCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wrapping-key (create | trust | transport)",
		Short: "Set up the keys that wrap keys between PKCS#11 tokens",
		Long: `Make the keys "keyplane wrap" and "keyplane unwrap" use, on PKCS#11 tokens.

A key made with "keygen --wrappable" leaves its token only under a wrapping
key with CKA_TRUSTED true, and PKCS#11 lets only the token's security officer
(SO) set that: "create" and "trust" log in as the SO (PIN from --so-pin-file,
never the command line) on a session of their own, make the key, and log out.
The SO can make public objects only, so a trusted wrapping key is visible
without the user PIN; it can do nothing but wrap, and wraps only what the
session can see.

  create     an AES-256 wrapping key, random, made in memory: its trusted,
             wrap-only half in the --backend token, and its unwrap-only half
             (private, sensitive) in each --unwrap-in token, so that keys
             wrapped in the first unwrap in the others. The key's bytes exist
             in this process for the command's length and are never written.
  trust      an RSA public key (from "transport" on another token) as a
             trusted wrapping key: AES keys wrapped under it with
             rsa-oaep-sha1 unwrap only in the token that holds its private
             key.
  transport  an RSA key pair in the --backend token whose private key can only
             unwrap: the target of "trust", and of "unwrap --from", which
             wraps software keys to its public key in memory. Prints the
             public key (PEM).`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newWrappingKeyCreateCmd(c), newWrappingKeyTrustCmd(c), newWrappingKeyTransportCmd(c))
	return cmd
}

// soPIN is the SO PIN in the file --so-pin-file names, as a SecretFunc:
// the file is read (by internal/secretfile's rule, as every secret file
// of keyplane is) when the security officer logs in, and pkcs11 zeroes
// the bytes after the login.
func soPIN(path string) (backend.SecretFunc, error) {
	if path == "" {
		return nil, fmt.Errorf("--so-pin-file FILE is required: the security officer's PIN")
	}
	return func(context.Context) ([]byte, error) { return secretfile.Read("--so-pin-file", path) }, nil
}

func newWrappingKeyCreateCmd(c *cli) *cobra.Command {
	var label, unwrapLabel, pinFile string
	var unwrapIn []string
	cmd := &cobra.Command{
		Use:   "create --label W --so-pin-file FILE [--unwrap-in URI]... [--unwrap-label L]",
		Short: "Make a trusted AES wrapping key in a token, and its unwrapping half in others",
		Example: `  keyplane --backend "$TOKEN_A" wrapping-key create --label kek --so-pin-file so.pin --unwrap-in "$TOKEN_B"
  keyplane --backend "$TOKEN_A" wrapping-key create --label kek --so-pin-file so.pin --unwrap-in "$TOKEN_A" --unwrap-label kek-restore`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := backend.ValidateLabel(label); err != nil {
				return err
			}
			if unwrapLabel == "" {
				unwrapLabel = label
			}
			if err := backend.ValidateLabel(unwrapLabel); err != nil {
				return err
			}
			pin, err := soPIN(pinFile)
			if err != nil {
				return err
			}
			uri, err := c.backendURIFor()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			value := make([]byte, 32)
			defer clear(value)
			_, _ = rand.Read(value)
			key := backend.SecretKey{Algorithm: backend.AES256, Value: value}
			k, err := pkcs11.CreateTrustedWrappingKey(ctx, uri, pin, label, key)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "trusted wrapping key %q (id %s) in %s\n", k.Label, k.IDHex(), backend.Redact(uri))
			for _, u := range unwrapIn {
				b, err := c.openURI(ctx, u)
				if err != nil {
					return fmt.Errorf("--unwrap-in: %w", err)
				}
				p, ok := b.(*pkcs11.Backend)
				if !ok {
					b.Close()
					return fmt.Errorf("--unwrap-in %s: not a pkcs11: token: %w", backend.Redact(u), backend.ErrUnsupported)
				}
				uk, err := p.ImportUnwrappingKey(ctx, unwrapLabel, key)
				b.Close()
				if err != nil {
					return fmt.Errorf("--unwrap-in %s: %w", backend.Redact(u), err)
				}
				fmt.Fprintf(c.stdout, "unwrapping key %q (id %s) in %s\n", uk.Label, uk.IDHex(), backend.Redact(u))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&label, "label", "", "`label` of the wrapping key (required)")
	cmd.Flags().StringVar(&pinFile, "so-pin-file", "", "read the security officer's PIN from `FILE` (required)")
	cmd.Flags().StringArrayVar(&unwrapIn, "unwrap-in", nil, "make the unwrapping half in the token at `URI` (repeatable)")
	cmd.Flags().StringVar(&unwrapLabel, "unwrap-label", "", "`label` of the unwrapping halves (default: --label; needed when --unwrap-in names the same token)")
	cmd.MarkFlagRequired("label")
	return cmd
}

func newWrappingKeyTrustCmd(c *cli) *cobra.Command {
	var label, pinFile, pubFile string
	cmd := &cobra.Command{
		Use:   "trust --label W --so-pin-file FILE --public-key FILE",
		Short: "Make an RSA public key a trusted wrapping key in a token",
		Example: `  keyplane --backend "$TOKEN_B" wrapping-key transport --label transport --out b-transport.pem
  keyplane --backend "$TOKEN_A" wrapping-key trust --label b-transport --public-key b-transport.pem --so-pin-file so.pin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pin, err := soPIN(pinFile)
			if err != nil {
				return err
			}
			data, err := readFile("public-key", pubFile)
			if err != nil {
				return err
			}
			block, _ := pem.Decode(data)
			if block == nil || block.Type != "PUBLIC KEY" {
				return fmt.Errorf("--public-key %s: not a PEM \"PUBLIC KEY\": %w", pubFile, backend.ErrInvalidInput)
			}
			pub, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				return fmt.Errorf("--public-key %s: %v: %w", pubFile, err, backend.ErrInvalidInput)
			}
			rpub, ok := pub.(*rsa.PublicKey)
			if !ok {
				return fmt.Errorf("--public-key %s: a %T, not an RSA public key: %w", pubFile, pub, backend.ErrUnsupported)
			}
			uri, err := c.backendURIFor()
			if err != nil {
				return err
			}
			k, err := pkcs11.CreateTrustedWrappingKey(cmd.Context(), uri, pin, label, rpub)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "trusted wrapping key %q (%s, id %s)\n", k.Label, k.Algorithm, k.IDHex())
			return err
		},
	}
	cmd.Flags().StringVar(&label, "label", "", "`label` of the wrapping key (required)")
	cmd.Flags().StringVar(&pinFile, "so-pin-file", "", "read the security officer's PIN from `FILE` (required)")
	cmd.Flags().StringVar(&pubFile, "public-key", "", "the RSA public key `FILE` (PEM SPKI, as \"wrapping-key transport\" prints it) (required)")
	cmd.MarkFlagRequired("label")
	cmd.MarkFlagRequired("public-key")
	return cmd
}

func newWrappingKeyTransportCmd(c *cli) *cobra.Command {
	var label, typ, out string
	cmd := &cobra.Command{
		Use:     "transport --label T [--type rsa-2048] [--out FILE]",
		Short:   "Make an RSA key pair that only unwraps, and print its public key",
		Example: `  keyplane --backend "$TOKEN" wrapping-key transport --label transport --out transport.pem`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			alg, err := backend.ParseAlgorithm(typ)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return c.withBackend(ctx, func(b backend.Backend) error {
				p, ok := b.(*pkcs11.Backend)
				if !ok {
					return fmt.Errorf("%s: transport keys are made in PKCS#11 tokens: %w", c.backendName(ctx, b), backend.ErrUnsupported)
				}
				k, err := p.GenerateUnwrappingKey(ctx, label, alg)
				if err != nil {
					return err
				}
				der, err := x509.MarshalPKIXPublicKey(k.Public)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stderr, "unwrapping key %q (%s, id %s)\n", k.Label, k.Algorithm, k.IDHex())
				return c.writeOutput(out, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), permPublic)
			})
		},
	}
	cmd.Flags().StringVar(&label, "label", "", "`label` of the key pair (required)")
	cmd.Flags().StringVar(&typ, "type", string(backend.RSA2048), "key `type`: rsa-2048, rsa-3072 or rsa-4096")
	c.addOutFlag(cmd, &out, "write the public key to `FILE` (default stdout)")
	cmd.MarkFlagRequired("label")
	return cmd
}
