package backend

import (
	"slices"
	"strings"
)

// DetailKeyAgreement is the Capabilities.Details key by which a backend
// says which of its algorithms do key agreement through KeyAgreement:
// their names, separated by ", " ("ec-p256, ec-p384, x25519"), or "none"
// and the reason ("none (the token lists no CKM_ECDH1_DERIVE)"). A
// PKCS#11 token sets it from a probe: its mechanism list alone does not
// say on which curves it derives. Without the key, the key-agreement
// operations in Operations say it for every key of their family (a
// software backend).
const DetailKeyAgreement = "key-agreement"

// SupportsKeyAgreement reports whether c says that keys of a (an EC or
// X25519 algorithm in Algorithms) do key agreement through KeyAgreement:
// Details[DetailKeyAgreement] lists a, or, without that detail,
// Operations has the key-agreement operation of a's family.
func (c *Capabilities) SupportsKeyAgreement(a Algorithm) bool {
	var op Operation
	switch {
	case a == X25519:
		op = X25519Agreement
	case a.Family() == FamilyEC:
		op = ECDH
	default:
		return false
	}
	if !c.SupportsAlgorithm(a) {
		return false
	}
	if d, ok := c.Details[DetailKeyAgreement]; ok {
		return slices.Contains(strings.Split(d, ", "), string(a))
	}
	return c.SupportsOperation(op)
}
