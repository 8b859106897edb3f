package envelope

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/keyplane/keyplane/backend"
)

// Magic starts every envelope: the format's name and a newline, so that
// `head -c 18` says what a file is.
const Magic = "keyplane-envelope\n"

// FormatVersion is the version of the header layout this package writes
// and reads.
const FormatVersion = 1

// BodyAES256GCMHKDF1MB is the body's algorithm: Tink's streaming AEAD
// AES256_GCM_HKDF_1MB (HKDF-SHA256, AES-256-GCM, 1 MiB ciphertext
// segments), keyed with the raw 32-byte data key.
const BodyAES256GCMHKDF1MB = 1

// KEK is how the data key is wrapped under the key-encryption key.
type KEK byte

// The ways a data key is wrapped.
const (
	// KEKAES256GCM: sealed with the backend's AEAD (an aes-256 key), the
	// header before the wrapped key as associated data.
	KEKAES256GCM KEK = 1
	// KEKRSAOAEPSHA256: RSA-OAEP with SHA-256 (MGF1-SHA-256, no label)
	// to the RSA key's public key; opened with the backend's Decrypter.
	KEKRSAOAEPSHA256 KEK = 2
	// KEKDataKey: made and wrapped by the backend itself
	// (backend.DataKeyGenerator: AWS KMS GenerateDataKey), the header
	// before the wrapped key as associated data.
	KEKDataKey KEK = 3
)

func (k KEK) String() string {
	switch k {
	case KEKAES256GCM:
		return "aes-256-gcm"
	case KEKRSAOAEPSHA256:
		return "rsa-oaep-sha256"
	case KEKDataKey:
		return "backend-data-key"
	}
	return fmt.Sprintf("kek(%d)", byte(k))
}

// Limits on header fields: a header that claims more is damaged.
const (
	maxKeyRef     = 1024
	maxWrappedKey = 8192
	macSize       = sha256.Size
	dataKeySize   = 32
)

// Header is an envelope's self-describing header: everything decryption
// needs besides the backend.
//
// On the wire (integers big-endian):
//
//	Magic                     18 bytes "keyplane-envelope\n"
//	format version            1 byte   (1)
//	body algorithm            1 byte   (1: AES256_GCM_HKDF_1MB)
//	KEK                       1 byte   (see KEK)
//	key version               4 bytes  (backend.Key.Version; 0: unversioned)
//	key reference length, key reference (UTF-8, at most 1024 bytes)
//	                          2 bytes + n
//	wrapped data key length, wrapped data key (at most 8192 bytes)
//	                          2 bytes + n
//	header MAC                32 bytes HMAC-SHA256 of all the above, under
//	                          HKDF-SHA256(data key, info "keyplane-envelope v1 header")
//
// The body, Tink's streaming AEAD ciphertext (its own header of 40
// bytes, then 1 MiB segments), follows, with the first 20 bytes of the
// header (Magic, format version, body algorithm) as its associated
// data.
type Header struct {
	KEK KEK
	// KeyRef is the key's reference in its backend (its label, or "id:"
	// and its hex ID when it has none).
	KeyRef string
	// KeyVersion is the version of the key the data key is wrapped
	// under, 0 for a key without versions.
	KeyVersion int
	// WrappedKey is the wrapped data key.
	WrappedKey []byte

	mac []byte
}

// prefixLen is the part of the header that is the body's associated
// data.
const prefixLen = len(Magic) + 2

func bodyAD() []byte {
	return append([]byte(Magic), FormatVersion, BodyAES256GCMHKDF1MB)
}

// wrapAD is the header up to the wrapped key: the associated data of the
// data key's wrapping.
func (h *Header) wrapAD() []byte {
	b := bodyAD()
	b = append(b, byte(h.KEK))
	b = binary.BigEndian.AppendUint32(b, uint32(h.KeyVersion))
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.KeyRef)))
	return append(b, h.KeyRef...)
}

// unsigned is the header without its MAC.
func (h *Header) unsigned() []byte {
	b := h.wrapAD()
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.WrappedKey)))
	return append(b, h.WrappedKey...)
}

func headerMAC(dataKey, unsigned []byte) ([]byte, error) {
	k, err := hkdf.Key(sha256.New, dataKey, nil, "keyplane-envelope v1 header", sha256.Size)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, k)
	m.Write(unsigned)
	return m.Sum(nil), nil
}

