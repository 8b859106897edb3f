package awskms

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/keyplane/keyplane/backend"
)

// Scheme is the URI scheme this package registers.
const Scheme = "awskms"

// DefaultCallTimeout bounds a Sign or Decrypt call (which has no context)
// when the URI gives no call-timeout, the SDK's retries included.
const DefaultCallTimeout = 30 * time.Second

// maxCallTimeout bounds the call-timeout attribute.
const maxCallTimeout = time.Hour

// Key usages an RSA key is created with (KMS keys have one usage, for
// life).
const (
	UsageSignVerify     = "sign-verify"
	UsageEncryptDecrypt = "encrypt-decrypt"
)

// PSS salt lengths a KMS endpoint signs with: AWS KMS uses the hash length
// (RFC 8017's recommendation); local-kms uses the maximum (crypto/rsa's
// PSSSaltLengthAuto).
const (
	PSSSaltHashLength = backend.PSSSaltHashLength
	PSSSaltMaximum    = backend.PSSSaltMaximum
)

// Config configures an awskms backend: a parsed awskms: URI, plus what
// only code can supply. The URI never holds a credential. Credentials come
// from the AWS SDK's standard chain — environment variables (AWS_REGION,
// AWS_ACCESS_KEY_ID, AWS_PROFILE, …), the shared config and credentials
// files, web identity, container and instance roles — which the SDK reads
// when a program leaves both AWS and Credentials nil: that chain is what
// the user asks for by opening an awskms: URI with nothing else, and is
// the one place this module reads environment variables on its own
// behalf (through the SDK). A program that supplies AWS or Credentials
// gets no default chain at all: neither the environment nor any file is
// read. String, GoString and Format never show a credential.
type Config struct {
	// Region is the AWS region ("eu-west-2"); empty means the SDK's
	// default (AWS_REGION, the profile's region).
	Region string
	// Endpoint overrides the KMS endpoint URL ("http://127.0.0.1:4599",
	// a VPC endpoint); empty means the region's public endpoint.
	Endpoint string
	// Profile selects a shared-config profile; empty means the SDK's
	// default (AWS_PROFILE, then "default").
	Profile string
	// RSAKeyUsage is the usage GenerateKey gives RSA keys: UsageSignVerify
	// (the default) or UsageEncryptDecrypt.
	RSAKeyUsage string
	// PSSSalt is the salt length the endpoint's RSA-PSS signatures carry:
	// PSSSaltHashLength (the default, AWS) or PSSSaltMaximum (local-kms).
	PSSSalt string
	// CallTimeout bounds Sign and Decrypt; 0 means DefaultCallTimeout.
	CallTimeout time.Duration

	// AWS, when set, is the SDK configuration to use instead of the SDK's
	// default chain (a copy is taken): its Region, Credentials, HTTP
	// client, retryer. Region and Credentials above override its own when
	// set; Profile cannot be given with it (a profile is the default
	// chain's). No URI sets it.
	AWS *aws.Config `json:"-"`
	// Credentials, when set, supplies the AWS credentials in code (a
	// secret manager, aws.CredentialsProviderFunc,
	// credentials.NewStaticCredentialsProvider): the SDK calls its
	// Retrieve before requests, through a cache, as it does for its own
	// chain. With Credentials and no AWS, the default chain is not loaded:
	// Region must then be given (region= or Region). No URI sets it.
	Credentials aws.CredentialsProvider `json:"-"`
}

// attrs are the attribute names ParseURI accepts, in the order String
// writes them.
var attrs = []string{"region", "endpoint", "profile", "rsa-key-usage", "pss-salt", "call-timeout"}

