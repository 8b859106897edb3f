package pkcs8

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"hash"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/pkcs7"
)

// DefaultIterations is the PBKDF2 iteration count Encrypt uses when none is
// given: OWASP's 2023 figure for PBKDF2-HMAC-SHA256.
const DefaultIterations = 600_000

// MaxIterations is the largest PBKDF2 iteration count Decrypt accepts (and
// Encrypt writes), so that a small hostile file cannot make a reader spin:
// a larger count is refused before any key derivation, whatever the
// passphrase. Real files are far below it: OpenSSL 3 and pyca's
// BestAvailableEncryption write 2048, keyplane DefaultIterations (600,000,
// OWASP's figure for HMAC-SHA256; 210,000 for HMAC-SHA512). Reading a
// file at the cap costs a few tenths of a second of one core.
const MaxIterations = 1_000_000

// maxSaltLen bounds the salt read from a file.
const maxSaltLen = 1024

// EncryptOptions tunes Encrypt. The zero value (or nil) means the defaults.
type EncryptOptions struct {
	// Iterations is the PBKDF2 iteration count; 0 means DefaultIterations.
	// It must be at most MaxIterations.
	Iterations int
}

// EncryptionInfo describes how an EncryptedPrivateKeyInfo is protected,
// without decrypting it.
type EncryptionInfo struct {
	// Scheme is "PBES2" for everything Decrypt reads.
	Scheme string
	// KDF is "PBKDF2".
	KDF string
	// PRF is the PBKDF2 pseudo-random function's hash (crypto.SHA256 for
	// hmacWithSHA256).
	PRF crypto.Hash
	// Iterations is the PBKDF2 iteration count.
	Iterations int
	// SaltLen is the length of the salt in bytes.
	SaltLen int
	// Cipher is "AES-128-CBC", "AES-192-CBC" or "AES-256-CBC".
	Cipher string
}

// String describes the scheme the way OpenSSL's asn1parse names its parts.
func (i EncryptionInfo) String() string {
	return fmt.Sprintf("%s %s-HMAC-%s %d iterations %s", i.Scheme, i.KDF, hashName(i.PRF), i.Iterations, i.Cipher)
}

var (
	oidPBES2        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACWithSHA1 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidAES256CBC    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

// prfs maps the PBKDF2 PRF OIDs (RFC 8018 appendix B.1) to hashes.
var prfs = []struct {
	oid  asn1.ObjectIdentifier
	hash crypto.Hash
	new  func() hash.Hash
}{
	{oidHMACWithSHA1, crypto.SHA1, sha1.New},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}, crypto.SHA224, sha256.New224},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}, crypto.SHA256, sha256.New},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}, crypto.SHA384, sha512.New384},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}, crypto.SHA512, sha512.New},
}

// ciphers maps the PBES2 encryption scheme OIDs this package reads.
var ciphers = []struct {
	oid     asn1.ObjectIdentifier
	name    string
	keySize int
}{
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}, "AES-128-CBC", 16},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}, "AES-192-CBC", 24},
	{oidAES256CBC, "AES-256-CBC", 32},
}

