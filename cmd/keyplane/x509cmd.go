package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"

	"github.com/keyplane/keyplane/backend"
	"github.com/spf13/cobra"
)

// x509Flags are the flags csr and selfsign share.
type x509Flags struct {
	ref, subject, out string
	dns, ips, emails  []string
	pss               bool
}

func (f *x509Flags) add(c *cli, cmd *cobra.Command) {
	addKeyFlag(cmd, &f.ref)
	cmd.Flags().StringVar(&f.subject, "subject", "", "distinguished `name`, e.g. \"CN=example.com,O=Example\\, Inc.,C=US\" (required; attributes: "+subjectAttributes+")")
	cmd.Flags().StringArrayVar(&f.dns, "dns", nil, "DNS `name` for the subject alternative names (repeatable)")
	cmd.Flags().StringArrayVar(&f.ips, "ip", nil, "IP `address` for the subject alternative names (repeatable)")
	cmd.Flags().StringArrayVar(&f.emails, "email", nil, "e-mail `address` for the subject alternative names (repeatable)")
	cmd.Flags().BoolVar(&f.pss, "pss", false, "RSA keys: sign with RSA-PSS (SHA-256) instead of PKCS#1 v1.5")
	c.addOutFlag(cmd, &f.out, "write the PEM to `FILE` (default: stdout)")
	cmd.MarkFlagRequired("subject")
}

// x509Request is what csr and selfsign need from the flags and the backend.
type x509Request struct {
	key     *backend.Key
	signer  crypto.Signer
	subject pkix.Name
	sigAlg  x509.SignatureAlgorithm
	dns     []string
	ips     []net.IP
	emails  []string
}

// prepare parses the flags and finds the key's crypto.Signer.
func (f *x509Flags) prepare(ctx context.Context, b backend.Backend) (*x509Request, error) {
	r := &x509Request{dns: f.dns, emails: f.emails}
	var err error
	if r.subject, err = parseSubject(f.subject); err != nil {
		return nil, err
	}
	for _, s := range f.ips {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, fmt.Errorf("--ip %q is not an IP address", s)
		}
		r.ips = append(r.ips, ip)
	}
	if r.key, err = lookupKey(ctx, b, f.ref); err != nil {
		return nil, err
	}
	if !r.key.Algorithm.Asymmetric() {
		return nil, fmt.Errorf("key %q is a secret %s key; certificates need an asymmetric key: %w", r.key.Label, r.key.Algorithm, backend.ErrUnsupported)
	}
	switch r.key.Algorithm.Family() {
	case backend.FamilyRSA:
		r.sigAlg = x509.SHA256WithRSA
		if f.pss {
			r.sigAlg = x509.SHA256WithRSAPSS
		}
	case backend.FamilyEC:
		// crypto/x509 picks the hash that matches the curve.
		r.sigAlg = x509.UnknownSignatureAlgorithm
	case backend.FamilyEd25519:
		r.sigAlg = x509.PureEd25519
	}
	if f.pss && r.key.Algorithm.Family() != backend.FamilyRSA {
		return nil, fmt.Errorf("--pss applies to RSA keys only, and key %q is %s", r.key.Label, r.key.Algorithm)
	}
	if r.signer, err = b.Signer(ctx, f.ref); err != nil {
		return nil, keyError(f.ref, err)
	}
	return r, nil
}
