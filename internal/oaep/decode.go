package oaep

import (
	"crypto"
	"crypto/subtle"
	"encoding/binary"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// Why Decode is constant time in the secret data (EM):
//
//   - Every branch and every memory index depends only on public values: k,
//     len(em), the hash sizes and the label. EM's content decides nothing
//     until the single final branch on good.
//   - MGF1 and the label hash run over lengths fixed by k and the hashes,
//     whatever EM holds; the hashes themselves are crypto/* implementations.
//   - The checks (Y = 0, lHash' = lHash, PS all zeros, a 0x01 separator) are
//     computed with crypto/subtle (ConstantTimeByteEq, ConstantTimeCompare,
//     ConstantTimeSelect) into 0/1 integers and combined with & — no early
//     exit — and the scan for the separator visits every byte of DB.
//   - All failures return the same value, backend.ErrDecryption, so neither
//     the error nor the time says which check failed (Manger's attack needs
//     exactly that: whether Y was zero).
//
// What is revealed is success or failure, and on success the message
// length (through the final copy), which the caller receives anyway. The
// left-padding copy depends on len(em): a token that strips leading zeros
// already hands that length to the host process through the PKCS#11 call,
// whatever Decode does with it.

// Decode returns the message from an OAEP-encoded block em of a k-byte modulus.
// Every failure is backend.ErrDecryption, with no detail.
//
// hash is the OAEP hash (used for the label), mgfHash the hash of MGF1.
// em may be shorter than k (tokens may strip the leading zero bytes of the
// raw RSA result); it is left-padded with zeros to k bytes. An em longer than
// k, or k too small for the hash (k < 2·hLen + 2), is ErrDecryption. A hash
// that is zero or not linked into the program is an error wrapping
// backend.ErrUnsupported: that depends only on the caller's parameters,
// never on em.
//
// Decode does not modify em; the returned slice does not alias it.
func Decode(hash, mgfHash crypto.Hash, label, em []byte, k int) ([]byte, error) {
	if hash == 0 || !hash.Available() {
		return nil, fmt.Errorf("oaep: hash %v is not available: %w", hash, backend.ErrUnsupported)
	}
	if mgfHash == 0 || !mgfHash.Available() {
		return nil, fmt.Errorf("oaep: MGF1 hash %v is not available: %w", mgfHash, backend.ErrUnsupported)
	}
	hLen := hash.Size()
	// k is public (the modulus size). An em longer than k cannot be a raw
	// RSA result under this key, so refusing it early says nothing about a
	// real EM; a shorter em is accepted and padded below.
	if k < 2*hLen+2 || len(em) > k {
		return nil, backend.ErrDecryption
	}

	// Work on our own k-byte copy: left-pad em, and never write to the
	// caller's buffer.
	buf := make([]byte, k)
	copy(buf[k-len(em):], em)

	lHash := hash.New()
	lHash.Write(label)
	wantLHash := lHash.Sum(nil)

	// EM = Y ‖ maskedSeed ‖ maskedDB
	y := buf[0]
	seed := buf[1 : 1+hLen]
	db := buf[1+hLen:]
	mgf1XOR(seed, mgfHash, db) // seed = maskedSeed ⊕ MGF(maskedDB, hLen)
	mgf1XOR(db, mgfHash, seed) // DB = maskedDB ⊕ MGF(seed, k − hLen − 1)

	// DB = lHash' ‖ PS ‖ 0x01 ‖ M, where PS is zero or more 0x00 bytes.
	good := subtle.ConstantTimeByteEq(y, 0)
	good &= subtle.ConstantTimeCompare(db[:hLen], wantLHash)

	// Scan all of PS ‖ 0x01 ‖ M, whatever its content, with no branch on
	// the bytes:
	//   searching: 1 until the first 0x01 is seen,
	//   sep:       the index of that 0x01,
	//   bad:       1 if a byte other than 0x00 came before it.
	rest := db[hLen:]
	searching, sep, bad := 1, 0, 0
	for i, b := range rest {
		is0 := subtle.ConstantTimeByteEq(b, 0)
		is1 := subtle.ConstantTimeByteEq(b, 1)
		sep = subtle.ConstantTimeSelect(searching&is1, i, sep)
		bad = subtle.ConstantTimeSelect(searching&^is1&^is0, 1, bad)
		searching = subtle.ConstantTimeSelect(is1, 0, searching)
	}
	good &= 1 &^ searching // a separator was found
	good &= 1 &^ bad       // and only zeros came before it

	// This branch and the slice below are the only places where the outcome
	// is revealed: one bit (success or not) and, on success, the message
	// length, both of which the caller receives anyway.
	if good != 1 {
		return nil, backend.ErrDecryption
	}
	msg := make([]byte, len(rest)-sep-1)
	copy(msg, rest[sep+1:])
	return msg, nil
}

// mgf1XOR XORs out with MGF1(seed, len(out)) (RFC 8017 §B.2.1) computed
// with hash h. Its running time depends only on len(out), len(seed) and h.
func mgf1XOR(out []byte, h crypto.Hash, seed []byte) {
	d := h.New()
	var counter [4]byte
	var sum []byte
	for done, c := 0, uint32(0); done < len(out); c++ {
		binary.BigEndian.PutUint32(counter[:], c)
		d.Reset()
		d.Write(seed)
		d.Write(counter[:])
		sum = d.Sum(sum[:0])
		done += subtle.XORBytes(out[done:], out[done:], sum)
	}
}
