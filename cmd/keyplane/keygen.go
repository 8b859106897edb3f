package main

import (
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

func newKeygenCmd(c *cli) *cobra.Command {
	var label, typ string
	var asJSON, wrappable bool
	cmd := &cobra.Command{
		Use:   "keygen --label L --type T [--wrappable]",
		Short: "Generate a key inside the backend",
		Long: `Generate a key inside the backend and print its label, ID and algorithm.

Key types: ` + joinAlgorithms(backend.AllAlgorithms()) + `.
Not every backend makes every type: "keyplane conformance" lists what one does.

--wrappable makes a key that may leave a PKCS#11 token, but only wrapped under
a wrapping key the token's security officer marked trusted (CKA_EXTRACTABLE
and CKA_WRAP_WITH_TRUSTED true; see "keyplane wrap"). Without it a token key
never leaves its token.`,
		Example: `  keyplane keygen --label release --type ec-p256
  keyplane --backend software:memory keygen --label k --type rsa-3072 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			alg, err := backend.ParseAlgorithm(typ)
			if err != nil {
				return err
			}
			if err := backend.ValidateLabel(label); err != nil {
				return err
			}
			ctx := cmd.Context()
			return c.withBackend(ctx, func(b backend.Backend) error {
				k, err := b.GenerateKey(ctx, backend.KeySpec{Label: label, Algorithm: alg, Wrappable: wrappable})
				if err != nil {
					return fmt.Errorf("generating %s key %q: %w", alg, label, err)
				}
				if asJSON {
					return writeJSON(c.stdout, toKeyJSON(k))
				}
				_, err = fmt.Fprintf(c.stdout, "generated %s key %q (id %s)\n", k.Algorithm, k.Label, k.IDHex())
				return err
			})
		},
	}
	cmd.Flags().StringVar(&label, "label", "", "`label` of the new key (required)")
	cmd.Flags().StringVar(&typ, "type", "", "key `type`: "+joinAlgorithms(backend.AllAlgorithms())+" (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the key as JSON")
	cmd.Flags().BoolVar(&wrappable, "wrappable", false, "make a key that may leave the token wrapped under a trusted key (PKCS#11)")
	cmd.MarkFlagRequired("label")
	cmd.MarkFlagRequired("type")
	return cmd
}

func joinAlgorithms[T ~string](names []T) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += string(n)
	}
	return s
}
