package main

import (
	"crypto"
	"encoding/hex"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

// contextFlags are sign's and verify's --context and --context-hex: the
// context string of an ML-DSA signature (FIPS 204, section 5.2).
type contextFlags struct {
	text, hex string
	value     string // the context, once parse has run
	set       bool   // whether either flag was given
	flag      string // which one
}

func (c *contextFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.text, "context", "", "ML-DSA context string, as `text` (at most 255 bytes; ml-dsa only; signer and verifier must use the same)")
	cmd.Flags().StringVar(&c.hex, "context-hex", "", "ML-DSA context string, as `HEX` bytes (instead of --context)")
	cmd.MarkFlagsMutuallyExclusive("context", "context-hex")
}

// parse reads the flags and refuses a context longer than FIPS 204
// allows, before any backend is opened.
func (c *contextFlags) parse(cmd *cobra.Command) error {
	switch {
	case cmd.Flags().Changed("context-hex"):
		b, err := hex.DecodeString(c.hex)
		if err != nil {
			return fmt.Errorf("--context-hex is not hexadecimal: %v: %w", err, backend.ErrInvalidInput)
		}
		c.value, c.set, c.flag = string(b), true, "context-hex"
	case cmd.Flags().Changed("context"):
		c.value, c.set, c.flag = c.text, true, "context"
	default:
		return nil
	}
	if len(c.value) > backend.MaxMLDSAContext {
		return fmt.Errorf("ML-DSA context string of %d bytes is too long: FIPS 204 allows at most %d: %w", len(c.value), backend.MaxMLDSAContext, backend.ErrInvalidInput)
	}
	return nil
}

// check refuses a context for a key that is not ML-DSA: only ML-DSA
// signatures have one.
func (c *contextFlags) check(k *backend.Key) error {
	if c.set && k.Algorithm.Family() != backend.FamilyMLDSA {
		return fmt.Errorf("--%s applies to ML-DSA keys only (--alg ml-dsa); key %q is %s, whose signatures have no context string: %w", c.flag, k.Label, k.Algorithm, backend.ErrInvalidInput)
	}
	return nil
}

// signerOpts returns op's signer options, with the context for ML-DSA.
func (c *contextFlags) signerOpts(op backend.Operation) crypto.SignerOpts {
	if c.set && op == backend.PureMLDSA {
		return &backend.MLDSAOptions{Context: c.value}
	}
	return op.SignerOpts()
}
