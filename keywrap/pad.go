package keywrap

import (
	"crypto/aes"
	"encoding/binary"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// aivPrefix is the high half of RFC 5649's alternative initial value.
const aivPrefix = 0xA65959A6

// errUnwrap is every failure of UnwrapPad: deliberately one, like
// backend.ErrDecryption, which it wraps.
var errUnwrap = fmt.Errorf("keywrap: the wrapped key does not unwrap under this key: %w", backend.ErrDecryption)

// WrapPad wraps plaintext (1 byte to 2^32-1 bytes) under kek (16, 24 or
// 32 bytes) with AES key wrap with padding, RFC 5649; the result is
// 8 bytes longer than plaintext padded to a multiple of 8.
func WrapPad(kek, plaintext []byte) ([]byte, error) {
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("keywrap: key-encryption key of %d bytes: %w", len(kek), backend.ErrInvalidInput)
	}
	if len(plaintext) == 0 || uint64(len(plaintext)) > 0xFFFFFFFF {
		return nil, fmt.Errorf("keywrap: %d bytes to wrap (1 to 2^32-1): %w", len(plaintext), backend.ErrInvalidInput)
	}
	n := (len(plaintext) + 7) / 8
	out := make([]byte, 8+8*n)
	binary.BigEndian.PutUint32(out[:4], aivPrefix)
	binary.BigEndian.PutUint32(out[4:8], uint32(len(plaintext)))
	copy(out[8:], plaintext)
	if n == 1 {
		block.Encrypt(out, out)
		return out, nil
	}
	var b [16]byte
	for j := 0; j < 6; j++ {
		for i := 1; i <= n; i++ {
			copy(b[:8], out[:8])
			copy(b[8:], out[8*i:8*i+8])
			block.Encrypt(b[:], b[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(out[:8], binary.BigEndian.Uint64(b[:8])^t)
			copy(out[8*i:], b[8:])
		}
	}
	clear(b[:])
	return out, nil
}

// UnwrapPad reverses WrapPad. Every failure — a wrong key, a damaged or
// truncated ciphertext — is the same error, wrapping backend.ErrDecryption.
func UnwrapPad(kek, wrapped []byte) ([]byte, error) {
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("keywrap: key-encryption key of %d bytes: %w", len(kek), backend.ErrInvalidInput)
	}
	if len(wrapped) < 16 || len(wrapped)%8 != 0 {
		return nil, errUnwrap
	}
	n := len(wrapped)/8 - 1
	buf := make([]byte, len(wrapped))
	copy(buf, wrapped)
	if n == 1 {
		block.Decrypt(buf, buf)
	} else {
		var b [16]byte
		for j := 5; j >= 0; j-- {
			for i := n; i >= 1; i-- {
				t := uint64(n*j + i)
				binary.BigEndian.PutUint64(b[:8], binary.BigEndian.Uint64(buf[:8])^t)
				copy(b[8:], buf[8*i:8*i+8])
				block.Decrypt(b[:], b[:])
				copy(buf[:8], b[:8])
				copy(buf[8*i:], b[8:])
			}
		}
		clear(b[:])
	}
	mli := int(binary.BigEndian.Uint32(buf[4:8]))
	if binary.BigEndian.Uint32(buf[:4]) != aivPrefix || mli <= 8*(n-1) || mli > 8*n {
		clear(buf)
		return nil, errUnwrap
	}
	pad := buf[8+mli:]
	var nz byte
	for _, c := range pad {
		nz |= c
	}
	if nz != 0 {
		clear(buf)
		return nil, errUnwrap
	}
	out := make([]byte, mli)
	copy(out, buf[8:8+mli])
	clear(buf)
	return out, nil
}