// knownUnsupported names schemes that are recognised but refused, so the
// error says what the file uses.
var knownUnsupported = map[string]string{
	// PBES1 (RFC 8018 appendix A.3).
	"1.2.840.113549.1.5.1":  "PBES1 pbeWithMD2AndDES-CBC",
	"1.2.840.113549.1.5.3":  "PBES1 pbeWithMD5AndDES-CBC",
	"1.2.840.113549.1.5.4":  "PBES1 pbeWithMD2AndRC2-CBC",
	"1.2.840.113549.1.5.6":  "PBES1 pbeWithMD5AndRC2-CBC",
	"1.2.840.113549.1.5.10": "PBES1 pbeWithSHA1AndDES-CBC",
	"1.2.840.113549.1.5.11": "PBES1 pbeWithSHA1AndRC2-CBC",
	// PKCS#12 PBE (RFC 7292 appendix C), which OpenSSL's -v1 writes.
	"1.2.840.113549.1.12.1.1": "PKCS#12 pbeWithSHAAnd128BitRC4",
	"1.2.840.113549.1.12.1.2": "PKCS#12 pbeWithSHAAnd40BitRC4",
	"1.2.840.113549.1.12.1.3": "PKCS#12 pbeWithSHAAnd3-KeyTripleDES-CBC",
	"1.2.840.113549.1.12.1.4": "PKCS#12 pbeWithSHAAnd2-KeyTripleDES-CBC",
	"1.2.840.113549.1.12.1.5": "PKCS#12 pbeWithSHAAnd128BitRC2-CBC",
	"1.2.840.113549.1.12.1.6": "PKCS#12 pbewithSHAAnd40BitRC2-CBC",
	// PBES2 key derivation functions.
	"1.3.6.1.4.1.11591.4.11": "scrypt",
	// PBES2 encryption schemes.
	"1.3.14.3.2.7":              "DES-CBC",
	"1.2.840.113549.3.7":        "DES-EDE3-CBC (3DES)",
	"1.2.840.113549.3.2":        "RC2-CBC",
	"1.2.840.113549.3.9":        "RC5-CBC-Pad",
	"2.16.840.1.101.3.4.1.6":    "AES-128-GCM",
	"2.16.840.1.101.3.4.1.26":   "AES-192-GCM",
	"2.16.840.1.101.3.4.1.46":   "AES-256-GCM",
	"1.2.392.200011.61.1.1.1.2": "Camellia-128-CBC",
	"1.2.392.200011.61.1.1.1.3": "Camellia-192-CBC",
	"1.2.392.200011.61.1.1.1.4": "Camellia-256-CBC",
	"1.2.156.10197.1.104.2":     "SM4-CBC",
	// PBKDF2 PRFs.
	"1.2.840.113549.2.5":      "HMAC-MD5",
	"1.2.840.113549.2.12":     "hmacWithSHA512-224",
	"1.2.840.113549.2.13":     "hmacWithSHA512-256",
	"1.2.643.7.1.1.4.1":       "HMAC-GOST",
	"1.2.156.10197.1.401.3.1": "HMAC-SM3",
}

func oidName(oid asn1.ObjectIdentifier) string {
	if n, ok := knownUnsupported[oid.String()]; ok {
		return n + " (" + oid.String() + ")"
	}
	return "OID " + oid.String()
}

func hashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA1:
		return "SHA1"
	case crypto.SHA224:
		return "SHA224"
	case crypto.SHA256:
		return "SHA256"
	case crypto.SHA384:
		return "SHA384"
	case crypto.SHA512:
		return "SHA512"
	}
	return h.String()
}

// encryptedPrivateKeyInfo is RFC 5958 section 3.
type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

// pbes2Params is RFC 8018 appendix A.4.
type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

// pbkdf2Params is RFC 8018 appendix A.2. Salt is a CHOICE of which only
// "specified" (an OCTET STRING) is read.
type pbkdf2Params struct {
	Salt           asn1.RawValue
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

// Encrypt wraps plaintext (normally a DER PrivateKeyInfo) in a DER
// EncryptedPrivateKeyInfo: PBES2, PBKDF2-HMAC-SHA256 with a fresh 16-byte
// salt, AES-256-CBC with a fresh IV. The passphrase must not be empty.
func Encrypt(plaintext, passphrase []byte, opts *EncryptOptions) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("pkcs8: empty passphrase (pass nil to write an unencrypted key): %w", backend.ErrInvalidInput)
	}
	iter := DefaultIterations
	if opts != nil && opts.Iterations != 0 {
		iter = opts.Iterations
	}
	if iter < 1 || iter > MaxIterations {
		return nil, fmt.Errorf("pkcs8: PBKDF2 iteration count %d out of range 1..%d: %w", iter, MaxIterations, backend.ErrInvalidInput)
	}
	salt := make([]byte, 16)
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("pkcs8: reading randomness: %w", backend.ErrUnavailable)
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, fmt.Errorf("pkcs8: reading randomness: %w", backend.ErrUnavailable)
	}
	block, err := pbes2Cipher(sha256.New, passphrase, salt, iter, 32)
	if err != nil {
		return nil, err
	}
	buf := pkcs7.Pad(plaintext, aes.BlockSize)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)

	saltDER, _ := asn1.Marshal(salt)
	kdfParams, err := asn1.Marshal(pbkdf2Params{
		Salt:           asn1.RawValue{FullBytes: saltDER},
		IterationCount: iter,
		PRF:            pkix.AlgorithmIdentifier{Algorithm: prfs[2].oid, Parameters: asn1.NullRawValue},
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs8: encoding PBKDF2 parameters: %v: %w", err, backend.ErrInvalidInput)
	}
	ivDER, _ := asn1.Marshal(iv)
	params, err := asn1.Marshal(pbes2Params{
		KeyDerivationFunc: pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdfParams}},
		EncryptionScheme:  pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivDER}},
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs8: encoding PBES2 parameters: %v: %w", err, backend.ErrInvalidInput)
	}
	out, err := asn1.Marshal(encryptedPrivateKeyInfo{
		Algorithm:     pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: params}},
		EncryptedData: buf,
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs8: encoding EncryptedPrivateKeyInfo: %v: %w", err, backend.ErrInvalidInput)
	}
	return out, nil
}

