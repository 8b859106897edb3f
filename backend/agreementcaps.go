package backend

import (
	"slices"
	"strings"
)

// DetailKeyAgreement is the Capabilities.Details key by which a backend
// that implements KeyAgreement says which of its algorithms do key
// agreement: their names, separated by ", " ("ec-p256, ec-p384, x25519"),
// or "none" and the reason ("none (the token lists no CKM_ECDH1_DERIVE)").
// Without the key, every X25519 and EC algorithm in Algorithms does (a
// software backend). A PKCS#11 token sets it from a probe: its mechanism
// list alone does not say which curves it derives on.
const DetailKeyAgreement = "key-agreement"

// SupportsKeyAgreement reports whether c says that keys of a do key
// agreement through KeyAgreement (see DetailKeyAgreement). It does not
// say whether the backend implements KeyAgreement: ask the backend.
func (c *Capabilities) SupportsKeyAgreement(a Algorithm) bool {
	if a != X25519 && a.Family() != FamilyEC || !c.SupportsAlgorithm(a) {
		return false
	}
	d, ok := c.Details[DetailKeyAgreement]
	if !ok {
		return true
	}
	return slices.Contains(strings.Split(d, ", "), string(a))
}
