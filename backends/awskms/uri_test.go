package awskms

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
)

func TestParseURI(t *testing.T) {
	for _, c := range []struct {
		uri  string
		want Config
		str  string // String(), "" when the same as uri
	}{
		{"awskms:", Config{}, ""},
		{"awskms:region=eu-west-2", Config{Region: "eu-west-2"}, ""},
		{"awskms:region=eu-west-2;profile=signing", Config{Region: "eu-west-2", Profile: "signing"}, ""},
		{"awskms:region=eu-west-2?endpoint=http://127.0.0.1:4599&pss-salt=maximum",
			Config{Region: "eu-west-2", Endpoint: "http://127.0.0.1:4599", PSSSalt: PSSSaltMaximum}, ""},
		{"awskms:?region=us-east-1&rsa-key-usage=encrypt-decrypt&call-timeout=5s",
			Config{Region: "us-east-1", RSAKeyUsage: UsageEncryptDecrypt, CallTimeout: 5 * time.Second},
			"awskms:region=us-east-1?rsa-key-usage=encrypt-decrypt&call-timeout=5s"},
		// sigstore's forms.
		{"awskms:///", Config{}, "awskms:"},
		{"awskms://localhost:4566/", Config{Endpoint: "https://localhost:4566"}, "awskms:?endpoint=https://localhost:4566"},
	} {
		got, err := ParseURI(c.uri)
		if err != nil {
			t.Errorf("ParseURI(%q): %v", c.uri, err)
			continue
		}
		if *got != c.want {
			t.Errorf("ParseURI(%q) = %+v, want %+v", c.uri, *got, c.want)
		}
		want := c.str
		if want == "" {
			want = c.uri
		}
		if s := got.String(); s != want {
			t.Errorf("ParseURI(%q).String() = %q, want %q", c.uri, s, want)
		}
		again, err := ParseURI(got.String())
		if err != nil || *again != *got {
			t.Errorf("ParseURI(String()) of %q = %+v, %v; want the same config", c.uri, again, err)
		}
	}
}

func TestParseURIRefuses(t *testing.T) {
	const secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
	for _, c := range []struct{ uri, want string }{
		{"software:memory", "does not start"},
		{"awskms:region=Europe", "region"},
		{"awskms:colour=blue", "unknown URI attribute"},
		{"awskms:region=eu-west-2;region=eu-west-1", "twice"},
		{"awskms:region", "no value"},
		{"awskms:?endpoint=ftp://x", "endpoint"},
		{"awskms:?endpoint=http://127.0.0.1:1/path", "endpoint"},
		{"awskms:?endpoint=https://AKID:" + secret + "@kms.example", "user information"},
		{"awskms:?secret-access-key=" + secret, "credentials never go in the URI"},
		{"awskms:region=eu-west-2;aws_secret_access_key=" + secret, "credentials never go in the URI"},
		{"awskms:key-id=1234abcd-12ab-34cd-56ef-1234567890ab", "names a key"},
		{"awskms:///alias/release", "names a key"},
		{"awskms:?rsa-key-usage=both", "rsa-key-usage"},
		{"awskms:?pss-salt=20", "pss-salt"},
		{"awskms:?call-timeout=2h", "call-timeout"},
		{"awskms:?call-timeout=-1s", "call-timeout"},
	} {
		_, err := ParseURI(c.uri)
		if err == nil {
			t.Errorf("ParseURI(%q) succeeded", c.uri)
			continue
		}
		if !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("ParseURI(%q): %v, want ErrInvalidInput", c.uri, err)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseURI(%q): %q does not say %q", c.uri, err, c.want)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("ParseURI(%q): the error repeats the secret: %q", c.uri, err)
		}
	}
}

func TestKeyRefs(t *testing.T) {
	const arn = "arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	for ref, want := range map[string]string{
		"release":                                 "alias/release",
		"a label with spaces":                     "alias/keyplane-b32/" + strings.ToLower(b32.EncodeToString([]byte("a label with spaces"))),
		"aws-looking":                             "alias/keyplane-b32/" + strings.ToLower(b32.EncodeToString([]byte("aws-looking"))),
		"id:1234abcd12ab34cd56ef1234567890ab":     "1234abcd-12ab-34cd-56ef-1234567890ab",
		"id:1234abcd-12ab-34cd-56ef-1234567890ab": "1234abcd-12ab-34cd-56ef-1234567890ab",
		"alias/team/release":                      "alias/team/release",
		arn:                                       arn,
		"awskms:///alias/release":                 "alias/release",
		"awskms:///" + arn:                        arn,
		"awskms:///1234abcd-12ab-34cd-56ef-1234567890ab": "1234abcd-12ab-34cd-56ef-1234567890ab",
	} {
		got, err := kmsKeyRef(ref)
		if err != nil || got != want {
			t.Errorf("kmsKeyRef(%q) = %q, %v; want %q", ref, got, err, want)
		}
	}
	for _, label := range []string{"release", "a label with spaces", "clé-ключ-鍵", "aws-looking", strings.Repeat("é", 64)} {
		a, err := aliasFor(label)
		if err != nil {
			t.Errorf("aliasFor(%q): %v", label, err)
			continue
		}
		if got := labelOf(a); got != label {
			t.Errorf("labelOf(aliasFor(%q)) = %q", label, got)
		}
	}
	for _, ref := range []string{"", "a/b", "id:zz", "alias/", "alias/a b", "arn:aws:s3:::bucket", "awskms://"} {
		if _, err := kmsKeyRef(ref); !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("kmsKeyRef(%q): %v, want ErrInvalidInput", ref, err)
		}
	}
	if id := idBytes("1234abcd-12ab-34cd-56ef-1234567890ab"); len(id) != 16 || keyIDOf(id) != "1234abcd-12ab-34cd-56ef-1234567890ab" {
		t.Errorf("idBytes/keyIDOf do not round-trip a UUID: %x", id)
	}
	if id := idBytes("mrk-1234abcd12ab34cd56ef1234567890ab"); keyIDOf(id) != "mrk-1234abcd12ab34cd56ef1234567890ab" {
		t.Errorf("idBytes/keyIDOf do not round-trip a multi-Region key ID")
	}
}
