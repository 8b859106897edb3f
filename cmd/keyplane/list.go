package main

import (
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

func newListCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the keys in the backend",
		Long:  "List the keys in the backend, sorted by label: label, ID (hex), algorithm, creation time, primary version\n(\"keyplane key info\" lists every version).",
		Example: `  keyplane list
  keyplane list --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return c.withBackend(ctx, func(b backend.Backend) error {
				keys, err := b.Keys(ctx)
				if err != nil {
					return fmt.Errorf("listing keys: %w", err)
				}
				if asJSON {
					out := make([]keyJSON, 0, len(keys))
					for _, k := range keys {
						out = append(out, toKeyJSON(k))
					}
					return writeJSON(c.stdout, out)
				}
				return writeKeyTable(c.stdout, keys)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the keys as a JSON array")
	return cmd
}
