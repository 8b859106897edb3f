package wycheproof

import (
	"crypto"
	_ "crypto/sha1" // hashes named by the vector files
	_ "crypto/sha256"
	_ "crypto/sha512"
)

// hashByName maps a vector file's hash name to a crypto.Hash; 0 when Go
// has none by that name (SHAKE128, SHAKE256).
func hashByName(name string) crypto.Hash {
	switch name {
	case "SHA-1":
		return crypto.SHA1
	case "SHA-224":
		return crypto.SHA224
	case "SHA-256":
		return crypto.SHA256
	case "SHA-384":
		return crypto.SHA384
	case "SHA-512":
		return crypto.SHA512
	case "SHA-512/224":
		return crypto.SHA512_224
	case "SHA-512/256":
		return crypto.SHA512_256
	case "SHA3-224":
		return crypto.SHA3_224
	case "SHA3-256":
		return crypto.SHA3_256
	case "SHA3-384":
		return crypto.SHA3_384
	case "SHA3-512":
		return crypto.SHA3_512
	}
	return 0
}

// keyplaneHash reports whether keyplane offers h for OAEP and signatures
// (backend.ParseDecrypterOpts and backend.ParseSignerOpts accept exactly
// these).
func keyplaneHash(h crypto.Hash) bool {
	switch h {
	case crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512:
		return true
	}
	return false
}
