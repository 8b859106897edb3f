package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

func newDecryptCmd(c *cli) *cobra.Command {
	var f cryptFlags
	var hf hpkeFlags
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "decrypt [--key K] [--alg A] [--in FILE] [--out FILE]",
		Short: "Decrypt a file",
		Long: `Decrypt a file (stdin without --in) with a key held by the backend,
writing the plaintext (to stdout without --out; a file is created 0600).

Every kind of failure (wrong key, tampered data, bad padding, expired token)
gives the same "decryption failed" error, on purpose: the message must not
help an attacker.

A keyplane envelope (from "encrypt --envelope") is recognized by its first
bytes: it needs neither --alg nor --key (its header names the key and the
version); with --key, the envelope must be under that key. It is decrypted
as a stream, in constant memory; a file written with --out appears only
once the whole envelope has been authenticated (on stdout, a failure can
come after some plaintext). Everything else needs --key and --alg.

` + cryptAlgorithmsHelp,
		Example: `  keyplane decrypt --key backup --alg rsa-oaep-sha256 --in data-key.enc --out data-key.bin
  keyplane decrypt --key db --alg aes-256-gcm --aad "row 42" --in row.enc
  keyplane decrypt --key tokens --alg fernet --ttl 1h --in token.txt
  keyplane decrypt --in big.tar.kp --out big.tar`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.alg == "" {
				return c.decryptDetected(cmd, &f)
			}
			if f.ref == "" {
				return errKeyRequired
			}
			if isHPKE(f.alg) {
				return c.hpkeDecrypt(cmd, &f, &hf)
			}
			op, err := f.operation(cmd, &hf)
			if err != nil {
				return err
			}
			if ttl < 0 {
				return fmt.Errorf("--ttl %v is negative", ttl)
			}
			ctx := cmd.Context()
			return c.withBackend(ctx, func(b backend.Backend) error {
				k, ciphertext, err := f.keyAndInput(ctx, c, b, op)
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
	delete(cmd.Flags().Lookup("key").Annotations, cobra.BashCompOneRequiredFlag) // not for envelopes
	hf.add(cmd)
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

// errKeyRequired is cobra's message for a missing required flag: --key
// is required unless the input is an envelope.
var errKeyRequired = errors.New(`required flag(s) "key" not set`)

// decryptDetected decrypts an input given without --alg: an envelope, or
// else the error that --alg is missing.
func (c *cli) decryptDetected(cmd *cobra.Command, f *cryptFlags) error {
	for _, flag := range []string{"label", "aad", "ttl", "version"} {
		if cmd.Flags().Changed(flag) {
			return fmt.Errorf("--%s needs --alg (and does not apply to envelopes)", flag)
		}
	}
	br, closer, isEnvelope, err := c.envelopeInput(f.in)
	if err != nil {
		return err
	}
	defer closer.Close()
	if !isEnvelope {
		return fmt.Errorf("%w (the input is not a keyplane envelope)", errAlgRequired)
	}
	ctx := cmd.Context()
	return c.withBackend(ctx, func(b backend.Backend) error {
		return c.decryptEnvelope(ctx, b, f.ref, br, f.out)
	})
}
