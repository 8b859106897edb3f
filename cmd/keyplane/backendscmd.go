package main

import (
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

func newBackendsCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "backends",
		Short: "List the backend URI schemes this binary knows",
		Long: `List the URI schemes of the backends linked into this binary, one per line.
A scheme ending in "+" wraps another backend ("plugin+pkcs11:...").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, s := range backend.Schemes() {
				if _, err := fmt.Fprintln(c.stdout, s); err != nil {
					return err
				}
			}
			return nil
		},
	}
}
