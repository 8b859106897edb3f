package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

func newDecryptCmd(c *cli) *cobra.Command {
	var f cryptFlags
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "decrypt --key K --alg A [--in FILE] [--out FILE]",
		Short: "Decrypt a file",
		Long: `Decrypt a file (stdin without --in) with a key held by the backend,
writing the plaintext (to stdout without --out; a file is created 0600).

Every kind of failure (wrong key, tampered data, bad padding, expired token)
gives the same "decryption failed" error, on purpose: the message must not
help an attacker.

` + cryptAlgorithmsHelp,
		Example: `  keyplane decrypt --key backup --alg rsa-oaep-sha256 --in data-key.enc --out data-key.bin
  keyplane decrypt --key db --alg aes-256-gcm --aad "row 42" --in row.enc
  keyplane decrypt --key tokens --alg fernet --ttl 1h --in token.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			op, err := parseOp(f.alg, cryptOps...)
			if err != nil {
				return err
			}
			if err := f.check(cmd, op); err != nil {
				return err
			}
			if ttl < 0 {
				return fmt.Errorf("--ttl %v is negative", ttl)
			}
			ctx := cmd.Context()
			return c.withBackend(ctx, func(b backend.Backend) error {
				k, err := lookupKey(ctx, b, f.ref)
				if err != nil {
					return err
				}
				if err := checkApplies(op, k); err != nil {
					return err
				}
				ciphertext, err := c.readInput(f.in)
				if err != nil {
					return err
				}
				var out []byte
				switch op.Kind() {
				case backend.OpDecrypt:
					out, err = c.rsaDecrypt(ctx, b, op, f.ref, ciphertext, []byte(f.oaepLabel))
				case backend.OpAEAD:
					var aead backend.AEAD
					aead, err = c.aeadFor(ctx, b, f.ref)
					if err == nil {
						out, err = aead.Open(ctx, ciphertext, []byte(f.aad))
					}
				case backend.OpFernet:
					out, err = c.fernetDecrypt(ctx, b, f.ref, ciphertext, ttl)
				}
				if err != nil {
					return fmt.Errorf("decrypting with key %q (%s): %w", k.Label, op, err)
				}
				return c.writeOutput(f.out, out, permSecret)
			})
		},
	}
	f.add(c, cmd, "decrypt")
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "refuse Fernet tokens older than this `duration` (e.g. 1h; default: no limit)")
	return cmd
}

// rsaDecrypt decrypts through the backend's crypto.Decrypter.
func (c *cli) rsaDecrypt(ctx context.Context, b backend.Backend, op backend.Operation, ref string, ciphertext, label []byte) ([]byte, error) {
	dec, err := b.Decrypter(ctx, ref)
	if err != nil {
		return nil, keyError(ref, err)
	}
	opts := op.DecrypterOpts()
	if o, ok := opts.(*rsa.OAEPOptions); ok && len(label) > 0 {
		o.Label = label
	}
	return dec.Decrypt(rand.Reader, ciphertext, opts)
}
