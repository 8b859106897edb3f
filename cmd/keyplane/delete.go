package main

import (
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

func newDeleteCmd(c *cli) *cobra.Command {
	var ref string
	var version int
	cmd := &cobra.Command{
		Use:   "delete --key K [--version N]",
		Short: "Destroy a key, or one version of it",
		Long: `Destroy a key (both halves of a key pair, every version). There is no
undo. With --version N, destroy only that version; the primary version
cannot be deleted this way.`,
		Example: `  keyplane delete --key release
  keyplane delete --key release --version 1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return c.withKey(ctx, ref, func(b backend.Backend, k *backend.Key) error {
				if cmd.Flags().Changed("version") {
					kv, err := keyVersionsOf(b)
					if err != nil {
						return err
					}
					if err := kv.DeleteVersion(ctx, ref, version); err != nil {
						return keyError(ref, err)
					}
					_, err = fmt.Fprintf(c.stdout, "deleted version %d of %s key %q\n", version, k.Algorithm, k.Label)
					return err
				}
				if err := b.DeleteKey(ctx, ref); err != nil {
					return fmt.Errorf("deleting key %q: %w", k.Label, err)
				}
				_, err := fmt.Fprintf(c.stdout, "deleted %s key %q (id %s)\n", k.Algorithm, k.Label, k.IDHex())
				return err
			})
		},
	}
	addKeyFlag(cmd, &ref)
	cmd.Flags().IntVar(&version, "version", 0, "destroy only version `N` of the key")
	return cmd
}
