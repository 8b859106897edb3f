package oaep_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/oaep"
)

// fuzzHashes maps a fuzzer's selector to a hash; the last is unavailable.
var fuzzHashes = []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512, 0}

// FuzzDecode checks that Decode never panics, fails only with exactly
// backend.ErrDecryption (or ErrUnsupported for an unavailable hash), and
// agrees with referenceDecode, a plain reading of RFC 8017 §7.1.2 that
// makes no attempt at constant time.
func FuzzDecode(f *testing.F) {
	priv := key2048(f)
	for i, h := range hashes {
		msg := bytes.Repeat([]byte{byte(i)}, 10*i)
		label := []byte("label")[:i]
		ct, err := rsa.EncryptOAEP(h.New(), rand.Reader, &priv.PublicKey, msg, label)
		if err != nil {
			f.Fatal(err)
		}
		em, _ := rawRSA(priv, ct)
		f.Add(uint8(i), uint8(i), label, em, uint16(priv.Size()))
		f.Add(uint8(i), uint8(i), label, bytes.TrimLeft(em, "\x00"), uint16(priv.Size()))
	}
	f.Add(uint8(2), uint8(0), []byte{}, make([]byte, 66), uint16(66))
	f.Add(uint8(5), uint8(2), []byte("x"), []byte{1, 2, 3}, uint16(3))
	f.Add(uint8(4), uint8(4), []byte(nil), []byte{}, uint16(0))

	f.Fuzz(func(t *testing.T, hs, ms uint8, label, em []byte, k16 uint16) {
		h := fuzzHashes[int(hs)%len(fuzzHashes)]
		mh := fuzzHashes[int(ms)%len(fuzzHashes)]
		k := int(k16 % 1100)
		in := bytes.Clone(em)
		got, err := oaep.Decode(h, mh, label, em, k)
		if !bytes.Equal(in, em) {
			t.Fatal("Decode modified its input")
		}
		if h == 0 || mh == 0 {
			if got != nil || err == nil || err == backend.ErrDecryption {
				t.Fatalf("unavailable hash: got %x, %v; want ErrUnsupported", got, err)
			}
			return
		}
		if err != nil && err != backend.ErrDecryption {
			t.Fatalf("error %v is not exactly backend.ErrDecryption", err)
		}
		want, ok := referenceDecode(h, mh, label, em, k)
		if ok != (err == nil) || ok && !bytes.Equal(got, want) {
			t.Fatalf("Decode = %x, %v; the reference decoder says %x, %t", got, err, want, ok)
		}
		if err == nil && len(got) > k-2*h.Size()-2 {
			t.Fatalf("decoded %d bytes from a %d-byte block", len(got), k)
		}
	})
}

// referenceDecode is RFC 8017 §7.1.2 steps 3a–3g as written, with early
// exits: a test oracle only.
func referenceDecode(h, mh crypto.Hash, label, em []byte, k int) ([]byte, bool) {
	hLen := h.Size()
	if k < 2*hLen+2 || len(em) > k {
		return nil, false
	}
	full := make([]byte, k-len(em), k)
	full = append(full, em...)
	if full[0] != 0 {
		return nil, false
	}
	maskedSeed, maskedDB := full[1:1+hLen], full[1+hLen:]
	seed := xor(maskedSeed, referenceMGF1(mh, maskedDB, hLen))
	db := xor(maskedDB, referenceMGF1(mh, seed, k-hLen-1))
	d := h.New()
	d.Write(label)
	if !bytes.Equal(db[:hLen], d.Sum(nil)) {
		return nil, false
	}
	rest := bytes.TrimLeft(db[hLen:], "\x00")
	if len(rest) == 0 || rest[0] != 1 {
		return nil, false
	}
	return rest[1:], true
}

func referenceMGF1(h crypto.Hash, seed []byte, n int) []byte {
	var out []byte
	for c := uint32(0); len(out) < n; c++ {
		d := h.New()
		d.Write(seed)
		d.Write(binary.BigEndian.AppendUint32(nil, c))
		out = d.Sum(out)
	}
	return out[:n]
}

func xor(a, b []byte) []byte {
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] ^ b[i]
	}
	return out
}
