package envelope

import (
	"context"
	"fmt"
	"io"

	"github.com/keyplane/keyplane/backend"
)

// Rewrap copies the envelope src to dst with its data key re-wrapped
// under the current primary version of the key its header names, and
// returns the old and the new header. The body is copied byte for byte:
// it is neither decrypted nor re-encrypted, so rewrapping costs two or
// three backend calls and one pass over the bytes whatever the size.
// The body is not authenticated by Rewrap (decryption does that).
//
// Rewrap is how old envelopes move off a key version about to be
// retired (backend.KeyVersions.SetMinVersion).
func Rewrap(ctx context.Context, b backend.Backend, dst io.Writer, src io.Reader) (old, updated *Header, err error) {
	old, err = ReadHeader(src)
	if err != nil {
		return nil, nil, err
	}
	from, err := recorded(ctx, b, old)
	if err != nil {
		return nil, nil, err
	}
	dk, err := unwrap(ctx, b, from, old)
	if err != nil {
		return nil, nil, err
	}
	defer clear(dk)
	to, err := primary(ctx, b, old.KeyRef)
	if err != nil {
		return nil, nil, err
	}
	updated = &Header{KEK: old.KEK, KeyRef: to.ref, KeyVersion: to.version}
	if updated.KEK == KEKDataKey {
		// The data key exists already: it is sealed with the key's AEAD.
		updated.KEK = KEKAES256GCM
	}
	if err := wrap(ctx, b, to, updated, dk); err != nil {
		return nil, nil, err
	}
	head, err := updated.marshal(dk)
	if err != nil {
		return nil, nil, err
	}
	if _, err := dst.Write(head); err != nil {
		return nil, nil, fmt.Errorf("envelope: writing the header: %w", err)
	}
	// 1 MiB at a time, not through an *os.File's 32 KiB ReadFrom.
	if _, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, make([]byte, SegmentSize)); err != nil {
		return nil, nil, fmt.Errorf("envelope: copying the body: %w", err)
	}
	return old, updated, nil
}
