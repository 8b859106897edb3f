package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/conformance"
	"github.com/spf13/cobra"
)

func newConformanceCmd(c *cli) *cobra.Command {
	var asJSON, short bool
	var types []string
	var concurrency int
	var trusted, unwrapping string
	cmd := &cobra.Command{
		Use:   "conformance",
		Short: "Run the conformance suite against the backend",
		Long: `Run keyplane's conformance suite against the selected backend and print
what the backend reports it can do and the result of every check (a table, or
JSON with --json). Progress goes to stderr while it runs.

The suite works on its own keys, labelled "conformance-<random>-...", and
deletes them afterwards; it never touches other keys. A persistent backend
(a keystore directory, a token) is also closed and reopened to check that
its keys survive.

The wrap round trips need a wrapping key the backend trusts, which only a
PKCS#11 token's security officer can make: make one first ("wrapping-key
create --label kek --so-pin-file FILE --unwrap-in <the same token>
--unwrap-label kek-unwrap") and name it with --trusted-wrapping-key kek
--unwrapping-key kek-unwrap; without, those checks are skipped.

Exit status: 0 when every check passed or was skipped, 1 when a check failed,
2 when the suite could not run.`,
		Example: `  keyplane conformance --backend software:memory --short
  keyplane conformance --backend "pkcs11:token=test?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:pin.txt" --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg := conformance.Config{Progress: c.stderr, Short: short, Concurrency: concurrency,
				TrustedWrappingKey: trusted, UnwrappingKey: unwrapping}
			if unwrapping != "" && trusted == "" {
				return fmt.Errorf("--unwrapping-key needs --trusted-wrapping-key: %w", backend.ErrInvalidInput)
			}
			for _, t := range types {
				alg, err := backend.ParseAlgorithm(strings.TrimSpace(t))
				if err != nil {
					return err
				}
				cfg.Algorithms = append(cfg.Algorithms, alg)
			}
			// Ask the backend once whether its keys persist, to check
			// that they survive a reopen.
			if err := c.withBackend(ctx, func(b backend.Backend) error {
				caps, err := b.Capabilities(ctx)
				if err != nil {
					return fmt.Errorf("reading the backend's capabilities: %w", err)
				}
				cfg.Reopen = caps.Persistent
				return nil
			}); err != nil {
				return err
			}
			rep, err := conformance.Check(ctx, func(ctx context.Context) (backend.Backend, error) { return c.open(ctx) }, cfg)
			if err != nil {
				return err
			}
			if asJSON {
				err = writeJSON(c.stdout, rep)
			} else {
				err = rep.WriteTable(c.stdout)
			}
			if err != nil {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if rep.Failed() {
				_, fail, _ := rep.Counts()
				return failed(fmt.Errorf("%d conformance check(s) failed", fail))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().BoolVar(&short, "short", false, "skip the slowest checks (rsa-4096 key generation), smaller concurrent checks")
	cmd.Flags().StringSliceVar(&types, "types", nil, "only these key `types` (comma-separated; default: every type the backend reports)")
	cmd.Flags().IntVar(&concurrency, "concurrency", 0, "goroutines in the concurrent checks (default 8)")
	cmd.Flags().StringVar(&trusted, "trusted-wrapping-key", "", "a trusted wrapping `key` of the backend, for the wrap round trips (made by \"wrapping-key create\")")
	cmd.Flags().StringVar(&unwrapping, "unwrapping-key", "", "the `key` that unwraps what --trusted-wrapping-key wraps, in the same backend (default: that key)")
	return cmd
}