// marshal returns the header's bytes, with its MAC under dataKey.
func (h *Header) marshal(dataKey []byte) ([]byte, error) {
	if len(h.KeyRef) > maxKeyRef || len(h.WrappedKey) > maxWrappedKey {
		return nil, fmt.Errorf("envelope: key reference of %d bytes or wrapped key of %d: at most %d and %d: %w", len(h.KeyRef), len(h.WrappedKey), maxKeyRef, maxWrappedKey, backend.ErrInvalidInput)
	}
	if h.KeyVersion < 0 || int64(h.KeyVersion) > 1<<32-1 {
		return nil, fmt.Errorf("envelope: key version %d: %w", h.KeyVersion, backend.ErrInvalidInput)
	}
	u := h.unsigned()
	mac, err := headerMAC(dataKey, u)
	if err != nil {
		return nil, err
	}
	h.mac = mac
	return append(u, mac...), nil
}

// verify checks the header's MAC under dataKey.
func (h *Header) verify(dataKey []byte) error {
	want, err := headerMAC(dataKey, h.unsigned())
	if err != nil || !hmac.Equal(want, h.mac) {
		return errDecryption
	}
	return nil
}

var errDecryption = fmt.Errorf("envelope: %w", backend.ErrDecryption)

// IsEnvelope reports whether prefix (the first bytes of a file, at least
// len(Magic)) starts an envelope.
func IsEnvelope(prefix []byte) bool {
	return bytes.HasPrefix(prefix, []byte(Magic))
}

// ReadHeader reads an envelope's header from r, leaving r at the start of
// the body. It checks the layout, not the MAC (which needs the data key).
// Input that is not an envelope, or a damaged header, is
// backend.ErrDecryption; a read failure is returned as it is.
func ReadHeader(r io.Reader) (*Header, error) {
	fixed := make([]byte, prefixLen+1+4+2)
	if err := readFull(r, fixed); err != nil {
		return nil, err
	}
	if !IsEnvelope(fixed) {
		return nil, fmt.Errorf("envelope: not a keyplane envelope (no %q at the start): %w", Magic[:len(Magic)-1], backend.ErrDecryption)
	}
	if v := fixed[len(Magic)]; v != FormatVersion {
		return nil, fmt.Errorf("envelope: format version %d; this keyplane reads version %d: %w", v, FormatVersion, backend.ErrDecryption)
	}
	if a := fixed[len(Magic)+1]; a != BodyAES256GCMHKDF1MB {
		return nil, fmt.Errorf("envelope: body algorithm %d is not one this keyplane knows: %w", a, backend.ErrDecryption)
	}
	h := &Header{KEK: KEK(fixed[prefixLen])}
	switch h.KEK {
	case KEKAES256GCM, KEKRSAOAEPSHA256, KEKDataKey:
	default:
		return nil, fmt.Errorf("envelope: data key wrapped with %v, which this keyplane does not know: %w", h.KEK, backend.ErrDecryption)
	}
	h.KeyVersion = int(binary.BigEndian.Uint32(fixed[prefixLen+1:]))
	n := int(binary.BigEndian.Uint16(fixed[prefixLen+5:]))
	if n == 0 || n > maxKeyRef {
		return nil, fmt.Errorf("envelope: key reference of %d bytes: %w", n, backend.ErrDecryption)
	}
	ref := make([]byte, n+2)
	if err := readFull(r, ref); err != nil {
		return nil, err
	}
	h.KeyRef = string(ref[:n])
	n = int(binary.BigEndian.Uint16(ref[n:]))
	if n == 0 || n > maxWrappedKey {
		return nil, fmt.Errorf("envelope: wrapped key of %d bytes: %w", n, backend.ErrDecryption)
	}
	rest := make([]byte, n+macSize)
	if err := readFull(r, rest); err != nil {
		return nil, err
	}
	h.WrappedKey, h.mac = rest[:n], rest[n:]
	return h, nil
}

// readFull is io.ReadFull with a short input as ErrDecryption (a
// truncated envelope).
func readFull(r io.Reader, b []byte) error {
	_, err := io.ReadFull(r, b)
	switch err {
	case nil:
		return nil
	case io.EOF, io.ErrUnexpectedEOF:
		return fmt.Errorf("envelope: truncated header: %w", backend.ErrDecryption)
	}
	return fmt.Errorf("envelope: reading the header: %w", err)
}
