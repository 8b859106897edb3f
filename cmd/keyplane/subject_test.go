package main

import (
	"reflect"
	"strings"
	"testing"

	"crypto/x509/pkix"
)

func TestParseSubject(t *testing.T) {
	tests := []struct {
		in   string
		want pkix.Name
	}{
		{"CN=example.com", pkix.Name{CommonName: "example.com"}},
		{" cn = example.com , o = Example ", pkix.Name{CommonName: "example.com", Organization: []string{"Example"}}},
		{`CN=a,O=Example\, Inc.,OU=x,OU=y,L=Paris,ST=IDF,C=FR,STREET=1 Rue,POSTALCODE=75001,SERIALNUMBER=42`, pkix.Name{
			CommonName: "a", Organization: []string{"Example, Inc."}, OrganizationalUnit: []string{"x", "y"},
			Locality: []string{"Paris"}, Province: []string{"IDF"}, Country: []string{"FR"},
			StreetAddress: []string{"1 Rue"}, PostalCode: []string{"75001"}, SerialNumber: "42",
		}},
		{`CN=a\2Cb`, pkix.Name{CommonName: "a,b"}},
		{`CN=a\=b\+c\\d`, pkix.Name{CommonName: `a=b+c\d`}},
		{`CN=caf\C3\A9`, pkix.Name{CommonName: "café"}},
		{`CN=x=y`, pkix.Name{CommonName: "x=y"}},
	}
	for _, tt := range tests {
		got, err := parseSubject(tt.in)
		if err != nil {
			t.Errorf("parseSubject(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseSubject(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseSubjectErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "--subject is empty"},
		{"   ", "--subject is empty"},
		{"CN", `"CN" is not NAME=value`},
		{"CN=a,,O=b", `"" is not NAME=value`},
		{"CN=", "CN has an empty value"},
		{"EMAIL=a@b", `unknown attribute "EMAIL"`},
		{"DC=example", `unknown attribute "DC"`},
		{"CN=a,CN=b", "CN appears twice"},
		{"SERIALNUMBER=1,serialNumber=2", "SERIALNUMBER appears twice"},
		{"C=USA", "two-letter"},
		{`CN=a\`, "lone backslash"},
		{`CN=\FF`, "invalid UTF-8"},
	}
	for _, tt := range tests {
		_, err := parseSubject(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseSubject(%q) error = %v, want one containing %q", tt.in, err, tt.want)
		}
	}
}
