package main

import (
	"fmt"
	"io"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/envelope"
	"github.com/spf13/cobra"
)

func newRewrapCmd(c *cli) *cobra.Command {
	var in, out string
	cmd := &cobra.Command{
		Use:   "rewrap --in FILE [--out FILE]",
		Short: "Re-wrap an envelope's data key under its key's current version",
		Long: `Re-wrap the data key of a keyplane envelope (from "encrypt --envelope")
under the current primary version of the key its header names, after a
"keyplane rotate". The body is copied byte for byte, neither decrypted nor
re-encrypted: a rewrap costs a few backend calls and one pass over the file.

--out may name the --in file itself (with --force): the new file replaces
it only once it is complete.`,
		Example: `  keyplane rewrap --in big.tar.kp --out big.tar.kp --force
  keyplane rewrap --in old.kp > new.kp`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := c.openInput(in)
			if err != nil {
				return err
			}
			defer r.Close()
			src := newProgressReader(r, in, c.stderr, "rewrapping")
			ctx := cmd.Context()
			return c.withBackend(ctx, func(b backend.Backend) error {
				return c.writeOutputFrom(out, permPublic, func(w io.Writer) error {
					old, updated, err := envelope.Rewrap(ctx, b, w, readerOnly{src})
					if err != nil {
						return &fillError{fmt.Errorf("rewrapping the envelope: %w", err)}
					}
					fmt.Fprintf(c.stderr, "keyplane: rewrapped: key %q version %d -> version %d\n", old.KeyRef, old.KeyVersion, updated.KeyVersion)
					return nil
				})
			})
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "the envelope `FILE` (default: stdin)")
	c.addOutFlag(cmd, &out, "write the rewrapped envelope to `FILE` (default: stdout)")
	return cmd
}
