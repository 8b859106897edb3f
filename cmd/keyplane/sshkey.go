package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/keyplane/keyplane/backend"
)

// sshAuthorizedKey returns pub in the one-line OpenSSH authorized_keys
// form ("ecdsa-sha2-nistp256 AAAA... comment"), with the public key blob of
// RFC 4253 section 6.6 (RSA), RFC 5656 section 3.1 (ECDSA) and RFC 8709
// section 4 (Ed25519).
func sshAuthorizedKey(pub any, comment string) (string, error) {
	var typ string
	var blob []byte
	switch k := pub.(type) {
	case *rsa.PublicKey:
		typ = "ssh-rsa"
		blob = sshString(blob, []byte(typ))
		blob = sshMPInt(blob, big.NewInt(int64(k.E)))
		blob = sshMPInt(blob, k.N)
	case *ecdsa.PublicKey:
		var curve string
		switch k.Curve {
		case elliptic.P256():
			curve = "nistp256"
		case elliptic.P384():
			curve = "nistp384"
		case elliptic.P521():
			curve = "nistp521"
		default:
			return "", fmt.Errorf("SSH has no name for curve %s: %w", k.Curve.Params().Name, backend.ErrUnsupported)
		}
		ek, err := k.ECDH()
		if err != nil {
			return "", fmt.Errorf("encoding the EC public key: %w", backend.ErrInvalidInput)
		}
		typ = "ecdsa-sha2-" + curve
		blob = sshString(blob, []byte(typ))
		blob = sshString(blob, []byte(curve))
		blob = sshString(blob, ek.Bytes()) // uncompressed point, SEC 1 section 2.3.3
	case ed25519.PublicKey:
		typ = "ssh-ed25519"
		blob = sshString(blob, []byte(typ))
		blob = sshString(blob, k)
	default:
		return "", fmt.Errorf("no SSH form for public key %T: %w", pub, backend.ErrUnsupported)
	}
	line := typ + " " + base64.StdEncoding.EncodeToString(blob)
	if comment != "" {
		line += " " + comment
	}
	return line, nil
}

// sshString appends an RFC 4251 string: a uint32 length, then the bytes.
func sshString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// sshMPInt appends an RFC 4251 mpint of a non-negative integer: big-endian,
// with a leading zero byte when the top bit is set; zero is empty.
func sshMPInt(b []byte, n *big.Int) []byte {
	v := n.Bytes()
	if len(v) > 0 && v[0]&0x80 != 0 {
		v = append([]byte{0}, v...)
	}
	return sshString(b, v)
}
