package envelope

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tink-crypto/tink-go/v2/streamingaead/subtle"

	"github.com/keyplane/keyplane/backend"
)

// Tink's AES256_GCM_HKDF_1MB parameters (streamingaead.AES256GCMHKDF1MBKeyTemplate).
const (
	tinkHKDFHash       = "SHA256"
	tinkDerivedKeySize = 32
	// SegmentSize is the size of a ciphertext segment of the body.
	SegmentSize = 1 << 20
	// tinkHeaderSize is the size of the body's own header: a length
	// byte, the 32-byte salt, the 7-byte nonce prefix.
	tinkHeaderSize = 1 + tinkDerivedKeySize + subtle.AESGCMHKDFNoncePrefixSizeInBytes
	// tagSize is the GCM tag at the end of every segment.
	tagSize = subtle.AESGCMHKDFTagSizeInBytes
)

// Segment boundaries in plaintext bytes: the first segment holds
// FirstSegmentPlaintext bytes (the body's header shares its 1 MiB), the
// others SegmentPlaintext.
const (
	SegmentPlaintext      = SegmentSize - tagSize
	FirstSegmentPlaintext = SegmentPlaintext - tinkHeaderSize
)

func bodyCipher(dataKey []byte) (*subtle.AESGCMHKDF, error) {
	return subtle.NewAESGCMHKDF(dataKey, tinkHKDFHash, tinkDerivedKeySize, SegmentSize, 0)
}

// NewWriter returns a writer that encrypts what is written to it into an
// envelope on w: a data key made for this message, wrapped under the key
// ref names (its primary version), and the body in Tink's streaming AEAD.
// The header is written at once. Close must be called to write the last
// segment; it does not close w.
//
// The key may be an aes-256 key (the data key is made by the backend
// when it offers backend.DataKeyGenerator, as AWS KMS does, and wrapped
// with the backend's AEAD otherwise) or an RSA key (RSA-OAEP-SHA256 to
// its public key). The backend is called once or twice, whatever the
// size of the message.
func NewWriter(ctx context.Context, b backend.Backend, ref string, w io.Writer) (io.WriteCloser, error) {
	t, err := primary(ctx, b, ref)
	if err != nil {
		return nil, err
	}
	h := &Header{}
	dk, err := newDataKey(ctx, b, t, h)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	head, err := h.marshal(dk)
	if err != nil {
		return nil, err
	}
	c, err := bodyCipher(dk)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if _, err := w.Write(head); err != nil {
		return nil, fmt.Errorf("envelope: writing the header: %w", err)
	}
	bw, err := c.NewEncryptingWriter(w, bodyAD())
	if err != nil {
		return nil, fmt.Errorf("envelope: starting the body: %w", err)
	}
	return bw, nil
}

// NewReader reads an envelope's header from r, unwraps its data key with
// the key (and version) the header names, and returns a reader of the
// plaintext. The header is checked before NewReader returns; each
// segment is authenticated before its plaintext is handed out, and the
// end of the stream is authenticated too, so a reader that reaches
// io.EOF has read the whole message as it was written.
//
// A damaged or truncated envelope, segments reordered, cut or appended
// to, a wrong key: every failure to decrypt is backend.ErrDecryption
// (a header naming a key the backend does not have is ErrDecryption
// and ErrNotFound). A failure to read r is returned as it is.
func NewReader(ctx context.Context, b backend.Backend, r io.Reader) (io.Reader, error) {
	src := &sourceReader{r: r}
	h, err := ReadHeader(src)
	if err != nil {
		return nil, err
	}
	t, err := recorded(ctx, b, h)
	if err != nil {
		return nil, err
	}
	dk, err := unwrap(ctx, b, t, h)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	c, err := bodyCipher(dk)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	br, err := c.NewDecryptingReader(src, bodyAD())
	if err != nil {
		return nil, src.classify(err)
	}
	return &bodyReader{r: br, src: src}, nil
}

// sourceReader remembers the last error of the ciphertext's reader, to
// tell a failure to read from a failure to decrypt.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// classify turns an error of Tink's reader into a read error or
// ErrDecryption.
func (s *sourceReader) classify(err error) error {
	if s.err != nil && errors.Is(err, s.err) {
		return fmt.Errorf("envelope: reading the ciphertext: %w", err)
	}
	return errDecryption
}

type bodyReader struct {
	r   io.Reader
	src *sourceReader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = b.src.classify(err)
		return n, b.err
	}
	return n, err
}
