// Package pkcs7 is PKCS#7 padding (RFC 5652, section 6.3), the one copy
// that package fernet (and through it the software backend's Fernet keys),
// package pkcs8 (PBES2 AES-CBC) and the PKCS#11 backend (which checks the
// padding of CKM_AES_CBC output itself: some tokens' CKM_AES_CBC_PAD does
// not) use.
// It imports only the standard library.
package pkcs7

import "crypto/subtle"

// Pad returns a new slice holding msg followed by PKCS#7 padding to a
// multiple of size: n bytes of value n, 1 <= n <= size.
func Pad(msg []byte, size int) []byte {
	n := size - len(msg)%size
	out := make([]byte, len(msg)+n)
	copy(out, msg)
	for i := len(msg); i < len(out); i++ {
		out[i] = byte(n)
	}
	return out
}

// Unpad checks the PKCS#7 padding of buf (a non-empty multiple of size)
// and returns the length of the message before it. It examines the last
// size bytes in the same way whatever their values, so its timing does
// not depend on where the padding is wrong.
func Unpad(buf []byte, size int) (int, bool) {
	if len(buf) == 0 || len(buf)%size != 0 {
		return 0, false
	}
	n := int(buf[len(buf)-1])
	good := subtle.ConstantTimeLessOrEq(1, n) & subtle.ConstantTimeLessOrEq(n, size)
	last := buf[len(buf)-size:]
	for i := range size {
		// Byte i from the end must equal n when i < n.
		inPad := subtle.ConstantTimeLessOrEq(i+1, n)
		eq := subtle.ConstantTimeByteEq(last[size-1-i], byte(n))
		good &= eq | (inPad ^ 1)
	}
	// When good is 0, n may be out of range; return 0 then.
	length := subtle.ConstantTimeSelect(good, len(buf)-n, 0)
	return length, good == 1
}
