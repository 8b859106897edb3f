package main

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

// maxDays bounds --days (about 100 years).
const maxDays = 36600

func newSelfsignCmd(c *cli) *cobra.Command {
	var f x509Flags
	var days int
	var isCA, store bool
	cmd := &cobra.Command{
		Use:   "selfsign --key K --subject DN --days N [--dns NAME]... [--store] [--out FILE]",
		Short: "Make a self-signed X.509 certificate",
		Long: `Make a self-signed X.509 certificate for the key, in PEM.

The certificate is valid from now (less five minutes, for clocks that run
behind) for --days days, with a random 128-bit serial number. It is an
end-entity certificate (digital signature; key encipherment too for RSA)
unless --ca makes it a CA (certificate and CRL signing).

--store keeps the certificate with the key (as "keyplane cert import"
would, replacing what was stored), and then writes it only where --out
says.

Signature algorithms and --subject are as for "keyplane csr".`,
		Example: `  keyplane selfsign --key web --subject "CN=localhost" --dns localhost --ip 127.0.0.1 --days 30 --out web.crt
  openssl x509 -in web.crt -noout -text
  keyplane selfsign --key web --subject "CN=localhost" --dns localhost --days 30 --store`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if days < 1 || days > maxDays {
				return fmt.Errorf("--days %d: want 1 to %d", days, maxDays)
			}
			ctx := cmd.Context()
			return c.withBackend(ctx, func(b backend.Backend) error {
				r, err := f.prepare(ctx, b)
				if err != nil {
					return err
				}
				serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
				if err != nil {
					return fmt.Errorf("making a serial number: %w", err)
				}
				notBefore := time.Now().Add(-5 * time.Minute).UTC().Truncate(time.Second)
				tmpl := &x509.Certificate{
					SerialNumber:          serial.Add(serial, big.NewInt(1)), // positive, never zero
					Subject:               r.subject,
					NotBefore:             notBefore,
					NotAfter:              notBefore.Add(time.Duration(days) * 24 * time.Hour),
					DNSNames:              r.dns,
					IPAddresses:           r.ips,
					EmailAddresses:        r.emails,
					SignatureAlgorithm:    r.sigAlg,
					BasicConstraintsValid: true,
					IsCA:                  isCA,
					KeyUsage:              x509.KeyUsageDigitalSignature,
				}
				if isCA {
					tmpl.KeyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
				} else if r.key.Algorithm.Family() == backend.FamilyRSA {
					tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
				}
				der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, r.key.Public, r.signer)
				if err != nil {
					return fmt.Errorf("making the certificate with key %q: %w", r.key.Label, err)
				}
				if store {
					if err := storeSelfSigned(ctx, c, b, f.ref, der); err != nil {
						return err
					}
					if f.out == "" {
						return nil
					}
				}
				return c.writeOutput(f.out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), permPublic)
			})
		},
	}
	f.add(c, cmd)
	cmd.Flags().IntVar(&days, "days", 0, "validity in `days` (required)")
	cmd.Flags().BoolVar(&isCA, "ca", false, "make a CA certificate")
	cmd.Flags().BoolVar(&store, "store", false, "store the certificate with the key (see keyplane cert); write it out only with --out")
	cmd.MarkFlagRequired("days")
	return cmd
}

// storeSelfSigned stores a self-signed certificate with the key it is for.
func storeSelfSigned(ctx context.Context, c *cli, b backend.Backend, ref string, der []byte) error {
	cs, err := c.certStore(ctx, b)
	if err != nil {
		return fmt.Errorf("--store: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("reading back the certificate: %w", err)
	}
	if err := cs.StoreCertificates(ctx, ref, []*x509.Certificate{cert}); err != nil {
		return keyError(ref, err)
	}
	return nil
}
