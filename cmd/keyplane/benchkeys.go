package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// cleanupTimeout bounds how long bench spends deleting its keys.
const cleanupTimeout = 30 * time.Second

// benchKeyType is the key a bench of op generates when --key is absent.
func benchKeyType(op backend.Operation) backend.Algorithm {
	switch op {
	case backend.ECDSASHA256:
		return backend.ECP256
	case backend.ECDSASHA384:
		return backend.ECP384
	case backend.ECDSASHA512:
		return backend.ECP521
	}
	switch op.Family() {
	case backend.FamilyRSA:
		return backend.RSA2048
	case backend.FamilyEd25519:
		return backend.Ed25519
	case backend.FamilyAES:
		return backend.AES256
	case backend.FamilyFernet:
		return backend.Fernet
	}
	return ""
}

// benchKeys makes the keys a bench needs, one per key type, and deletes
// them at the end.
type benchKeys struct {
	c      *cli
	b      backend.Backend
	prefix string
	made   map[backend.Algorithm]*backend.Key
	tried  []string // labels of every key generation started
}

// keyFor returns the key to measure op with: ref when given, else a
// generated key of op's default type.
func (bk *benchKeys) keyFor(ctx context.Context, op backend.Operation, ref string) (*backend.Key, error) {
	if ref != "" {
		k, err := lookupKey(ctx, bk.b, ref)
		if err != nil {
			return nil, err
		}
		return k, checkApplies(op, k)
	}
	typ := benchKeyType(op)
	if k := bk.made[typ]; k != nil {
		return k, nil
	}
	if bk.prefix == "" {
		var r [4]byte
		rand.Read(r[:])
		bk.prefix = "bench-" + hex.EncodeToString(r[:]) + "-"
		bk.made = map[backend.Algorithm]*backend.Key{}
	}
	label := bk.prefix + string(typ)
	fmt.Fprintf(bk.c.stderr, "bench: generating %s key %q\n", typ, label)
	bk.tried = append(bk.tried, label)
	k, err := bk.b.GenerateKey(ctx, backend.KeySpec{Label: label, Algorithm: typ})
	if err != nil {
		return nil, fmt.Errorf("generating %s key for %s: %w", typ, op, err)
	}
	bk.made[typ] = k
	return k, nil
}

// cleanup deletes every key bench started to make, even when ctx has been
// cancelled (Ctrl-C). Failures are reported on stderr.
func (bk *benchKeys) cleanup(ctx context.Context) {
	if len(bk.tried) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	for _, label := range bk.tried {
		err := bk.b.DeleteKey(ctx, label)
		switch {
		case err == nil:
			fmt.Fprintf(bk.c.stderr, "bench: deleted key %q\n", label)
		case errors.Is(err, backend.ErrNotFound):
		default:
			fmt.Fprintf(bk.c.stderr, "%sbench: could not delete key %q: %v\n", errorPrefix, label, err)
		}
	}
}
