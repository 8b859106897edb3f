package main

import (
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

func newDeleteCmd(c *cli) *cobra.Command {
	var ref string
	cmd := &cobra.Command{
		Use:     "delete --key K",
		Short:   "Destroy a key",
		Long:    "Destroy a key (both halves of a key pair). There is no undo.",
		Example: `  keyplane delete --key release`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return c.withBackend(ctx, func(b backend.Backend) error {
				k, err := lookupKey(ctx, b, ref)
				if err != nil {
					return err
				}
				if err := b.DeleteKey(ctx, ref); err != nil {
					return fmt.Errorf("deleting key %q: %w", k.Label, err)
				}
				_, err = fmt.Fprintf(c.stdout, "deleted %s key %q (id %s)\n", k.Algorithm, k.Label, k.IDHex())
				return err
			})
		},
	}
	addKeyFlag(cmd, &ref)
	return cmd
}
