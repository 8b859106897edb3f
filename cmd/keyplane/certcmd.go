package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

func newCertCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Store, list, export and delete the certificates kept with a key",
		Long: `Keep a key's X.509 certificate chain with the key: in a software keystore, a
PEM file next to the key; in a PKCS#11 token, CKO_CERTIFICATE objects with
the key's CKA_ID (which pkcs11-tool, OpenSC and p11-kit read, and whose
objects keyplane reads in turn).

A key has one chain: its own certificate first, then each issuer in turn
(a root may end it or be left out). import replaces what was stored;
deleting the key deletes its certificates too.`,
		Example: `  keyplane csr --key web --subject CN=www.example.com --dns www.example.com --out web.csr
  # ... the CA signs web.csr and returns fullchain.pem ...
  keyplane cert import --key web --in fullchain.pem
  keyplane cert list --key web
  keyplane cert export --key web --out web-chain.pem`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newCertImportCmd(c), newCertListCmd(c), newCertExportCmd(c), newCertDeleteCmd(c))
	return cmd
}

// certStore returns the backend's CertificateStore, or an error saying it
// has none.
func (c *cli) certStore(ctx context.Context, b backend.Backend) (backend.CertificateStore, error) {
	cs, ok := b.(backend.CertificateStore)
	if !ok {
		return nil, fmt.Errorf("the %s backend does not store certificates with keys: %w", c.backendName(ctx, b), backend.ErrUnsupported)
	}
	return cs, nil
}

// maxCertFile bounds a certificate chain file.
const maxCertFile = 1 << 20

// parseChainPEM reads the CERTIFICATE blocks of a PEM file and orders them
// for the key: its own certificate first, then each issuer. A block of
// another type (a private key pasted into the file) or a certificate that
// is not in the key's chain is refused, never dropped in silence.
func parseChainPEM(name string, data []byte, pub any) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%s: a PEM block of type %q; only CERTIFICATE blocks are imported (refused, nothing stored): %w", name, b.Type, backend.ErrInvalidInput)
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %v: %w", name, len(certs)+1, err, backend.ErrInvalidInput)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no PEM CERTIFICATE block: %w", name, backend.ErrInvalidInput)
	}
	chain := backend.OrderCertificateChain(pub, certs)
	if chain == nil {
		return nil, fmt.Errorf("%s: none of its %d certificates is for this key (no public key matches): %w", name, len(certs), backend.ErrInvalidInput)
	}
	for _, cert := range certs {
		if !inCerts(chain, cert) {
			return nil, fmt.Errorf("%s: certificate %q (issuer %q) is not in the key's chain (it is neither the key's certificate nor an issuer of it): %w",
				name, cert.Subject, cert.Issuer, backend.ErrInvalidInput)
		}
	}
	return chain, nil
}

func inCerts(list []*x509.Certificate, c *x509.Certificate) bool {
	for _, o := range list {
		if o.Equal(c) {
			return true
		}
	}
	return false
}

func newCertImportCmd(c *cli) *cobra.Command {
	var ref, in string
	cmd := &cobra.Command{
		Use:   "import --key K [--in FILE]",
		Short: "Store a PEM certificate chain with a key",
		Long: `Store the PEM certificates of FILE (stdin without --in) with the key,
replacing the certificates stored with it before.

The file holds the key's certificate and, optionally, its issuers, in any
order (a CA's fullchain.pem, or a certificate and a separate chain file
concatenated): import puts the key's certificate first and each issuer
after the certificate it issued. A file with another PEM block (a private
key), a certificate for another key, or one outside the chain is refused
and nothing is stored.`,
		Example: `  keyplane cert import --key web --in fullchain.pem
  cat web.crt intermediate.crt | keyplane cert import --key web`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			data, err := c.readInputMax(in, maxCertFile)
			if err != nil {
				return err
			}
			defer clear(data) // a key pasted into the file by mistake
			return c.withCertStore(ctx, func(b backend.Backend, cs backend.CertificateStore) error {
				k, err := lookupKey(ctx, b, ref)
				if err != nil {
					return err
				}
				if k.Public == nil {
					return fmt.Errorf("key %q is a %s secret key: certificates are for key pairs: %w", k.Label, k.Algorithm, backend.ErrUnsupported)
				}
				chain, err := parseChainPEM(inputName(in), data, k.Public)
				if err != nil {
					return err
				}
				if err := cs.StoreCertificates(ctx, ref, chain); err != nil {
					return keyError(ref, err)
				}
				fmt.Fprintf(c.stderr, "stored %d certificate(s) with key %q\n", len(chain), k.Label)
				return nil
			})
		},
	}
	addKeyFlag(cmd, &ref)
	cmd.Flags().StringVar(&in, "in", "", "read the PEM chain from `FILE` (default: stdin)")
	return cmd
}

