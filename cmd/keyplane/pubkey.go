package main

import (
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/pkcs8"
	"github.com/spf13/cobra"
)

func newPubkeyCmd(c *cli) *cobra.Command {
	var ref, out, format string
	var version int
	cmd := &cobra.Command{
		Use:   "pubkey --key K",
		Short: "Print a key's public key",
		Long: `Print the public key of an asymmetric key.

Formats: pem (SubjectPublicKeyInfo, "PUBLIC KEY", the default), der (the same,
binary), ssh (one OpenSSH authorized_keys line, with the label as comment).
Secret keys (aes-256, fernet) have no public key.`,
		Example: `  keyplane pubkey --key release > release.pub.pem
  keyplane pubkey --key release --format ssh >> ~/.ssh/authorized_keys
  openssl pkey -pubin -in release.pub.pem -noout -text`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch format {
			case "pem", "der", "ssh":
			default:
				return fmt.Errorf("unknown --format %q (want pem, der or ssh)", format)
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
				data, err := encodePublicKey(k, format)
				if err != nil {
					return err
				}
				return c.writeOutput(out, data, permPublic)
			})
		},
	}
	addKeyFlag(cmd, &ref)
	addVersionFlag(cmd, &version)
	c.addOutFlag(cmd, &out, "write to `FILE` instead of stdout")
	cmd.Flags().StringVar(&format, "format", "pem", "output `format`: pem, der or ssh")
	return cmd
}

// publicKey returns k's public key, or a clear error for a secret key.
func publicKey(k *backend.Key) (any, error) {
	if k.Public == nil {
		if !k.Algorithm.Asymmetric() {
			return nil, fmt.Errorf("key %q is a secret %s key: it has no public key: %w", k.Label, k.Algorithm, backend.ErrUnsupported)
		}
		return nil, fmt.Errorf("the backend gave no public key for %s key %q: %w", k.Algorithm, k.Label, backend.ErrUnavailable)
	}
	return k.Public, nil
}

func encodePublicKey(k *backend.Key, format string) ([]byte, error) {
	pub, err := publicKey(k)
	if err != nil {
		return nil, err
	}
	if format == "ssh" {
		line, err := sshAuthorizedKey(pub, strings.ReplaceAll(k.Label, " ", "_"))
		if err != nil {
			return nil, err
		}
		return []byte(line + "\n"), nil
	}
	der, err := pkcs8.MarshalPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding the public key of %q: %w", k.Label, err)
	}
	if format == "der" {
		return der, nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}
