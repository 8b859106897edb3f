package main

import (
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/keywrap"
	"github.com/spf13/cobra"
)

func newWrapCmd(c *cli) *cobra.Command {
	var ref, wrapping, mech, out string
	cmd := &cobra.Command{
		Use:   "wrap --key K --wrapping-key W [--mechanism M] --out FILE",
		Short: "Write a key out of a token, encrypted under a wrapping key",
		Long: `Encrypt a key inside the backend under a wrapping key it holds (C_WrapKey on
a PKCS#11 token) and write the result as a wrapped key file, for backup or to
move the key into another token with "keyplane unwrap".

Only a key made to leave is wrapped: on a PKCS#11 token CKA_EXTRACTABLE must
be true ("keyplane keygen --wrappable"), and a key with CKA_WRAP_WITH_TRUSTED
true (every --wrappable key) leaves only under a wrapping key with
CKA_TRUSTED true, which only the token's security officer can make ("keyplane
wrapping-key"). Other keys are refused, and the error names the attribute.

Mechanisms: aes-key-wrap-pad (RFC 5649, under an AES key; AES and private
keys: the default) and rsa-oaep-sha1 (under an RSA public key; AES keys
only).

The file (a "KEYPLANE WRAPPED KEY" PEM block with the key's label, ID,
algorithm and attributes, and its public key) holds no plaintext key; it is
written with mode 0600 all the same, and only whole (see --out and --force).`,
		Example: `  keyplane --backend "$TOKEN_A" wrap --key release --wrapping-key kek --out release.wrapped
  keyplane --backend "$TOKEN_B" unwrap --in release.wrapped --unwrapping-key kek`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := backend.ParseWrapMechanism(mech)
			if err != nil {
				return err
			}
			if out == "" {
				return fmt.Errorf("--out FILE is required: the wrapped key is written to a file")
			}
			ctx := cmd.Context()
			return c.withBackend(ctx, func(b backend.Backend) error {
				kw, ok := b.(backend.KeyWrapper)
				if !ok {
					return fmt.Errorf("%s does not wrap keys: %w", c.backendName(ctx, b), backend.ErrUnsupported)
				}
				w, err := kw.WrapKey(ctx, ref, wrapping, m)
				if err != nil {
					return keyError(ref, err)
				}
				data, err := backend.MarshalWrappedKeyPEM(w)
				if err != nil {
					return err
				}
				if err := c.writeOutput(out, data, permSecret); err != nil {
					return err
				}
				fmt.Fprintf(c.stderr, "wrapped %s key %q under %q with %s\n", w.Algorithm, w.Label, wrapping, w.Mechanism)
				return nil
			})
		},
	}
	addKeyFlag(cmd, &ref)
	cmd.Flags().StringVar(&wrapping, "wrapping-key", "", "the wrapping key `W` in the backend (required)")
	cmd.Flags().StringVar(&mech, "mechanism", string(backend.WrapAESKeyWrapPad), "wrap `mechanism`: aes-key-wrap-pad or rsa-oaep-sha1")
	c.addOutFlag(cmd, &out, "write the wrapped key to `FILE` (required)")
	cmd.MarkFlagRequired("wrapping-key")
	return cmd
}

func newUnwrapCmd(c *cli) *cobra.Command {
	var in, from, ref, unwrapping, label string
	cmd := &cobra.Command{
		Use:   "unwrap (--in FILE | --from URI --key K) --unwrapping-key U [--label L]",
		Short: "Put a wrapped key into a token, decrypted only inside it",
		Long: `Decrypt a wrapped key inside the backend with an unwrapping key it holds
(C_UnwrapKey on a PKCS#11 token) and store it there, with the label, ID and
attributes it had (--label gives it another label).

With --in FILE the wrapped key is a file "keyplane wrap" wrote. With --from
URI --key K the key comes from another backend that lets its keys out (the
software keystore): it is exported into memory, wrapped there to the public
key of the unwrapping key U (an RSA key pair whose private key may unwrap:
"keyplane wrapping-key transport"), and unwrapped inside the token; its
plaintext never reaches a file. The key stays in the source backend.`,
		Example: `  keyplane --backend "$TOKEN_B" unwrap --in release.wrapped --unwrapping-key kek
  keyplane --backend "$TOKEN" unwrap --from software:/home/me/keys --key legacy --unwrapping-key transport`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (in == "") == (from == "") {
				return fmt.Errorf("give the wrapped key with --in FILE, or its source with --from URI --key K (one of them)")
			}
			if from != "" && ref == "" {
				return fmt.Errorf("--from needs --key K: the key to take from %s", backend.Redact(from))
			}
			if in != "" && ref != "" {
				return fmt.Errorf("--key goes with --from; a wrapped key file names its key itself")
			}
			var w *backend.WrappedKey
			if in != "" {
				data, err := c.readInputMax(in, backend.MaxWrappedKeyPEM)
				if err != nil {
					return err
				}
				if w, err = backend.ParseWrappedKeyPEM(data); err != nil {
					return fmt.Errorf("%s: %w", inputName(in), err)
				}
			}
			ctx := cmd.Context()
			return c.withBackend(ctx, func(b backend.Backend) error {
				ku, ok := b.(backend.KeyUnwrapper)
				if !ok {
					return fmt.Errorf("%s does not unwrap keys: %w", c.backendName(ctx, b), backend.ErrUnsupported)
				}
				var k *backend.Key
				var err error
				if w != nil {
					k, err = ku.UnwrapKey(ctx, w, unwrapping, label)
				} else {
					k, err = c.unwrapFrom(cmd, from, ref, b, ku, unwrapping, label)
				}
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(c.stdout, "unwrapped %s key %q (id %s)\n", k.Algorithm, k.Label, k.IDHex())
				return err
			})
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "the wrapped key `FILE` (- for stdin)")
	cmd.Flags().StringVar(&from, "from", "", "take the key from the backend at `URI` (one that exports keys), wrapped in memory")
	cmd.Flags().StringVar(&ref, "key", "", "with --from: the key `K` in that backend")
	cmd.Flags().StringVar(&unwrapping, "unwrapping-key", "", "the unwrapping key `U` in the backend (required)")
	cmd.Flags().StringVar(&label, "label", "", "store the key under `L` (default: the label it had)")
	cmd.MarkFlagRequired("unwrapping-key")
	return cmd
}

// unwrapFrom moves key ref of the backend at from into b (keywrap.Import).
func (c *cli) unwrapFrom(cmd *cobra.Command, from, ref string, b backend.Backend, ku backend.KeyUnwrapper, unwrapping, label string) (*backend.Key, error) {
	ctx := cmd.Context()
	src, err := c.openURI(ctx, from)
	if err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	defer src.Close()
	exp, ok := src.(backend.Exporter)
	if !ok {
		return nil, fmt.Errorf("--from %s: its keys cannot leave it (no export): %w", backend.Redact(from), backend.ErrUnsupported)
	}
	k, err := keywrap.Import(ctx, exp, ref, struct {
		backend.KeyManager
		backend.KeyUnwrapper
	}{b, ku}, unwrapping, label)
	if err != nil {
		return nil, keyError(ref, err)
	}
	return k, nil
}
