package main

import (
	"bytes"
	"encoding/hex"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/fernet"
	"github.com/keyplane/keyplane/pkcs8"
	"github.com/spf13/cobra"
)

const importPassphraseEnv = "KEYPLANE_IMPORT_PASSPHRASE"

func newImportCmd(c *cli) *cobra.Command {
	var label, in, typ, passFile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "import --label L --in FILE [--type T] [--passphrase-file FILE]",
		Short: "Import an existing key into the backend",
		Long: `Import an existing key into the backend under a new label.

Private keys are read from PEM: PKCS#8 ("PRIVATE KEY"), encrypted PKCS#8
("ENCRYPTED PRIVATE KEY", as OpenSSL and Python's cryptography write it with
a password), PKCS#1 ("RSA PRIVATE KEY") and SEC 1 ("EC PRIVATE KEY"). The key
type comes from the file; --type, when given, must match it.

The passphrase of an encrypted file comes from --passphrase-file FILE or
the KEYPLANE_IMPORT_PASSPHRASE environment variable, never from the command
line.

Secret keys need --type:
  --type fernet   the 44-character base64url text that Fernet.generate_key()
                  prints (white space around it is ignored)
  --type aes-256  32 raw bytes, or 64 hexadecimal characters

Not every backend accepts imports (an HSM may refuse them).`,
		Example: `  keyplane import --label legacy --in key.pem
  keyplane import --label legacy --in key.enc.pem --passphrase-file pass.txt
  python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' > fernet.key
  keyplane import --label tokens --type fernet --in fernet.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := backend.ValidateLabel(label); err != nil {
				return err
			}
			var want backend.Algorithm
			if typ != "" {
				var err error
				if want, err = backend.ParseAlgorithm(typ); err != nil {
					return err
				}
			}
			data, err := c.readInputMax(in, maxKeyFile)
			if err != nil {
				return err
			}
			pass, err := c.passphrase(passFile, importPassphraseEnv)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return c.withBackend(ctx, func(b backend.Backend) error {
				imp, ok := b.(backend.Importer)
				if !ok {
					return fmt.Errorf("backend %s cannot import keys: %w", c.backendName(ctx, b), backend.ErrUnsupported)
				}
				key, err := parseImport(data, want, pass)
				if err != nil {
					return fmt.Errorf("%s: %w", inputName(in), err)
				}
				k, err := imp.ImportKey(ctx, label, key)
				if err != nil {
					return fmt.Errorf("importing key %q: %w", label, err)
				}
				return printImported(c, k, asJSON)
			})
		},
	}
	cmd.Flags().StringVar(&label, "label", "", "`label` of the imported key (required)")
	cmd.Flags().StringVar(&in, "in", "", "key `FILE` (\"-\" for stdin; required)")
	cmd.Flags().StringVar(&typ, "type", "", "key `type`; required for fernet and aes-256")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "read the PEM's passphrase from `FILE`")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the key as JSON")
	cmd.MarkFlagRequired("label")
	cmd.MarkFlagRequired("in")
	return cmd
}

func inputName(in string) string {
	if in == "" || in == "-" {
		return "stdin"
	}
	return in
}

// parseImport reads the key material in data; pass is the passphrase of an
// encrypted PEM, nil when none was given.
func parseImport(data []byte, want backend.Algorithm, pass []byte) (any, error) {
	switch want {
	case backend.Fernet:
		return fernet.ParseKey(string(bytes.TrimSpace(data)))
	case backend.AES256:
		return parseAESKey(data)
	}
	key, err := pkcs8.ParsePrivateKeyPEM(data, func() ([]byte, error) {
		if pass == nil {
			return nil, fmt.Errorf("the key is encrypted: give its passphrase with --passphrase-file FILE or %s: %w", importPassphraseEnv, backend.ErrAuthentication)
		}
		return pass, nil
	})
	if err != nil {
		return nil, err
	}
	if want != "" {
		got, err := backend.AlgorithmOf(key)
		if err != nil {
			return nil, err
		}
		if got != want {
			return nil, fmt.Errorf("the file holds a key of type %s, not %s (--type): %w", got, want, backend.ErrInvalidInput)
		}
	}
	return key, nil
}

// parseAESKey reads an aes-256 key: 32 raw bytes, or 64 hex characters
// (white space around them ignored).
func parseAESKey(data []byte) (backend.SecretKey, error) {
	if len(data) == 32 {
		return backend.SecretKey{Algorithm: backend.AES256, Value: bytes.Clone(data)}, nil
	}
	text := bytes.TrimSpace(data)
	if len(text) == 64 {
		v := make([]byte, 32)
		if _, err := hex.Decode(v, text); err == nil {
			return backend.SecretKey{Algorithm: backend.AES256, Value: v}, nil
		}
	}
	// Never echo the bytes: they may be (most of) a key.
	return backend.SecretKey{}, fmt.Errorf("an aes-256 key is 32 raw bytes or 64 hexadecimal characters; this input has %d bytes: %w", len(data), backend.ErrInvalidInput)
}

func printImported(c *cli, k *backend.Key, asJSON bool) error {
	if asJSON {
		return writeJSON(c.stdout, toKeyJSON(k))
	}
	_, err := fmt.Fprintf(c.stdout, "imported %s key %q (id %s)\n", k.Algorithm, k.Label, k.IDHex())
	return err
}