// scheme is a parsed, supported PBES2 parameter set.
type scheme struct {
	info    EncryptionInfo
	newHash func() hash.Hash
	salt    []byte
	keySize int
	iv      []byte
	data    []byte
}

func unmarshalExact(what string, der []byte, v any) error {
	rest, err := asn1.Unmarshal(der, v)
	if err != nil {
		return fmt.Errorf("pkcs8: malformed %s: %v: %w", what, err, backend.ErrInvalidInput)
	}
	if len(rest) != 0 {
		return fmt.Errorf("pkcs8: %d bytes of trailing data after %s: %w", len(rest), what, backend.ErrInvalidInput)
	}
	return nil
}

func parseScheme(der []byte) (*scheme, error) {
	var epki encryptedPrivateKeyInfo
	if err := unmarshalExact("EncryptedPrivateKeyInfo", der, &epki); err != nil {
		return nil, err
	}
	if !epki.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("pkcs8: encryption scheme %s is not supported (supported: PBES2 with PBKDF2 and AES-CBC): %w",
			oidName(epki.Algorithm.Algorithm), backend.ErrUnsupported)
	}
	var p pbes2Params
	if err := unmarshalExact("PBES2 parameters", epki.Algorithm.Parameters.FullBytes, &p); err != nil {
		return nil, err
	}
	if !p.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("pkcs8: PBES2 key derivation function %s is not supported (supported: PBKDF2): %w",
			oidName(p.KeyDerivationFunc.Algorithm), backend.ErrUnsupported)
	}
	s := &scheme{info: EncryptionInfo{Scheme: "PBES2", KDF: "PBKDF2"}, data: epki.EncryptedData}
	for _, c := range ciphers {
		if c.oid.Equal(p.EncryptionScheme.Algorithm) {
			s.info.Cipher, s.keySize = c.name, c.keySize
		}
	}
	if s.keySize == 0 {
		return nil, fmt.Errorf("pkcs8: PBES2 encryption scheme %s is not supported (supported: AES-128-CBC, AES-192-CBC, AES-256-CBC): %w",
			oidName(p.EncryptionScheme.Algorithm), backend.ErrUnsupported)
	}
	if err := unmarshalExact("AES-CBC IV", p.EncryptionScheme.Parameters.FullBytes, &s.iv); err != nil {
		return nil, err
	}
	if len(s.iv) != aes.BlockSize {
		return nil, fmt.Errorf("pkcs8: AES-CBC IV of %d bytes, want %d: %w", len(s.iv), aes.BlockSize, backend.ErrInvalidInput)
	}

	var kp pbkdf2Params
	if err := unmarshalExact("PBKDF2 parameters", p.KeyDerivationFunc.Parameters.FullBytes, &kp); err != nil {
		return nil, err
	}
	if kp.Salt.Class != asn1.ClassUniversal || kp.Salt.Tag != asn1.TagOctetString || kp.Salt.IsCompound {
		return nil, fmt.Errorf("pkcs8: PBKDF2 salt from another source (otherSource) is not supported: %w", backend.ErrUnsupported)
	}
	s.salt = kp.Salt.Bytes
	if len(s.salt) == 0 || len(s.salt) > maxSaltLen {
		return nil, fmt.Errorf("pkcs8: PBKDF2 salt of %d bytes (want 1..%d): %w", len(s.salt), maxSaltLen, backend.ErrInvalidInput)
	}
	s.info.SaltLen = len(s.salt)
	switch {
	case kp.IterationCount < 1:
		return nil, fmt.Errorf("pkcs8: PBKDF2 iteration count %d: %w", kp.IterationCount, backend.ErrInvalidInput)
	case kp.IterationCount > MaxIterations:
		return nil, fmt.Errorf("pkcs8: PBKDF2 iteration count %d exceeds the limit of %d (refused unread; re-encrypt the key with a lower count, e.g. openssl pkcs8 -topk8 -v2 aes-256-cbc -iter 600000): %w", kp.IterationCount, MaxIterations, backend.ErrUnsupported)
	}
	s.info.Iterations = kp.IterationCount
	if kp.KeyLength != 0 && kp.KeyLength != s.keySize {
		return nil, fmt.Errorf("pkcs8: PBKDF2 key length %d does not match %s: %w", kp.KeyLength, s.info.Cipher, backend.ErrInvalidInput)
	}
	if len(kp.PRF.Algorithm) == 0 {
		s.info.PRF, s.newHash = crypto.SHA1, sha1.New // the DEFAULT in RFC 8018
	} else {
		for _, f := range prfs {
			if f.oid.Equal(kp.PRF.Algorithm) {
				s.info.PRF, s.newHash = f.hash, f.new
			}
		}
		if s.newHash == nil {
			return nil, fmt.Errorf("pkcs8: PBKDF2 pseudo-random function %s is not supported (supported: hmacWithSHA1, -SHA224, -SHA256, -SHA384, -SHA512): %w",
				oidName(kp.PRF.Algorithm), backend.ErrUnsupported)
		}
	}
	if len(s.data) == 0 || len(s.data)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("pkcs8: encrypted data of %d bytes is not a whole number of AES blocks: %w", len(s.data), backend.ErrInvalidInput)
	}
	return s, nil
}

