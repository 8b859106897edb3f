package software

import (
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/pkcs8"
)

// PEM block types of secret-key files (private keys use the standard
// "PRIVATE KEY" and "ENCRYPTED PRIVATE KEY").
const (
	pemSecretKey          = "KEYPLANE SECRET KEY"
	pemEncryptedSecretKey = "ENCRYPTED KEYPLANE SECRET KEY"
)

// kdfIterations is the PBKDF2 iteration count for keys written by this
// package; tests lower it to keep the suite fast.
var kdfIterations = pkcs8.DefaultIterations

// secretKeyInfo is the DER inside a secret-key file:
//
//	KeyplaneSecretKey ::= SEQUENCE {
//	    version   INTEGER (0),
//	    algorithm UTF8String,   -- "aes-256" or "fernet"
//	    value     OCTET STRING  -- 32 bytes; fernet: signing key ‖ encryption key
//	}
type secretKeyInfo struct {
	Version   int
	Algorithm string `asn1:"utf8"`
	Value     []byte
}

// encodeKeyFile returns the PEM file for priv: PKCS#8 for private keys,
// KEYPLANE SECRET KEY for secret keys; encrypted (PBES2) when passphrase is
// not nil.
func encodeKeyFile(alg backend.Algorithm, priv any, passphrase []byte) ([]byte, error) {
	var (
		der  []byte
		typ  string
		err  error
		opts = &pkcs8.EncryptOptions{Iterations: kdfIterations}
	)
	if secret, ok := priv.([]byte); ok {
		der, err = asn1.Marshal(secretKeyInfo{Algorithm: string(alg), Value: secret})
		if err != nil {
			return nil, fmt.Errorf("software: encoding secret key: %v: %w", err, backend.ErrInvalidInput)
		}
		typ = pemSecretKey
		if passphrase != nil {
			plain := der
			der, err = pkcs8.Encrypt(plain, passphrase, opts)
			clear(plain)
			typ = pemEncryptedSecretKey
		}
	} else if passphrase != nil {
		der, err = pkcs8.MarshalEncryptedPrivateKey(priv, passphrase, opts)
		typ = pkcs8.TypeEncryptedPrivateKey
	} else {
		der, err = pkcs8.MarshalPrivateKey(priv)
		typ = pkcs8.TypePrivateKey
	}
	if err != nil {
		return nil, fmt.Errorf("software: encoding key: %w", err)
	}
	defer clear(der)
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), nil
}

// decodeKeyFile reads a key file written by encodeKeyFile (or by hand with
// openssl: any PEM key pkcs8.ParsePrivateKeyPEM reads). want is the
// algorithm the metadata names; a secret key file must hold that algorithm.
//
// With a passphrase, only an encrypted file is read, as its first PEM
// block: an unencrypted key in a keystore that has a passphrase can only
// have been planted by someone who can write the directory but does not
// know the passphrase, who would then choose the key.
func decodeKeyFile(data, passphrase []byte, want backend.Algorithm) (any, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("key file is not PEM: %w", backend.ErrInvalidInput)
	}
	if passphrase != nil {
		switch block.Type {
		case pemEncryptedSecretKey:
		case pkcs8.TypeEncryptedPrivateKey:
			return pkcs8.ParseEncryptedPrivateKey(block.Bytes, passphrase)
		default:
			return nil, fmt.Errorf("key file (%q) is not encrypted, but this keystore has a passphrase: refused, since whoever can write the directory could have planted it; re-import the key with the passphrase configured: %w",
				block.Type, backend.ErrInvalidInput)
		}
	}
	var pass func() ([]byte, error)
	if passphrase != nil {
		pass = func() ([]byte, error) { return passphrase, nil }
	}
	switch block.Type {
	case pemSecretKey:
		return parseSecret(block.Bytes, false, want)
	case pemEncryptedSecretKey:
		if passphrase == nil {
			return nil, fmt.Errorf("the key is encrypted and no passphrase is configured (passphrase-source=file:, Config.Passphrase in code, or %s for the keyplane CLI): %w", PassphraseEnv, backend.ErrAuthentication)
		}
		plain, err := pkcs8.Decrypt(block.Bytes, passphrase)
		if err != nil {
			return nil, err
		}
		defer clear(plain)
		return parseSecret(plain, true, want)
	case pkcs8.TypeEncryptedPrivateKey:
		if passphrase == nil {
			return nil, fmt.Errorf("the key is encrypted and no passphrase is configured (passphrase-source=file:, Config.Passphrase in code, or %s for the keyplane CLI): %w", PassphraseEnv, backend.ErrAuthentication)
		}
	}
	return pkcs8.ParsePrivateKeyPEM(data, pass)
}

