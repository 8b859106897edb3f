package backend

import "slices"

// Capabilities is a backend's report of what it can do, so that callers and
// the conformance suite ask instead of guessing.
type Capabilities struct {
	// Backend is the scheme the backend was opened with ("software",
	// "pkcs11", "plugin+software", ...).
	Backend string `json:"backend"`
	// Description says which store or token this is, for people
	// ("keystore /home/me/keys", "SoftHSM slot 0 token 'test'"). No secrets.
	Description string `json:"description,omitempty"`
	// Algorithms lists the key types GenerateKey (and ImportKey) accept.
	Algorithms []Algorithm `json:"algorithms"`
	// Operations lists the operations the backend's keys can do.
	Operations []Operation `json:"operations"`
	// Import reports whether ImportKey can work: the backend implements
	// Importer and its store takes key material (a PKCS#11 token may
	// refuse every private key in C_CreateObject).
	Import bool `json:"import"`
	// Export reports whether the backend implements Exporter.
	Export bool `json:"export"`
	// Persistent reports whether keys outlive the process.
	Persistent bool `json:"persistent"`
	// Notes are facts worth showing a user, one per line ("OAEP with
	// SHA-2 or a label: decoded on the host over CKM_RSA_X_509").
	Notes []string `json:"notes,omitempty"`
	// Details carries backend-specific facts (token mechanisms, module
	// version) as name/value pairs.
	Details map[string]string `json:"details,omitempty"`
}

// SupportsAlgorithm reports whether a is in c.Algorithms.
func (c *Capabilities) SupportsAlgorithm(a Algorithm) bool {
	return slices.Contains(c.Algorithms, a)
}

// SupportsOperation reports whether op is in c.Operations.
func (c *Capabilities) SupportsOperation(op Operation) bool {
	return slices.Contains(c.Operations, op)
}
