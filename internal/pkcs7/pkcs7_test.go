package pkcs7

import (
	"bytes"
	"testing"
)

func TestPKCS7(t *testing.T) {
	for n := range 40 {
		msg := bytes.Repeat([]byte{0xaa}, n)
		p := Pad(msg, 16)
		if len(p)%16 != 0 || len(p) <= n || len(p) > n+16 {
			t.Fatalf("Pad(%d) = %d bytes", n, len(p))
		}
		got, ok := Unpad(p, 16)
		if !ok || got != n {
			t.Fatalf("Unpad(Pad(%d)) = %d, %v", n, got, ok)
		}
	}
	block := func(tail ...byte) []byte { return append(bytes.Repeat([]byte{0xaa}, 16-len(tail)), tail...) }
	for name, b := range map[string][]byte{
		"zero":            block(0),
		"17":              block(17),
		"255":             block(255),
		"inconsistent":    block(2, 3),
		"one wrong":       block(4, 4, 5, 4),
		"all 16 but one":  append([]byte{15}, bytes.Repeat([]byte{16}, 15)...),
		"not whole block": make([]byte, 15),
		"empty":           nil,
	} {
		if _, ok := Unpad(b, 16); ok {
			t.Errorf("%s: padding accepted", name)
		}
	}
	if n, ok := Unpad(bytes.Repeat([]byte{16}, 16), 16); !ok || n != 0 {
		t.Errorf("a full padding block: %d, %v", n, ok)
	}
}