// Inspect reports how a DER EncryptedPrivateKeyInfo is protected, without
// the passphrase. It fails like Decrypt for schemes this package does not
// read.
func Inspect(der []byte) (EncryptionInfo, error) {
	s, err := parseScheme(der)
	if err != nil {
		return EncryptionInfo{}, err
	}
	return s.info, nil
}

// Decrypt opens a DER EncryptedPrivateKeyInfo and returns the plaintext
// (normally a DER PrivateKeyInfo). A wrong passphrase gives an error
// wrapping backend.ErrAuthentication.
//
// Decrypt only checks the padding; callers that parse the plaintext should
// report a parse failure as backend.ErrAuthentication too (a wrong
// passphrase passes the padding check about once in 256 tries), as
// ParseEncryptedPrivateKey does.
func Decrypt(der, passphrase []byte) ([]byte, error) {
	s, err := parseScheme(der)
	if err != nil {
		return nil, err
	}
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("pkcs8: the key is encrypted and the passphrase is empty: %w", backend.ErrAuthentication)
	}
	block, err := pbes2Cipher(s.newHash, passphrase, s.salt, s.info.Iterations, s.keySize)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(s.data))
	cipher.NewCBCDecrypter(block, s.iv).CryptBlocks(out, s.data)
	n, ok := pkcs7.Unpad(out, aes.BlockSize)
	if !ok {
		clear(out)
		return nil, errWrongPassphrase
	}
	return out[:n], nil
}

var errWrongPassphrase = fmt.Errorf("pkcs8: wrong passphrase (the key did not decrypt): %w", backend.ErrAuthentication)

// pbes2Cipher derives PBES2's key from passphrase (PBKDF2 with newHash)
// and returns the AES cipher of it, for Encrypt and Decrypt. The derived
// key is cleared here (the cipher keeps its own schedule of it).
func pbes2Cipher(newHash func() hash.Hash, passphrase, salt []byte, iter, keySize int) (cipher.Block, error) {
	key, err := pbkdf2.Key(newHash, string(passphrase), salt, iter, keySize)
	if err != nil {
		return nil, fmt.Errorf("pkcs8: PBKDF2: %v: %w", err, backend.ErrInvalidInput)
	}
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("pkcs8: AES: %v: %w", err, backend.ErrInvalidInput)
	}
	return block, nil
}
