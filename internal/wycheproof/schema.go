package wycheproof

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Hex is a byte string that the vector files spell in hexadecimal.
type Hex []byte

// UnmarshalJSON decodes a JSON string of hex digits.
func (h *Hex) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("hex field: %w", err)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("hex field %q: %w", s, err)
	}
	*h = b
	return nil
}

// Header is what every vector file starts with.
type Header struct {
	Algorithm     string          `json:"algorithm"`
	Schema        string          `json:"schema"`
	NumberOfTests int             `json:"numberOfTests"`
	Notes         map[string]Note `json:"notes"`
}

// Note explains a flag.
type Note struct {
	BugType     string `json:"bugType"`
	Description string `json:"description"`
}

// Result values of a vector.
const (
	Valid      = "valid"
	Invalid    = "invalid"
	Acceptable = "acceptable"
)

// Case holds the fields every test vector has.
type Case struct {
	TcID    int      `json:"tcId"`
	Comment string   `json:"comment"`
	Flags   []string `json:"flags"`
	Result  string   `json:"result"`
}

// RSADecryptCase is a vector of rsaes_oaep_decrypt_schema_v1.json or
// rsaes_pkcs1_decrypt_schema_v1.json (Label is empty for PKCS#1 v1.5).
type RSADecryptCase struct {
	Case
	Msg   Hex `json:"msg"`
	CT    Hex `json:"ct"`
	Label Hex `json:"label"`
}

// RSAOAEPGroup is a test group of rsaes_oaep_decrypt_schema_v1.json.
type RSAOAEPGroup struct {
	Type            string           `json:"type"`
	KeySize         int              `json:"keySize"`
	SHA             string           `json:"sha"`
	MGF             string           `json:"mgf"`
	MGFSHA          string           `json:"mgfSha"`
	PrivateKeyPKCS8 Hex              `json:"privateKeyPkcs8"`
	Tests           []RSADecryptCase `json:"tests"`
}

// RSAOAEPFile is an rsa_oaep_*_test.json file.
type RSAOAEPFile struct {
	Header
	TestGroups []RSAOAEPGroup `json:"testGroups"`
}

// RSAPKCS1Group is a test group of rsaes_pkcs1_decrypt_schema_v1.json.
type RSAPKCS1Group struct {
	Type            string           `json:"type"`
	KeySize         int              `json:"keySize"`
	PrivateKeyPKCS8 Hex              `json:"privateKeyPkcs8"`
	Tests           []RSADecryptCase `json:"tests"`
}

// RSAPKCS1File is an rsa_pkcs1_<bits>_test.json file.
type RSAPKCS1File struct {
	Header
	TestGroups []RSAPKCS1Group `json:"testGroups"`
}

// SignatureCase is a vector of the signature verification schemas.
type SignatureCase struct {
	Case
	Msg Hex `json:"msg"`
	Sig Hex `json:"sig"`
}

// ECPublicKey is the publicKey object of the ECDSA schemas.
type ECPublicKey struct {
	Type         string `json:"type"`
	Curve        string `json:"curve"`
	KeySize      int    `json:"keySize"`
	Uncompressed Hex    `json:"uncompressed"`
}

// ECDSAGroup is a test group of ecdsa_verify_schema_v1.json (DER
// signatures) or ecdsa_p1363_verify_schema_v1.json (r ‖ s).
type ECDSAGroup struct {
	Type         string          `json:"type"`
	PublicKey    ECPublicKey     `json:"publicKey"`
	PublicKeyDER Hex             `json:"publicKeyDer"`
	SHA          string          `json:"sha"`
	Tests        []SignatureCase `json:"tests"`
}

// ECDSAFile is an ecdsa_*_test.json file.
type ECDSAFile struct {
	Header
	TestGroups []ECDSAGroup `json:"testGroups"`
}

// EdDSAPublicKey is the publicKey object of eddsa_verify_schema_v1.json.
type EdDSAPublicKey struct {
	Type  string `json:"type"`
	Curve string `json:"curve"`
	PK    Hex    `json:"pk"`
}

// EdDSAGroup is a test group of eddsa_verify_schema_v1.json.
type EdDSAGroup struct {
	Type         string          `json:"type"`
	PublicKey    EdDSAPublicKey  `json:"publicKey"`
	PublicKeyDER Hex             `json:"publicKeyDer"`
	Tests        []SignatureCase `json:"tests"`
}

// EdDSAFile is ed25519_test.json.
type EdDSAFile struct {
	Header
	TestGroups []EdDSAGroup `json:"testGroups"`
}

