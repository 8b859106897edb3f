package awskms

import (
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/keyplane/keyplane/backend"
)

// aliasPrefix starts every KMS alias name.
const aliasPrefix = "alias/"

// encodedPrefix starts the alias names of labels that are not valid alias
// names as they stand (spaces, non-ASCII): the rest is the label in
// lowercase base32 without padding.
const encodedPrefix = aliasPrefix + "keyplane-b32/"

// maxAliasLen is KMS's limit on an alias name, "alias/" included.
const maxAliasLen = 256

var (
	plainLabelRE = regexp.MustCompile(`^[A-Za-z0-9:_-]+$`)
	uuidRE       = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	keyIDRE      = regexp.MustCompile(`^(mrk-)?[0-9a-fA-F-]{32,36}$`)
	arnRE        = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+$`)
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// aliasFor returns the alias name for a keyplane label: alias/<label> when
// the label is a valid alias name as it stands (letters, digits, ":", "_",
// "-"), alias/keyplane-b32/<base32 of the label> otherwise.
func aliasFor(label string) (string, error) {
	if err := backend.ValidateLabel(label); err != nil {
		return "", err
	}
	var a string
	if plainLabelRE.MatchString(label) && !strings.HasPrefix(label, "aws") {
		a = aliasPrefix + label
	} else {
		a = encodedPrefix + strings.ToLower(b32.EncodeToString([]byte(label)))
	}
	if len(a) > maxAliasLen {
		return "", fmt.Errorf("awskms: label %q makes an alias of %d characters, over KMS's %d: %w", label, len(a), maxAliasLen, backend.ErrInvalidInput)
	}
	return a, nil
}

// labelOf returns the keyplane label of an alias name (of its key, for a
// version alias alias/<label>/v<n>).
func labelOf(alias string) string {
	if base, _, ok := splitVersionAlias(alias); ok {
		alias = base
	}
	if enc, ok := strings.CutPrefix(alias, encodedPrefix); ok {
		if b, err := b32.DecodeString(strings.ToUpper(enc)); err == nil {
			return string(b)
		}
	}
	return strings.TrimPrefix(alias, aliasPrefix)
}

// idBytes turns a KMS key ID into a keyplane Key.ID: the 16 bytes of a
// UUID, or the ID's text for other forms (multi-Region "mrk-…").
func idBytes(keyID string) []byte {
	if uuidRE.MatchString(keyID) {
		b, err := hex.DecodeString(strings.ReplaceAll(keyID, "-", ""))
		if err == nil {
			return b
		}
	}
	return []byte(keyID)
}

// keyIDOf reverses idBytes.
func keyIDOf(id []byte) string {
	if len(id) == 16 {
		h := hex.EncodeToString(id)
		return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	}
	return string(id)
}

// kmsKeyRef turns a keyplane key reference into what KMS's KeyId
// parameter takes. It reads:
//
//	release                               a label: alias/release
//	id:<32 hex digits>                    a key by keyplane ID (Key.IDHex)
//	id:1234abcd-12ab-34cd-56ef-1234567890ab   a key by KMS key ID
//	alias/release                         an alias name
//	arn:aws:kms:eu-west-2:111122223333:key/…    a key ARN
//	arn:aws:kms:eu-west-2:111122223333:alias/…  an alias ARN
//	awskms:///alias/release, awskms:///arn:…, awskms:///<key-id>  sigstore's key URIs
func kmsKeyRef(ref string) (string, error) {
	if r, ok := strings.CutPrefix(ref, "awskms://"); ok {
		_, key, found := strings.Cut(r, "/")
		if !found || key == "" {
			return "", fmt.Errorf("awskms: key URI %q names no key (want awskms:///<key-id|alias/name|arn>): %w", ref, backend.ErrInvalidInput)
		}
		if keyIDRE.MatchString(key) {
			return key, nil
		}
		ref = key
	}
	switch {
	case strings.HasPrefix(ref, "arn:"):
		if !arnRE.MatchString(ref) {
			return "", fmt.Errorf("awskms: %q is not a KMS key or alias ARN: %w", ref, backend.ErrInvalidInput)
		}
		return ref, nil
	case strings.HasPrefix(ref, aliasPrefix):
		if len(ref) == len(aliasPrefix) || len(ref) > maxAliasLen || !regexp.MustCompile(`^alias/[A-Za-z0-9:/_-]+$`).MatchString(ref) {
			return "", fmt.Errorf("awskms: %q is not a valid alias name: %w", ref, backend.ErrInvalidInput)
		}
		return ref, nil
	case strings.HasPrefix(ref, "id:"):
		id := ref[3:]
		if keyIDRE.MatchString(id) && strings.Contains(id, "-") {
			return id, nil
		}
		kr, err := backend.ParseKeyRef(ref)
		if err != nil {
			return "", err
		}
		return keyIDOf(kr.ID), nil
	}
	return aliasFor(ref)
}
