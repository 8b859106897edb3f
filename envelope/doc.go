// Package envelope encrypts data of any size under a key held by any
// keyplane backend: a fresh 256-bit data key per message, wrapped under
// the backend's key-encryption key, and the body streamed in segments
// with Tink's streaming AEAD (AES256_GCM_HKDF_1MB, from
// github.com/tink-crypto/tink-go/v2), in constant memory.
//
//	w, err := envelope.NewWriter(ctx, b, "archive", out) // header written now
//	io.Copy(w, in)
//	err = w.Close()                                       // the last segment
//
//	r, err := envelope.NewReader(ctx, b, in) // the header names the key
//	io.Copy(out, r)                          // io.EOF only after the whole message is authenticated
//
// The key-encryption key is an aes-256 key — the data key made by the
// backend when it implements backend.DataKeyGenerator (AWS KMS
// GenerateDataKey, one request), otherwise made here and sealed with the
// backend's AEAD (AES-GCM in a token) — or an RSA key (RSA-OAEP-SHA256 to
// its public key, opened with the backend's Decrypter). Either way a
// message costs one or two backend calls to write and to read, whatever
// its size.
//
// The header is self-describing (see Header): format version, body
// algorithm, how the data key is wrapped, the key's reference and
// version, the wrapped data key, and an HMAC-SHA256 over all of it under
// a key derived from the data key. Decryption needs only the backend and
// the ciphertext. With backend.KeyVersions the header records the
// primary version at encryption, and decryption uses that version's own
// URI, so files written before a rotation open after it; Rewrap moves a
// file onto the current primary version without touching its body.
//
// The format is written down in docs/envelope.md.
//
// # Concurrency
//
// Writers and readers are not safe for concurrent use; each message has
// its own. Any number of them may run at once on one backend.
//
// # Security
//
// The body is Tink's streaming AEAD, unchanged: every 1 MiB segment is
// authenticated with its position and whether it is the last, so
// reordered, dropped, repeated or appended segments and truncation (even
// at a segment boundary) are detected. A reader hands out a segment's
// plaintext only after authenticating it, and returns io.EOF only after
// the last segment: a consumer must not act on the plaintext before
// io.EOF (keyplane decrypt writes to a temporary file and renames it
// only then). The header's fields are bound by the wrapping's associated
// data (AEAD, KMS encryption context) and by the header MAC (which also
// covers RSA-OAEP, which has none); any change to the header is
// backend.ErrDecryption. The data key is cleared from memory once the
// cipher is set up (Tink keeps its own copy in the cipher). Errors name
// the key, never key bytes.
//
// # Limitations
//
//   - Keys: aes-256 or RSA; EC and Ed25519 keys do not wrap data keys
//     (ErrUnsupported).
//   - A message has at most 2^32-1 segments (about 4 PiB).
//   - Rewrap does not authenticate the body; decrypting does.
//   - An envelope whose data key AWS KMS made (KEKDataKey) opens only
//     through a backend that implements backend.DataKeyGenerator, that
//     is awskms in process (the plugin protocol does not carry it yet).
package envelope