var (
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+-[0-9]+$`)
	profileRE = regexp.MustCompile(`^[A-Za-z0-9_.@+-]{1,128}$`)
)

// ParseURI parses an awskms: URI. The grammar is RFC 7512's shape (as
// smallstep's awskms: URIs use): attributes separated by ";" after the
// scheme, or in a "?" query separated by "&", in any mix:
//
//	awskms:region=eu-west-2
//	awskms:region=eu-west-2;profile=signing
//	awskms:region=eu-west-2?endpoint=http://127.0.0.1:4599&pss-salt=maximum
//	awskms:                                     (the SDK's default region)
//
// sigstore's form, awskms://[host[:port]]/, is read too: its host, when
// present, is the endpoint (https://host:port), and a key reference after
// the slash is refused here (give it to Signer instead: Signer accepts
// "awskms:///alias/name" and "awskms:///arn:…").
//
//	awskms:///                                  (sigstore: the default endpoint)
//	awskms://kms.eu-west-2.amazonaws.com/      (sigstore: an endpoint)
//
// Attributes:
//
//	region         an AWS region name
//	endpoint       an http or https URL with no path, query or user info
//	profile        a shared-config profile name
//	rsa-key-usage  sign-verify (default) or encrypt-decrypt: the usage of
//	               RSA keys GenerateKey makes, and the RSA operations the
//	               backend reports
//	pss-salt       hash-length (default; AWS KMS) or maximum (local-kms):
//	               the salt length the endpoint's RSA-PSS signatures carry
//	call-timeout   a Go duration (≤ 1h) bounding Sign and Decrypt calls
//
// smallstep's key-id attribute names a key, not a backend; it is refused
// with that said. Credentials never appear in the URI: an attribute with
// a credential's name (access-key-id, secret-access-key, session-token)
// is refused, and its value is not repeated. Errors wrap
// backend.ErrInvalidInput.
func ParseURI(uri string) (*Config, error) {
	rest, ok := strings.CutPrefix(uri, Scheme+":")
	if !ok {
		return nil, fmt.Errorf("awskms: URI does not start with %q: %w", Scheme+":", backend.ErrInvalidInput)
	}
	c := &Config{}
	path, query, _ := strings.Cut(rest, "?")
	var parts []string
	if hostAndRest, isSigstore := strings.CutPrefix(path, "//"); isSigstore {
		host, keyPart, _ := strings.Cut(hostAndRest, "/")
		if keyPart != "" {
			return nil, fmt.Errorf("awskms: URI names a key (%q); a backend URI names the service only: open awskms:///, then pass the key reference to Signer: %w", keyPart, backend.ErrInvalidInput)
		}
		if host != "" {
			if strings.ContainsAny(host, "@;=") {
				return nil, fmt.Errorf("awskms: host %q in an awskms:// URI: want host[:port]: %w", host, backend.ErrInvalidInput)
			}
			parts = append(parts, "endpoint=https://"+host)
		}
	} else if path != "" {
		parts = append(parts, strings.Split(path, ";")...)
	}
	if query != "" {
		parts = append(parts, strings.Split(query, "&")...)
	}
	seen := map[string]bool{}
	for _, p := range parts {
		if p == "" {
			continue
		}
		name, raw, hasValue := strings.Cut(p, "=")
		name = strings.ToLower(name)
		switch name {
		case "access-key-id", "secret-access-key", "session-token", "aws_access_key_id", "aws_secret_access_key", "aws_session_token":
			return nil, fmt.Errorf("awskms: credentials never go in the URI (%s): use the SDK's chain (environment, profile, instance role); see docs/backends/awskms.md: %w", name, backend.ErrInvalidInput)
		case "key-id":
			return nil, fmt.Errorf("awskms: key-id names a key, not a backend: pass \"id:<key-id>\" (or the key ARN) as the key reference: %w", backend.ErrInvalidInput)
		}
		if !slices.Contains(attrs, name) {
			return nil, fmt.Errorf("awskms: unknown URI attribute %q (known: %s): %w", name, strings.Join(attrs, ", "), backend.ErrInvalidInput)
		}
		if !hasValue {
			return nil, fmt.Errorf("awskms: URI attribute %s has no value: %w", name, backend.ErrInvalidInput)
		}
		if seen[name] {
			return nil, fmt.Errorf("awskms: URI attribute %s given twice: %w", name, backend.ErrInvalidInput)
		}
		seen[name] = true
		v, err := url.PathUnescape(raw)
		if err != nil {
			return nil, fmt.Errorf("awskms: URI attribute %s: bad %%-escape: %w", name, backend.ErrInvalidInput)
		}
		if err := c.set(name, v); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Config) set(name, v string) error {
	bad := func(want string) error {
		return fmt.Errorf("awskms: URI attribute %s=%q: want %s: %w", name, v, want, backend.ErrInvalidInput)
	}
	switch name {
	case "region":
		if !regionRE.MatchString(v) {
			return bad("an AWS region name such as eu-west-2")
		}
		c.Region = v
	case "endpoint":
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			if u != nil && u.User != nil {
				return fmt.Errorf("awskms: URI attribute endpoint carries user information; credentials never go in the URI: %w", backend.ErrInvalidInput)
			}
			return bad("an http:// or https:// URL with a host and no path or query")
		}
		c.Endpoint = strings.TrimSuffix(v, "/")
	case "profile":
		if !profileRE.MatchString(v) {
			return bad("a profile name (letters, digits, _ . @ + -)")
		}
		c.Profile = v
	case "rsa-key-usage":
		if v != UsageSignVerify && v != UsageEncryptDecrypt {
			return bad(UsageSignVerify + " or " + UsageEncryptDecrypt)
		}
		c.RSAKeyUsage = v
	case "pss-salt":
		if v != PSSSaltHashLength && v != PSSSaltMaximum {
			return bad(PSSSaltHashLength + " or " + PSSSaltMaximum)
		}
		c.PSSSalt = v
	case "call-timeout":
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > maxCallTimeout {
			return bad("a Go duration between 1ns and 1h, such as 10s")
		}
		c.CallTimeout = d
	}
	return nil
}

// String returns the URI in the form ParseURI reads (attributes in a fixed
// order, default values left out). It holds no secret: AWS and Credentials
// are not shown (no URI can carry them).
//
// String, GoString and Format have value receivers so that a Config
// printed by value is formatted by them, never field by field (a static
// credentials provider holds the secret access key in its fields).
func (c Config) String() string {
	var parts []string
	add := func(name, v string) {
		if v != "" {
			parts = append(parts, name+"="+url.PathEscape(v))
		}
	}
	add("region", c.Region)
	add("profile", c.Profile)
	var q []string
	addQ := func(name, v string) {
		if v != "" {
			q = append(q, name+"="+url.QueryEscape(v))
		}
	}
	if c.Endpoint != "" {
		q = append(q, "endpoint="+c.Endpoint) // validated: no "&", "?" or space
	}
	if c.RSAKeyUsage != UsageSignVerify {
		addQ("rsa-key-usage", c.RSAKeyUsage)
	}
	if c.PSSSalt != PSSSaltHashLength {
		addQ("pss-salt", c.PSSSalt)
	}
	if c.CallTimeout != 0 {
		addQ("call-timeout", c.CallTimeout.String())
	}
	s := Scheme + ":" + strings.Join(parts, ";")
	if len(q) > 0 {
		s += "?" + strings.Join(q, "&")
	}
	return s
}

func (c *Config) rsaUsage() string {
	if c.RSAKeyUsage == "" {
		return UsageSignVerify
	}
	return c.RSAKeyUsage
}

func (c *Config) pssSalt() string {
	if c.PSSSalt == "" {
		return PSSSaltHashLength
	}
	return c.PSSSalt
}

func (c *Config) callTimeout() time.Duration {
	if c.CallTimeout == 0 {
		return DefaultCallTimeout
	}
	return c.CallTimeout
}

// GoString is what fmt's %#v prints: the URI as String formats it, and
// which of AWS and Credentials are set.
func (c Config) GoString() string {
	var set []string
	if c.AWS != nil {
		set = append(set, "AWS")
	}
	if c.Credentials != nil {
		set = append(set, "Credentials")
	}
	return backend.ConfigGoString("awskms.Config", c.String(), set...)
}

// Format prints the Config as String does (GoString for %#v), whatever
// the verb.
func (c Config) Format(f fmt.State, verb rune) {
	backend.FormatConfig(f, verb, c.String(), c.GoString())
}
