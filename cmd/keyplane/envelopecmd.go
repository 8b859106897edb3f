package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/envelope"
)

// copyBufferSize is the size of the reads of encrypt --envelope and
// decrypt (pipeCopy's buffers): one body segment.
const copyBufferSize = envelope.SegmentSize

// encryptEnvelope streams the input into an envelope under ref.
func (c *cli) encryptEnvelope(ctx context.Context, b backend.Backend, ref, in, out string) error {
	r, err := c.openInput(in)
	if err != nil {
		return err
	}
	defer r.Close()
	src := newProgressReader(r, in, c.stderr, "encrypting")
	return c.writeOutputFrom(out, permPublic, func(w io.Writer) error {
		ew, err := envelope.NewWriter(ctx, b, ref, w)
		if err != nil {
			return &fillError{keyError(ref, err)}
		}
		if _, err := pipeCopy(ew, src, copyBufferSize); err != nil {
			return err
		}
		return ew.Close()
	})
}

// readerOnly hides a reader's WriterTo (an *os.File's), so that a copy
// goes through the writer's own buffers.
type readerOnly struct{ io.Reader }

// envelopeInput opens the input and reports whether it is an envelope
// (by its magic), without consuming it.
func (c *cli) envelopeInput(path string) (*bufio.Reader, io.Closer, bool, error) {
	r, err := c.openInput(path)
	if err != nil {
		return nil, nil, false, err
	}
	br := bufio.NewReaderSize(newProgressReader(r, path, c.stderr, "decrypting"), copyBufferSize)
	head, err := br.Peek(len(envelope.Magic))
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		r.Close()
		return nil, nil, false, fmt.Errorf("reading input: %w", pathError(err))
	}
	return br, r, envelope.IsEnvelope(head), nil
}

// decryptEnvelope streams the plaintext of the envelope br to out. With
// ref (--key), the envelope must be under that key: that is checked on
// its header before anything is decrypted.
func (c *cli) decryptEnvelope(ctx context.Context, b backend.Backend, ref string, br *bufio.Reader, out string) error {
	if ref != "" {
		buf, _ := br.Peek(br.Size())
		if h, err := envelope.ReadHeader(bytes.NewReader(buf)); err == nil {
			k, err := b.Key(ctx, ref)
			if err != nil {
				return keyError(ref, err)
			}
			if k.Label != h.KeyRef && "id:"+k.IDHex() != h.KeyRef {
				return fmt.Errorf("the envelope is encrypted under key %q, not --key %q (omit --key to use the key its header names)", h.KeyRef, ref)
			}
		} // else NewReader says what is wrong
	}
	return c.writeOutputFrom(out, permSecret, func(w io.Writer) error {
		pr, err := envelope.NewReader(ctx, b, br)
		if err != nil {
			return &fillError{fmt.Errorf("decrypting the envelope: %w", err)}
		}
		if _, err := pipeCopy(w, pr, copyBufferSize); err != nil {
			if backend.Kind(err) != nil {
				return &fillError{fmt.Errorf("decrypting the envelope: %w", err)}
			}
			return err
		}
		return nil
	})
}
