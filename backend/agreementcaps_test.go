package backend

import "testing"

func TestSupportsKeyAgreement(t *testing.T) {
	all := []Algorithm{RSA2048, ECP256, ECP384, X25519, Ed25519}
	tests := []struct {
		name    string
		algs    []Algorithm
		ops     []Operation
		details map[string]string
		want    map[Algorithm]bool
	}{
		{"nothing said: none", all, []Operation{ECDSASHA256}, nil,
			map[Algorithm]bool{}},
		{"operations: every key of their family", all, []Operation{"ecdh", "x25519"}, nil,
			map[Algorithm]bool{ECP256: true, ECP384: true, X25519: true}},
		{"operations: ecdh alone", all, []Operation{"ecdh"}, nil,
			map[Algorithm]bool{ECP256: true, ECP384: true}},
		{"detail lists some, whatever the operations", all, []Operation{"ecdh", "x25519"}, map[string]string{DetailKeyAgreement: "ec-p384, x25519"},
			map[Algorithm]bool{ECP384: true, X25519: true}},
		{"detail lists some, no operations", all, nil, map[string]string{DetailKeyAgreement: "ec-p384"},
			map[Algorithm]bool{ECP384: true}},
		{"detail says none", all, []Operation{"ecdh"}, map[string]string{DetailKeyAgreement: "none (the token lists no CKM_ECDH1_DERIVE)"},
			map[Algorithm]bool{}},
		{"listed but not an algorithm of the backend", []Algorithm{ECP256}, nil, map[string]string{DetailKeyAgreement: "ec-p256, x25519"},
			map[Algorithm]bool{ECP256: true}},
		{"signing algorithms never", all, []Operation{"ecdh"}, map[string]string{DetailKeyAgreement: "ed25519, rsa-2048"},
			map[Algorithm]bool{}},
	}
	for _, tt := range tests {
		c := &Capabilities{Algorithms: tt.algs, Operations: tt.ops, Details: tt.details}
		for _, a := range all {
			if got := c.SupportsKeyAgreement(a); got != tt.want[a] {
				t.Errorf("%s: SupportsKeyAgreement(%s) = %v, want %v", tt.name, a, got, tt.want[a])
			}
		}
	}
}
