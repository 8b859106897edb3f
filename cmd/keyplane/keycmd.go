package main

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

func newKeyCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Describe a key",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newKeyInfoCmd(c))
	return cmd
}

// keyInfoJSON is how "key info --json" shows a key: the primary version,
// and every version.
type keyInfoJSON struct {
	keyJSON
	Versions []keyJSON `json:"versions"`
}

func newKeyInfoCmd(c *cli) *cobra.Command {
	var ref string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info --key K [--json]",
		Short: "Show a key and its versions",
		Long: `Show a key: label, ID, algorithm, creation time, primary version, and
each of its versions with the reference that names it (use it as --key,
or give --version N to sign, decrypt, encrypt and pubkey). A key of a
backend without versions is version 1.`,
		Example: `  keyplane key info --key release
  keyplane key info --key release --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return c.withKey(ctx, ref, func(b backend.Backend, k *backend.Key) error {
				versions := []*backend.Key{k}
				if kv, err := keyVersionsOf(b); err == nil {
					vs, err := kv.Versions(ctx, ref)
					switch {
					case err == nil:
						versions = vs
					case !errors.Is(err, backend.ErrUnsupported):
						return keyError(ref, err)
					}
				}
				if asJSON {
					out := keyInfoJSON{keyJSON: toKeyJSON(k), Versions: make([]keyJSON, 0, len(versions))}
					for _, v := range versions {
						out.Versions = append(out.Versions, toKeyJSON(v))
					}
					return writeJSON(c.stdout, out)
				}
				return writeKeyInfo(c.stdout, k, versions)
			})
		},
	}
	addKeyFlag(cmd, &ref)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the key as a JSON object")
	return cmd
}

func writeKeyInfo(w io.Writer, k *backend.Key, versions []*backend.Key) error {
	fmt.Fprintf(w, "label:     %s\n", k.Label)
	fmt.Fprintf(w, "id:        %s\n", k.IDHex())
	fmt.Fprintf(w, "algorithm: %s\n", k.Algorithm)
	fmt.Fprintf(w, "created:   %s\n", created(k))
	fmt.Fprintf(w, "primary:   version %d\n", max(k.Version, 1))
	fmt.Fprintln(w, "versions:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  VERSION\tID\tCREATED\tREFERENCE")
	for _, v := range versions {
		ref := v.URI
		if ref == "" {
			ref = "id:" + v.IDHex()
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", max(v.Version, 1), v.IDHex(), created(v), backend.Redact(ref))
	}
	return tw.Flush()
}
