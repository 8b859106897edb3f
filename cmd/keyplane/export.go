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
	cmd := &cobra.Command{
		Use:   "export --key K [--out FILE] [--passphrase-file FILE]",
		Short: "Export a private key (software keystores only)",
		Long: `Export a key's private half, from a backend that allows it (the software
keystore; HSM keys cannot leave their token).

Private keys are written as PKCS#8 PEM. With a passphrase (from
--passphrase-file FILE or KEYPLANE_EXPORT_PASSPHRASE; never from the command
line) the PEM is encrypted ("ENCRYPTED PRIVATE KEY", PBES2 with
PBKDF2-HMAC-SHA256 and AES-256-CBC), which OpenSSL and Python's cryptography
read with the passphrase. Without one it is plain: mind where it goes.

Fernet keys are written as their 44-character base64url text, aes-256 keys as
64 hexadecimal characters, both as one line, as "keyplane import" reads them;
a passphrase does not apply to them.

A file named by --out is created with mode 0600.`,
		Example: `  keyplane export --key legacy --passphrase-file pass.txt --out legacy.enc.pem
  openssl pkey -in legacy.enc.pem -passin file:pass.txt -noout`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pass, err := c.passphrase(passFile, exportPassphraseEnv)
			if err != nil {
				return err
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
				key, err := exp.ExportKey(ctx, ref)
				if err != nil {
					return keyError(ref, err)
				}
				var data []byte
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
				default:
					data, err = pkcs8.MarshalPrivateKeyPEM(key, pass)
					if err != nil {
						return fmt.Errorf("encoding key %q: %w", k.Label, err)
					}
				}
				return c.writeOutput(out, data, permSecret)
			})
		},
	}
	addKeyFlag(cmd, &ref)
	cmd.Flags().StringVar(&out, "out", "", "write to `FILE` (mode 0600) instead of stdout")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "encrypt the PEM with the passphrase in `FILE`")
	return cmd
}
