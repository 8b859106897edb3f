package main

import (
	"encoding/hex"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/fernet"
	"github.com/keyplane/keyplane/pkcs8"
	"github.com/spf13/cobra"
)

const exportPassphraseEnv = "KEYPLANE_EXPORT_PASSPHRASE"

func newExportCmd(c *cli) *cobra.Command {
	var ref, out, passFile string
	var noPass bool
	cmd := &cobra.Command{
		Use:   "export --key K (--passphrase-file FILE | --no-passphrase) [--out FILE]",
		Short: "Export a private key (software keystores only)",
		Long: `Export a key's private half, from a backend that allows it (the software
keystore; HSM keys cannot leave their token).

Private keys are written as PKCS#8 PEM, encrypted with a passphrase from
--passphrase-file FILE or KEYPLANE_EXPORT_PASSPHRASE (never from the command
line): "ENCRYPTED PRIVATE KEY", PBES2 with PBKDF2-HMAC-SHA256 and
AES-256-CBC, which OpenSSL and Python's cryptography read with the
passphrase. To write a private key in the clear ("PRIVATE KEY"), say so with
--no-passphrase; with neither, export refuses. A line on stderr says which
one was written.

Fernet keys are written as their 44-character base64url text, aes-256 keys as
64 hexadecimal characters, both as one line, as "keyplane import" reads them;
they have no encrypted form, a passphrase does not apply to them, and stderr
says they were written in the clear.

A file named by --out is created with mode 0600.`,
		Example: `  keyplane export --key legacy --passphrase-file pass.txt --out legacy.enc.pem
  openssl pkey -in legacy.enc.pem -passin file:pass.txt -noout
  keyplane export --key legacy --no-passphrase --out legacy.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pass, passFrom, err := c.passphraseFrom(passFile, exportPassphraseEnv)
			if err != nil {
				return err
			}
			if pass != nil && noPass {
				return fmt.Errorf("--no-passphrase and an export passphrase contradict each other; give one")
			}
			dest := "stdout"
			if out != "" && out != "-" {
				dest = out
			}
			ctx := cmd.Context()
			return c.withBackend(ctx, func(b backend.Backend) error {
				exp, ok := b.(backend.Exporter)
				if !ok {
					return fmt.Errorf("keys in %s cannot be exported: %w", c.backendName(ctx, b), backend.ErrUnsupported)
				}
				k, err := lookupKey(ctx, b, ref)
				if err != nil {
					return err
				}
				if k.Algorithm.Asymmetric() && pass == nil && !noPass {
					return fmt.Errorf("key %q: a private key is exported encrypted: give a passphrase with --passphrase-file FILE or %s, or pass --no-passphrase to write it in the clear", k.Label, exportPassphraseEnv)
				}
				key, err := exp.ExportKey(ctx, ref)
				if err != nil {
					return keyError(ref, err)
				}
				var data []byte
				var said string
				switch sk := key.(type) {
				case backend.SecretKey:
					if pass != nil {
						return fmt.Errorf("key %q is a secret %s key, exported as text; a passphrase does not apply to it", k.Label, sk.Algorithm)
					}
					switch sk.Algorithm {
					case backend.Fernet:
						data = []byte(fernet.EncodeKey(sk) + "\n")
					case backend.AES256:
						data = []byte(hex.EncodeToString(sk.Value) + "\n")
					default:
						return fmt.Errorf("key %q: no export form for a %s secret key: %w", k.Label, sk.Algorithm, backend.ErrUnsupported)
					}
					said = fmt.Sprintf("exported %s key %q UNENCRYPTED (a secret key is exported as its text form, which has no encryption)", sk.Algorithm, k.Label)
				default:
					if pass == nil && !noPass {
						// The metadata said secret key, the material is not.
						return fmt.Errorf("key %q: a private key is exported encrypted: give a passphrase with --passphrase-file FILE or %s, or pass --no-passphrase to write it in the clear", k.Label, exportPassphraseEnv)
					}
					data, err = pkcs8.MarshalPrivateKeyPEM(key, pass)
					if err != nil {
						return fmt.Errorf("encoding key %q: %w", k.Label, err)
					}
					if pass != nil {
						said = fmt.Sprintf("exported private key %q encrypted (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC) with the passphrase from %s", k.Label, passFrom)
					} else {
						said = fmt.Sprintf("exported private key %q UNENCRYPTED (--no-passphrase)", k.Label)
					}
				}
				defer clear(data)
				if err := c.writeOutput(out, data, permSecret); err != nil {
					return err
				}
				fmt.Fprintf(c.stderr, "%s%s to %s\n", errorPrefix, said, dest)
				return nil
			})
		},
	}
	addKeyFlag(cmd, &ref)
	c.addOutFlag(cmd, &out, "write to `FILE` (mode 0600) instead of stdout")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "encrypt the PEM with the passphrase in `FILE`")
	cmd.Flags().BoolVar(&noPass, "no-passphrase", false, "write a private key unencrypted (needed when no export passphrase is given)")
	return cmd
}
