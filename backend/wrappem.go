package backend

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// WrappedKeyPEMType is the PEM block type of a wrapped key file.
const WrappedKeyPEMType = "KEYPLANE WRAPPED KEY"

// MaxWrappedKeyPEM bounds what ParseWrappedKeyPEM reads: a wrapped
// 16,384-bit RSA key with its public key takes about 8 KB.
const MaxWrappedKeyPEM = 64 << 10

// MarshalWrappedKeyPEM encodes w as the wrapped key file that keyplane
// wrap writes and keyplane unwrap reads: a "KEYPLANE WRAPPED KEY" PEM
// block whose headers say the mechanism, algorithm, label (quoted), ID
// (hex) and attributes, and whose body is the ciphertext; then, for a
// private key, its public key as a "PUBLIC KEY" block (SPKI).
//
//	-----BEGIN KEYPLANE WRAPPED KEY-----
//	Mechanism: aes-key-wrap-pad
//	Algorithm: ec-p256
//	Label: "release"
//	ID: 8daaf412884ce20c775dcccad484cace
//	Attributes: CKA_DECRYPT=false,CKA_EXTRACTABLE=true,CKA_SIGN=true,...
//
//	…base64 of the ciphertext…
//	-----END KEYPLANE WRAPPED KEY-----
//	-----BEGIN PUBLIC KEY-----
//	…
func MarshalWrappedKeyPEM(w *WrappedKey) ([]byte, error) {
	if w == nil || len(w.Ciphertext) == 0 {
		return nil, fmt.Errorf("wrapped key: no ciphertext: %w", ErrInvalidInput)
	}
	h := map[string]string{
		"Mechanism": string(w.Mechanism),
		"Algorithm": string(w.Algorithm),
		"Label":     strconv.Quote(w.Label),
	}
	if len(w.ID) > 0 {
		h["ID"] = hex.EncodeToString(w.ID)
	}
	if len(w.Attributes) > 0 {
		var as []string
		for n, v := range w.Attributes {
			as = append(as, n+"="+strconv.FormatBool(v))
		}
		slices.Sort(as)
		h["Attributes"] = strings.Join(as, ",")
	}
	var out bytes.Buffer
	if err := pem.Encode(&out, &pem.Block{Type: WrappedKeyPEMType, Headers: h, Bytes: w.Ciphertext}); err != nil {
		return nil, fmt.Errorf("wrapped key: %v: %w", err, ErrInvalidInput)
	}
	if w.Public != nil {
		der, err := x509.MarshalPKIXPublicKey(w.Public)
		if err != nil {
			return nil, fmt.Errorf("wrapped key: public key: %v: %w", err, ErrInvalidInput)
		}
		_ = pem.Encode(&out, &pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	return out.Bytes(), nil
}

// ParseWrappedKeyPEM reads what MarshalWrappedKeyPEM writes. It refuses,
// with ErrInvalidInput naming what is wrong, anything else: unknown or
// empty headers, a public key that is not the algorithm's (or one missing
// for a private key, present for a secret key), other blocks, text around
// them. A mechanism or algorithm name this keyplane does not know (a file
// from a newer one) is ErrUnsupported, as ParseWrapMechanism and
// ParseAlgorithm answer.
func ParseWrappedKeyPEM(data []byte) (*WrappedKey, error) {
	if len(data) > MaxWrappedKeyPEM {
		return nil, fmt.Errorf("wrapped key file of %d bytes (at most %d): %w", len(data), MaxWrappedKeyPEM, ErrInvalidInput)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != WrappedKeyPEMType {
		return nil, fmt.Errorf("not a wrapped key file (no %q PEM block at its start): %w", WrappedKeyPEMType, ErrInvalidInput)
	}
	if !bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("-----BEGIN "+WrappedKeyPEMType+"-----")) {
		return nil, fmt.Errorf("wrapped key file: text before the %q block: %w", WrappedKeyPEMType, ErrInvalidInput)
	}
	w := &WrappedKey{Ciphertext: block.Bytes}
	var err error
	for k, v := range block.Headers {
		if v == "" {
			return nil, fmt.Errorf("wrapped key file: empty %s header: %w", k, ErrInvalidInput)
		}
		switch k {
		case "Mechanism":
			if w.Mechanism, err = ParseWrapMechanism(v); err != nil {
				return nil, fmt.Errorf("wrapped key file: %w", err)
			}
		case "Algorithm":
			if w.Algorithm, err = ParseAlgorithm(v); err != nil {
				return nil, fmt.Errorf("wrapped key file: %w", err)
			}
		case "Label":
			if w.Label, err = strconv.Unquote(v); err != nil {
				return nil, fmt.Errorf("wrapped key file: Label %s is not a quoted string: %w", v, ErrInvalidInput)
			}
		case "ID":
			if w.ID, err = hex.DecodeString(v); err != nil || len(w.ID) == 0 {
				return nil, fmt.Errorf("wrapped key file: ID %q is not hex: %w", v, ErrInvalidInput)
			}
		case "Attributes":
			w.Attributes = map[string]bool{}
			for _, a := range strings.Split(v, ",") {
				n, val, ok := strings.Cut(a, "=")
				b, berr := strconv.ParseBool(val)
				if !ok || berr != nil || !strings.HasPrefix(n, "CKA_") {
					return nil, fmt.Errorf("wrapped key file: attribute %q (want CKA_NAME=true or false): %w", a, ErrInvalidInput)
				}
				w.Attributes[n] = b
			}
		default:
			return nil, fmt.Errorf("wrapped key file: unknown header %q: %w", k, ErrInvalidInput)
		}
	}
	if w.Mechanism == "" || w.Algorithm == "" || w.Label == "" || len(w.Ciphertext) == 0 {
		return nil, fmt.Errorf("wrapped key file: Mechanism, Algorithm, Label and a ciphertext are required: %w", ErrInvalidInput)
	}
	if err := ValidateLabel(w.Label); err != nil {
		return nil, fmt.Errorf("wrapped key file: %w", err)
	}
	if pub, rest2 := pem.Decode(rest); pub != nil {
		if pub.Type != "PUBLIC KEY" || len(pub.Headers) > 0 {
			return nil, fmt.Errorf("wrapped key file: a %q block after the wrapped key (want PUBLIC KEY): %w", pub.Type, ErrInvalidInput)
		}
		if w.Public, err = x509.ParsePKIXPublicKey(pub.Bytes); err != nil {
			return nil, fmt.Errorf("wrapped key file: public key: %v: %w", err, ErrInvalidInput)
		}
		rest = rest2
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("wrapped key file: text after its blocks: %w", ErrInvalidInput)
	}
	switch {
	case w.Algorithm.Asymmetric():
		alg, err := AlgorithmOf(w.Public)
		if err != nil {
			return nil, fmt.Errorf("wrapped key file: a %s key needs its PUBLIC KEY block: %w", w.Algorithm, ErrInvalidInput)
		}
		if alg != w.Algorithm {
			return nil, fmt.Errorf("wrapped key file: a %s key with a %s public key: %w", w.Algorithm, alg, ErrInvalidInput)
		}
	case w.Public != nil:
		return nil, fmt.Errorf("wrapped key file: a %s key with a public key: %w", w.Algorithm, ErrInvalidInput)
	}
	return w, nil
}
