package main

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

func newCSRCmd(c *cli) *cobra.Command {
	var f x509Flags
	cmd := &cobra.Command{
		Use:   "csr --key K --subject DN [--dns NAME]... [--out FILE]",
		Short: "Make a certificate signing request (PKCS#10)",
		Long: `Make a certificate signing request signed by the key, in PEM.

RSA keys sign with SHA-256 and PKCS#1 v1.5 (RSA-PSS with --pss), EC keys with
the hash that matches the curve (SHA-256 for P-256, SHA-384 for P-384,
SHA-512 for P-521), Ed25519 keys with pure Ed25519.

--subject takes comma-separated NAME=value pairs (` + subjectAttributes + `);
write a comma inside a value as "\,".`,
		Example: `  keyplane csr --key web --subject "CN=www.example.com,O=Example\, Inc.,C=US" --dns www.example.com --dns example.com --out web.csr
  openssl req -in web.csr -verify -noout -text`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return c.withBackend(ctx, func(b backend.Backend) error {
				r, err := f.prepare(ctx, b)
				if err != nil {
					return err
				}
				tmpl := &x509.CertificateRequest{
					Subject:            r.subject,
					DNSNames:           r.dns,
					IPAddresses:        r.ips,
					EmailAddresses:     r.emails,
					SignatureAlgorithm: r.sigAlg,
				}
				der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, r.signer)
				if err != nil {
					return fmt.Errorf("making the CSR with key %q: %w", r.key.Label, err)
				}
				return c.writeOutput(f.out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), permPublic)
			})
		},
	}
	f.add(c, cmd)
	return cmd
}
