package main

import (
	"bytes"
	"crypto"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/hpke"
	"github.com/keyplane/keyplane/pkcs8"
	"github.com/spf13/cobra"
)

// recipientKey is one --recipient file, read.
type recipientKey struct {
	path string
	alg  backend.Algorithm
	pub  crypto.PublicKey
}

// readRecipientFile reads a recipient's public key: one PEM "PUBLIC KEY"
// block (SubjectPublicKeyInfo, as "keyplane pubkey", "openssl pkey
// -pubout" and pyca's public_bytes(PEM, SubjectPublicKeyInfo) write it).
// DER, other PEM types and files over maxSmallFile are refused; the
// errors name the file and never quote its content.
func readRecipientFile(path string) (*recipientKey, error) {
	data, err := readFile("recipient", path)
	if err != nil {
		return nil, err
	}
	defer clear(data) // a private key given by mistake goes no further
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("--recipient %s: not PEM: want a \"PUBLIC KEY\" block (SubjectPublicKeyInfo, as keyplane pubkey writes it): %w", path, backend.ErrInvalidInput)
	}
	defer clear(block.Bytes)
	if block.Type != "PUBLIC KEY" {
		hint := ""
		if strings.Contains(block.Type, "PRIVATE KEY") {
			hint = "; a sender needs only the recipient's public key (keyplane pubkey, openssl pkey -pubout)"
		}
		return nil, fmt.Errorf("--recipient %s: a PEM %q block, want \"PUBLIC KEY\" (SubjectPublicKeyInfo)%s: %w", path, block.Type, hint, backend.ErrInvalidInput)
	}
	if bytes.Contains(rest, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("--recipient %s: more than one PEM block; give each public key in a file of its own: %w", path, backend.ErrInvalidInput)
	}
	pub, err := pkcs8.ParsePublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("--recipient %s: %w", path, err)
	}
	alg, err := backend.AlgorithmOf(pub)
	if err != nil {
		return nil, fmt.Errorf("--recipient %s: %w", path, err)
	}
	return &recipientKey{path: path, alg: alg, pub: pub}, nil
}

// recipientPublicKeys reads the --recipient files and returns their
// public keys in the suite's key order. Each SubjectPublicKeyInfo names
// its key type, so the files of a hybrid may come in either order; a
// file of a type the suite does not take, a missing half or a second key
// of one type is an error naming the file and both types.
func recipientPublicKeys(s hpke.Suite, paths []string) ([]crypto.PublicKey, error) {
	want := s.KeyAlgorithms()
	if len(paths) != len(want) {
		if len(want) == 2 {
			return nil, fmt.Errorf("%s is a hybrid: give two --recipient files, its %s and its %s public key (got %d)", s, want[0], want[1], len(paths))
		}
		return nil, fmt.Errorf("%s takes one --recipient file, a %s public key (got %d)", s, want[0], len(paths))
	}
	pubs := make([]crypto.PublicKey, len(want))
	for _, p := range paths {
		r, err := readRecipientFile(p)
		if err != nil {
			return nil, err
		}
		slot := -1
		for i, a := range want {
			if a == r.alg {
				slot = i
			}
		}
		switch {
		case slot < 0:
			return nil, fmt.Errorf("--recipient %s holds a public key of type %s, but %s takes %s: %w", r.path, r.alg, s, wantedKeys(want), backend.ErrInvalidInput)
		case pubs[slot] != nil:
			return nil, fmt.Errorf("--recipient %s holds a second public key of type %s, but %s takes %s: %w", r.path, r.alg, s, wantedKeys(want), backend.ErrInvalidInput)
		}
		pubs[slot] = r.pub
	}
	return pubs, nil
}

// wantedKeys says which keys a suite takes: "type x25519", or "one key
// of type x25519 and one of type ml-kem-768".
func wantedKeys(algs []backend.Algorithm) string {
	if len(algs) == 1 {
		return "type " + string(algs[0])
	}
	return fmt.Sprintf("one key of type %s and one of type %s", algs[0], algs[1])
}

// checkRecipientFlags refuses the flags that cannot go with --recipient,
// and --recipient where it does not apply.
func checkRecipientFlags(cmd *cobra.Command, f *cryptFlags) error {
	if f.envelope {
		return fmt.Errorf("--recipient does not apply to --envelope (an envelope is wrapped under a backend key: --key)")
	}
	if f.alg == "" {
		return errAlgRequired
	}
	if !isHPKE(f.alg) {
		return fmt.Errorf("--recipient applies to the hpke-* suites only, not %s (use --key)", f.alg)
	}
	for _, flag := range []string{"key", "kem-key", "version"} {
		if cmd.Flags().Changed(flag) {
			return fmt.Errorf("--recipient and --%s are mutually exclusive: --recipient seals to public-key files and opens no backend", flag)
		}
	}
	return nil
}

// hpkeEncryptToFiles seals the input to the public keys in the
// --recipient files, with no backend opened.
func (c *cli) hpkeEncryptToFiles(cmd *cobra.Command, f *cryptFlags, h *hpkeFlags) error {
	s, err := hpke.ParseSuite(f.alg)
	if err != nil {
		return err
	}
	for _, flag := range []string{"label", "aad"} {
		if cmd.Flags().Changed(flag) {
			return fmt.Errorf("--%s does not apply to %s", flag, f.alg)
		}
	}
	pubs, err := recipientPublicKeys(s, h.recipients)
	if err != nil {
		return err
	}
	return c.hpkeSeal(s, pubs, h.info, f, h.recipients)
}
