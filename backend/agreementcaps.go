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

// The key-agreement operations by name ("ecdh" for EC keys, "x25519"):
// the names the operation list uses for KeyAgreement.
const (
	agreementOpEC     Operation = "ecdh"
	agreementOpX25519 Operation = "x25519"
)

// SupportsKeyAgreement reports whether c says that keys of a (an EC or
// X25519 algorithm in Algorithms) do key agreement through KeyAgreement:
// Details[DetailKeyAgreement] lists a, or, without that detail,
// Operations has the key-agreement operation of a's family.
func (c *Capabilities) SupportsKeyAgreement(a Algorithm) bool {
	var op Operation
	switch {
	case a == X25519:
		op = agreementOpX25519
	case a.Family() == FamilyEC:
		op = agreementOpEC
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