// AEADCase is a vector of aead_test_schema_v1.json.
type AEADCase struct {
	Case
	Key Hex `json:"key"`
	IV  Hex `json:"iv"`
	AAD Hex `json:"aad"`
	Msg Hex `json:"msg"`
	CT  Hex `json:"ct"`
	Tag Hex `json:"tag"`
}

// AEADGroup is a test group of aead_test_schema_v1.json; sizes in bits.
type AEADGroup struct {
	Type    string     `json:"type"`
	KeySize int        `json:"keySize"`
	IVSize  int        `json:"ivSize"`
	TagSize int        `json:"tagSize"`
	Tests   []AEADCase `json:"tests"`
}

// AEADFile is aes_gcm_test.json.
type AEADFile struct {
	Header
	TestGroups []AEADGroup `json:"testGroups"`
}

// Schema names this package parses.
const (
	SchemaRSAOAEP      = "rsaes_oaep_decrypt_schema_v1.json"
	SchemaRSAPKCS1     = "rsaes_pkcs1_decrypt_schema_v1.json"
	SchemaECDSA        = "ecdsa_verify_schema_v1.json"
	SchemaECDSAP1363   = "ecdsa_p1363_verify_schema_v1.json"
	SchemaEdDSA        = "eddsa_verify_schema_v1.json"
	SchemaAEAD         = "aead_test_schema_v1.json"
	schemaECDSABitcoin = "ecdsa_bitcoin_verify_schema.json"
)

// parse decodes data into v (a *...File) and checks its schema and test
// count, so that a file of another kind, or a truncated one, is an error.
func parse(name string, data []byte, v interface {
	header() *Header
	count() int
}, schemas ...string) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("wycheproof: %s: %w", name, err)
	}
	h := v.header()
	ok := false
	for _, s := range schemas {
		ok = ok || h.Schema == s
	}
	if !ok {
		return fmt.Errorf("wycheproof: %s has schema %q, want one of %q", name, h.Schema, schemas)
	}
	if n := v.count(); n != h.NumberOfTests {
		return fmt.Errorf("wycheproof: %s holds %d tests, its header says %d", name, n, h.NumberOfTests)
	}
	return nil
}

func (f *RSAOAEPFile) header() *Header  { return &f.Header }
func (f *RSAPKCS1File) header() *Header { return &f.Header }
func (f *ECDSAFile) header() *Header    { return &f.Header }
func (f *EdDSAFile) header() *Header    { return &f.Header }
func (f *AEADFile) header() *Header     { return &f.Header }

func (f *RSAOAEPFile) count() (n int) {
	for _, g := range f.TestGroups {
		n += len(g.Tests)
	}
	return n
}
func (f *RSAPKCS1File) count() (n int) {
	for _, g := range f.TestGroups {
		n += len(g.Tests)
	}
	return n
}
func (f *ECDSAFile) count() (n int) {
	for _, g := range f.TestGroups {
		n += len(g.Tests)
	}
	return n
}
func (f *EdDSAFile) count() (n int) {
	for _, g := range f.TestGroups {
		n += len(g.Tests)
	}
	return n
}
func (f *AEADFile) count() (n int) {
	for _, g := range f.TestGroups {
		n += len(g.Tests)
	}
	return n
}

// ParseRSAOAEP parses an rsa_oaep_*_test.json file; name is for errors.
func ParseRSAOAEP(name string, data []byte) (*RSAOAEPFile, error) {
	f := new(RSAOAEPFile)
	return f, parse(name, data, f, SchemaRSAOAEP)
}

// ParseRSAPKCS1 parses an rsa_pkcs1_<bits>_test.json (decryption) file.
func ParseRSAPKCS1(name string, data []byte) (*RSAPKCS1File, error) {
	f := new(RSAPKCS1File)
	return f, parse(name, data, f, SchemaRSAPKCS1)
}

// ParseECDSA parses an ecdsa_*_test.json file of either the DER or the
// P1363 schema; f.Schema says which.
func ParseECDSA(name string, data []byte) (*ECDSAFile, error) {
	f := new(ECDSAFile)
	return f, parse(name, data, f, SchemaECDSA, SchemaECDSAP1363)
}

// ParseEdDSA parses ed25519_test.json.
func ParseEdDSA(name string, data []byte) (*EdDSAFile, error) {
	f := new(EdDSAFile)
	return f, parse(name, data, f, SchemaEdDSA)
}

// ParseAEAD parses aes_gcm_test.json.
func ParseAEAD(name string, data []byte) (*AEADFile, error) {
	f := new(AEADFile)
	return f, parse(name, data, f, SchemaAEAD)
}
