package observe

//lint:file-ignore SA1019 rsa-pkcs1v15 decryption is an operation keyplane offers for data that already exists (docs/decisions.md); its options must be named

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"strings"

	"github.com/keyplane/keyplane/backend"
)

// Methods: the value of the method attribute, and of the operation
// attribute where no keyplane operation name can be derived.
const (
	methodGenerateKey = "generate-key"
	methodKey         = "key"
	methodKeys        = "keys"
	methodDeleteKey   = "delete-key"
	methodImportKey   = "import-key"
	methodExportKey   = "export-key"
	methodSigner      = "signer"
	methodDecrypter   = "decrypter"
	methodAEAD        = "aead"
	methodFernet      = "fernet"
	methodSign        = "sign"
	methodDecrypt     = "decrypt"
	methodSeal        = "seal"
	methodOpen        = "open"
	methodMAC         = "mac"
	methodEncryptCBC  = "encrypt-cbc"
	methodDecryptCBC  = "decrypt-cbc"
)

// hashNames are the hashes keyplane operation names spell.
var hashNames = map[crypto.Hash]string{
	crypto.SHA1: "sha1", crypto.SHA256: "sha256", crypto.SHA384: "sha384", crypto.SHA512: "sha512",
}

// known returns name when it is a keyplane operation, else fallback.
func known(name, fallback string) string {
	if _, err := backend.ParseOperation(name); err == nil {
		return name
	}
	return fallback
}

// signOperation names a signature: "ecdsa-sha256", "rsa-pss-sha384",
// "ed25519"…, or "sign" for a request no operation name describes (a
// SHA-224 digest, options of another type).
func signOperation(pub crypto.PublicKey, opts crypto.SignerOpts) string {
	switch o := opts.(type) {
	case *rsa.PSSOptions:
		return known("rsa-pss-"+hashNames[o.Hash], methodSign)
	case *ed25519.Options:
		if o.Hash == 0 && o.Context == "" {
			return string(backend.PureEd25519)
		}
	case crypto.Hash:
		switch pub.(type) {
		case *rsa.PublicKey:
			return known("rsa-pkcs1v15-"+hashNames[o], methodSign)
		case *ecdsa.PublicKey:
			return known("ecdsa-"+hashNames[o], methodSign)
		case ed25519.PublicKey:
			if o == 0 {
				return string(backend.PureEd25519)
			}
		}
	}
	return methodSign
}

// decryptOperation names a decryption: "rsa-oaep-sha256", "rsa-pkcs1v15",
// or "decrypt".
func decryptOperation(opts crypto.DecrypterOpts) string {
	switch o := opts.(type) {
	case nil, *rsa.PKCS1v15DecryptOptions:
		return string(backend.RSAPKCS1v15)
	case *rsa.OAEPOptions:
		if o.MGFHash != 0 && o.MGFHash != o.Hash {
			return methodDecrypt
		}
		return known("rsa-oaep-"+strings.ToLower(hashNames[o.Hash]), methodDecrypt)
	}
	return methodDecrypt
}