func newCertListCmd(c *cli) *cobra.Command {
	var ref string
	cmd := &cobra.Command{
		Use:   "list --key K",
		Short: "List the certificates stored with a key",
		Long: `List the certificates stored with the key, the key's own first: for each,
its place in the chain, subject, issuer, expiry (UTC) and serial number.
A key without certificates lists nothing and says so on stderr.`,
		Example: `  keyplane cert list --key web`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withChain(cmd.Context(), ref, func(_ backend.CertificateStore, chain []*x509.Certificate) error {
				if len(chain) == 0 {
					fmt.Fprintf(c.stderr, "no certificates stored with key %q\n", backend.Redact(ref))
					return nil
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "#\tROLE\tSUBJECT\tISSUER\tNOT AFTER\tSERIAL")
				now := time.Now()
				for i, cert := range chain {
					role := "leaf"
					if i > 0 {
						role = "issuer"
					}
					expiry := cert.NotAfter.UTC().Format(time.RFC3339)
					if now.After(cert.NotAfter) {
						expiry += " (expired)"
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%x\n", i+1, role, cert.Subject, cert.Issuer, expiry, cert.SerialNumber)
				}
				return tw.Flush()
			})
		},
	}
	addKeyFlag(cmd, &ref)
	return cmd
}

// withCertStore runs f on the backend and its CertificateStore (an error
// when the backend stores no certificates).
func (c *cli) withCertStore(ctx context.Context, f func(backend.Backend, backend.CertificateStore) error) error {
	return c.withBackend(ctx, func(b backend.Backend) error {
		cs, err := c.certStore(ctx, b)
		if err != nil {
			return err
		}
		return f(b, cs)
	})
}

// withChain runs f with the chain stored with the key ref names (empty
// when none is), for cert list, export and delete.
func (c *cli) withChain(ctx context.Context, ref string, f func(backend.CertificateStore, []*x509.Certificate) error) error {
	return c.withCertStore(ctx, func(_ backend.Backend, cs backend.CertificateStore) error {
		if ref == "" {
			return fmt.Errorf("--key is empty: %w", backend.ErrInvalidInput)
		}
		chain, err := cs.Certificates(ctx, ref)
		if err != nil {
			return keyError(ref, err)
		}
		return f(cs, chain)
	})
}

func newCertExportCmd(c *cli) *cobra.Command {
	var ref, out string
	var leafOnly bool
	cmd := &cobra.Command{
		Use:   "export --key K [--leaf] [--out FILE]",
		Short: "Write the certificates stored with a key as PEM",
		Long: `Write the chain stored with the key as PEM CERTIFICATE blocks, the key's
own certificate first (what a TLS server sends, and what nginx's
ssl_certificate and Go's tls.LoadX509KeyPair expect); --leaf writes the
key's certificate alone. A key without certificates is an error.`,
		Example: `  keyplane cert export --key web --out web-chain.pem
  keyplane cert export --key web --leaf | openssl x509 -noout -subject -enddate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withChain(cmd.Context(), ref, func(_ backend.CertificateStore, chain []*x509.Certificate) error {
				if len(chain) == 0 {
					return fmt.Errorf("no certificates stored with key %q (keyplane cert import --key ...): %w", backend.Redact(ref), backend.ErrNotFound)
				}
				if leafOnly {
					chain = chain[:1]
				}
				var data []byte
				for _, cert := range chain {
					data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})...)
				}
				return c.writeOutput(out, data, permPublic)
			})
		},
	}
	addKeyFlag(cmd, &ref)
	cmd.Flags().BoolVar(&leafOnly, "leaf", false, "write only the key's own certificate")
	c.addOutFlag(cmd, &out, "write the PEM to `FILE` (default: stdout)")
	return cmd
}

func newCertDeleteCmd(c *cli) *cobra.Command {
	var ref string
	cmd := &cobra.Command{
		Use:   "delete --key K",
		Short: "Delete the certificates stored with a key (the key stays)",
		Long: `Delete every certificate stored with the key; the key itself stays. On a
PKCS#11 token this destroys every X.509 certificate object with the key's
CKA_ID, whichever tool wrote it.`,
		Example: `  keyplane cert delete --key web`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return c.withChain(ctx, ref, func(cs backend.CertificateStore, chain []*x509.Certificate) error {
				if err := cs.DeleteCertificates(ctx, ref); err != nil {
					return keyError(ref, err)
				}
				fmt.Fprintf(c.stderr, "deleted %d certificate(s) of key %q\n", len(chain), backend.Redact(ref))
				return nil
			})
		},
	}
	addKeyFlag(cmd, &ref)
	return cmd
}
