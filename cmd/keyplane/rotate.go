package main

import (
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

func newRotateCmd(c *cli) *cobra.Command {
	var ref string
	var minVersion int
	cmd := &cobra.Command{
		Use:   "rotate --key K [--min-version N]",
		Short: "Make a new primary version of a key, or retire old versions",
		Long: `Make a new version of a key, with fresh key material of the same type,
and make it the primary version: from now on the key's label signs,
decrypts and encrypts with it. Older versions keep verifying and, through
"--version N" (or their own reference, shown by "keyplane key info"),
decrypting what was made with them.

With --min-version N, make no new version: retire the versions below N
instead. A retired version still verifies signatures, but no longer signs
or decrypts ("key version retired"). N may not exceed the primary version.

Delete one old version with "keyplane delete --key K --version N".`,
		Example: `  keyplane rotate --key release
  keyplane key info --key release
  keyplane rotate --key release --min-version 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("min-version") && minVersion < 1 {
				return fmt.Errorf("--min-version %d: versions start at 1: %w", minVersion, backend.ErrInvalidInput)
			}
			ctx := cmd.Context()
			return c.withKey(ctx, ref, func(b backend.Backend, k *backend.Key) error {
				kv, err := keyVersionsOf(b)
				if err != nil {
					return err
				}
				if cmd.Flags().Changed("min-version") {
					if err := kv.SetMinVersion(ctx, ref, minVersion); err != nil {
						return keyError(ref, err)
					}
					_, err = fmt.Fprintf(c.stdout, "key %q: versions below %d retired\n", k.Label, minVersion)
					return err
				}
				nk, err := kv.Rotate(ctx, ref)
				if err != nil {
					return keyError(ref, err)
				}
				_, err = fmt.Fprintf(c.stdout, "rotated %s key %q: version %d is primary (id %s)\n", nk.Algorithm, nk.Label, nk.Version, nk.IDHex())
				return err
			})
		},
	}
	addKeyFlag(cmd, &ref)
	cmd.Flags().IntVar(&minVersion, "min-version", 0, "make no new version; retire the versions below `N` instead")
	return cmd
}
