package main

import (
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// subjectAttributes are the attribute names --subject accepts.
const subjectAttributes = "CN, O, OU, L, ST, C, STREET, POSTALCODE, SERIALNUMBER"

// parseSubject parses a distinguished name in the RFC 4514 style that
// OpenSSL's -subj ... -nameopt RFC2253 and most tools print:
// "CN=example.com,O=Example\, Inc.,C=US". Attributes are separated by
// commas; a backslash escapes the next character (",", "+", "=", "\", ...)
// or introduces two hex digits (\2C). White space around names and values
// is ignored. Names are case-insensitive. O, OU, L, ST, C, STREET and
// POSTALCODE may repeat; CN and SERIALNUMBER may not.
func parseSubject(s string) (pkix.Name, error) {
	var name pkix.Name
	if strings.TrimSpace(s) == "" {
		return name, errors.New("--subject is empty (example: \"CN=example.com,O=Example\")")
	}
	parts, err := splitUnescaped(s, ',')
	if err != nil {
		return name, err
	}
	seen := map[string]bool{}
	for _, part := range parts {
		attr, raw, ok := cutUnescaped(part, '=')
		if !ok {
			return name, fmt.Errorf("--subject: %q is not NAME=value", strings.TrimSpace(part))
		}
		attr = strings.ToUpper(strings.TrimSpace(attr))
		value, err := unescapeDN(strings.TrimSpace(raw))
		if err != nil {
			return name, fmt.Errorf("--subject: %s: %w", attr, err)
		}
		if value == "" {
			return name, fmt.Errorf("--subject: %s has an empty value", attr)
		}
		switch attr {
		case "CN", "SERIALNUMBER":
			if seen[attr] {
				return name, fmt.Errorf("--subject: %s appears twice", attr)
			}
			if attr == "CN" {
				name.CommonName = value
			} else {
				name.SerialNumber = value
			}
		case "O":
			name.Organization = append(name.Organization, value)
		case "OU":
			name.OrganizationalUnit = append(name.OrganizationalUnit, value)
		case "L":
			name.Locality = append(name.Locality, value)
		case "ST":
			name.Province = append(name.Province, value)
		case "C":
			if len(value) != 2 {
				return name, fmt.Errorf("--subject: C=%q: a country is a two-letter ISO 3166 code", value)
			}
			name.Country = append(name.Country, value)
		case "STREET":
			name.StreetAddress = append(name.StreetAddress, value)
		case "POSTALCODE":
			name.PostalCode = append(name.PostalCode, value)
		default:
			return name, fmt.Errorf("--subject: unknown attribute %q (known: %s)", attr, subjectAttributes)
		}
		seen[attr] = true
	}
	return name, nil
}

// splitUnescaped splits s at every sep not preceded by a backslash escape.
func splitUnescaped(s string, sep byte) ([]string, error) {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 == len(s) {
				return nil, errors.New("--subject ends with a lone backslash")
			}
			i++
		case sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:]), nil
}

// cutUnescaped cuts s around the first unescaped sep.
func cutUnescaped(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// unescapeDN resolves backslash escapes: \X is X, \HH is the byte 0xHH.
func unescapeDN(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", errors.New("value ends with a lone backslash")
		}
		if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			v, _ := hex.DecodeString(s[i+1 : i+3])
			b.Write(v)
			i += 2
			continue
		}
		b.WriteByte(s[i+1])
		i++
	}
	if !utf8.ValidString(b.String()) {
		return "", errors.New("escapes give invalid UTF-8")
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