// parseSecret parses a KeyplaneSecretKey. After decryption, any failure is
// what a wrong passphrase looks like.
func parseSecret(der []byte, decrypted bool, want backend.Algorithm) ([]byte, error) {
	var s secretKeyInfo
	rest, err := asn1.Unmarshal(der, &s)
	if err != nil || len(rest) != 0 || s.Version != 0 {
		if decrypted {
			return nil, fmt.Errorf("wrong passphrase (the secret key did not decrypt): %w", backend.ErrAuthentication)
		}
		return nil, fmt.Errorf("malformed secret key file: %w", backend.ErrInvalidInput)
	}
	if s.Algorithm != string(want) {
		return nil, fmt.Errorf("the key file holds a %q key, its metadata says %s: %w", s.Algorithm, want, backend.ErrInvalidInput)
	}
	return append([]byte(nil), s.Value...), nil
}

// sidecar is the JSON metadata file next to each key file.
type sidecar struct {
	Version   int       `json:"version"`
	ID        string    `json:"id"`
	Label     string    `json:"label"`
	Algorithm string    `json:"algorithm"`
	Created   time.Time `json:"created"`
	// KeyFile is the name of the key file in the same directory.
	KeyFile string `json:"key_file"`
	// Encrypted says whether the key file is passphrase-encrypted.
	Encrypted bool `json:"encrypted"`
	// PublicKey is the SPKI PEM of an asymmetric key, so listing keys never
	// needs the passphrase.
	PublicKey string `json:"public_key,omitempty"`
	// KeyVersion is the key version this file holds (see
	// backend.KeyVersions); absent in version-1 sidecars, which hold
	// version 1.
	KeyVersion int `json:"key_version,omitempty"`
	// MinVersion is the key's minimum version, kept in its primary
	// version's sidecar; absent (0) means no version is retired.
	MinVersion int `json:"min_version,omitempty"`
}

// Sidecar format versions: 1 for a key that was never rotated nor had a
// minimum version set (the format keyplane wrote before key versions, so
// that such keystores stay readable by older keyplane), 2 otherwise.
const (
	sidecarVersion         = 1
	sidecarVersionVersions = 2
)

func encodeSidecar(e *keyEntry, encrypted bool) ([]byte, error) {
	sc := sidecar{
		Version:   sidecarVersion,
		ID:        hex.EncodeToString(e.meta.ID),
		Label:     e.meta.Label,
		Algorithm: string(e.meta.Algorithm),
		Created:   e.meta.Created,
		KeyFile:   e.name + keySuffix,
		Encrypted: encrypted,
	}
	if v, min := e.meta.Version, e.minVersion(); v > 1 || min > 0 {
		sc.Version, sc.KeyVersion, sc.MinVersion = sidecarVersionVersions, v, min
	}
	if e.meta.Public != nil {
		der, err := pkcs8.MarshalPublicKey(e.meta.Public)
		if err != nil {
			return nil, fmt.Errorf("software: encoding public key: %v: %w", err, backend.ErrInvalidInput)
		}
		sc.PublicKey = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}
	b, err := json.MarshalIndent(sc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("software: encoding metadata: %v: %w", err, backend.ErrInvalidInput)
	}
	return append(b, '\n'), nil
}

var errBadSidecar = errors.New("malformed metadata file")

// decodeSidecar parses and checks a metadata file named stem+metaSuffix.
func decodeSidecar(stem string, data []byte) (*keyEntry, error) {
	var sc sidecar
	if err := json.Unmarshal(data, &sc); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadSidecar, err)
	}
	switch {
	case sc.Version == sidecarVersion && sc.KeyVersion == 0 && sc.MinVersion == 0:
		sc.KeyVersion = 1
	case sc.Version == sidecarVersionVersions && sc.KeyVersion >= 1 && sc.MinVersion >= 0 && sc.MinVersion <= sc.KeyVersion:
	case sc.Version == sidecarVersion || sc.Version == sidecarVersionVersions:
		return nil, fmt.Errorf("%w: key_version %d, min_version %d", errBadSidecar, sc.KeyVersion, sc.MinVersion)
	default:
		return nil, fmt.Errorf("%w: version %d (this keyplane reads %d and %d)", errBadSidecar, sc.Version, sidecarVersion, sidecarVersionVersions)
	}
	id, err := hex.DecodeString(sc.ID)
	if err != nil || len(id) == 0 || sc.ID != stem || sc.KeyFile != stem+keySuffix {
		return nil, fmt.Errorf("%w: id %q and key_file %q do not match the file name", errBadSidecar, sc.ID, sc.KeyFile)
	}
	if err := backend.ValidateLabel(sc.Label); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadSidecar, err)
	}
	alg, err := backend.ParseAlgorithm(sc.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadSidecar, err)
	}
	e := &keyEntry{name: stem, meta: backend.Key{ID: id, Label: sc.Label, Algorithm: alg, Created: sc.Created, Version: sc.KeyVersion}}
	e.min.Store(int64(sc.MinVersion))
	if alg.Asymmetric() {
		block, _ := pem.Decode([]byte(sc.PublicKey))
		if block == nil || block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("%w: no public key", errBadSidecar)
		}
		pub, err := pkcs8.ParsePublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: public key: %v", errBadSidecar, err)
		}
		if a, err := backend.AlgorithmOf(pub); err != nil || a != alg {
			return nil, fmt.Errorf("%w: public key is not %s", errBadSidecar, alg)
		}
		e.meta.Public = pub
	}
	return e, nil
}
