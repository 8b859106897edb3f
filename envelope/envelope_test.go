package envelope_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/envelope"
)

func seal(t testing.TB, b backend.Backend, ref string, pt []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := envelope.NewWriter(t.Context(), b, ref, &buf)
	if err != nil {
		t.Fatalf("NewWriter(%q): %v", ref, err)
	}
	// Several writes of odd sizes, to cross segment boundaries inside a write.
	for rest := pt; len(rest) > 0; {
		n := min(len(rest), 300_007)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatalf("Write: %v", err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

func open(t testing.TB, b backend.Backend, ct []byte) ([]byte, error) {
	t.Helper()
	r, err := envelope.NewReader(t.Context(), b, bytes.NewReader(ct))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// Sizes around the segment boundaries of the body.
var sizes = []int{
	0, 1,
	envelope.FirstSegmentPlaintext - 1, envelope.FirstSegmentPlaintext, envelope.FirstSegmentPlaintext + 1,
	envelope.FirstSegmentPlaintext + envelope.SegmentPlaintext - 1,
	envelope.FirstSegmentPlaintext + envelope.SegmentPlaintext,
	envelope.FirstSegmentPlaintext + envelope.SegmentPlaintext + 1,
}

// TestRoundTrip: what NewWriter wrote, NewReader reads back, at 0 and 1
// bytes and at the segment boundaries ±1, under an aes-256 and an RSA key,
// on every backend; the header says which key, version and KEK.
func TestRoundTrip(t *testing.T) {
	for _, name := range backendNames {
		t.Run(name, func(t *testing.T) {
			tb := openBackend(t, name)
			for _, alg := range []backend.Algorithm{backend.AES256, backend.RSA2048} {
				ref := tb.keys[alg]
				for _, n := range sizes {
					t.Run(fmt.Sprintf("%s/%d", alg, n), func(t *testing.T) {
						pt := randomBytes(n)
						ct := seal(t, tb.b, ref, pt)
						got, err := open(t, tb.b, ct)
						if err != nil {
							t.Fatalf("decrypting %d bytes: %v", n, err)
						}
						if !bytes.Equal(got, pt) {
							t.Fatalf("decrypted %d bytes, other than the %d encrypted", len(got), n)
						}
						h, err := envelope.ReadHeader(bytes.NewReader(ct))
						if err != nil {
							t.Fatal(err)
						}
						if h.KeyRef != ref {
							t.Errorf("header names key %q, want %q", h.KeyRef, ref)
						}
						if want := wantKEK(name, alg); h.KEK != want {
							t.Errorf("header KEK %v, want %v", h.KEK, want)
						}
					})
				}
			}
		})
	}
}

func wantKEK(backendName string, alg backend.Algorithm) envelope.KEK {
	switch {
	case alg != backend.AES256:
		return envelope.KEKRSAOAEPSHA256
	case backendName == "awskms":
		return envelope.KEKDataKey
	}
	return envelope.KEKAES256GCM
}

// segmentsOf splits an envelope into its header (keyplane's and Tink's)
// and its ciphertext segments.
func segmentsOf(t *testing.T, ct []byte) (head []byte, segs [][]byte) {
	t.Helper()
	r := bytes.NewReader(ct)
	if _, err := envelope.ReadHeader(r); err != nil {
		t.Fatal(err)
	}
	hlen := len(ct) - r.Len()
	const tinkHeader = 40
	head, body := ct[:hlen+tinkHeader], ct[hlen+tinkHeader:]
	first := envelope.SegmentSize - tinkHeader
	for len(body) > 0 {
		n := min(len(body), first)
		segs = append(segs, body[:n])
		body, first = body[n:], envelope.SegmentSize
	}
	return head, segs
}

func join(head []byte, segs ...[]byte) []byte {
	return bytes.Join(append([][]byte{head}, segs...), nil)
}

func flipAt(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}

// TestTampering: a cut, reordered, extended or altered envelope, or one
// whose header was altered anywhere, is refused with ErrDecryption, on
// every backend and KEK.
func TestTampering(t *testing.T) {
	for _, name := range backendNames {
		t.Run(name, func(t *testing.T) {
			tb := openBackend(t, name)
			for _, alg := range []backend.Algorithm{backend.AES256, backend.RSA2048} {
				t.Run(string(alg), func(t *testing.T) {
					checkTampering(t, tb, tb.keys[alg])
				})
			}
		})
	}
}

func checkTampering(t *testing.T, tb *testBackend, ref string) {
	pt := randomBytes(envelope.FirstSegmentPlaintext + 2*envelope.SegmentPlaintext + 1000)
	ct := seal(t, tb.b, ref, pt)
	head, segs := segmentsOf(t, ct)
	if len(segs) != 4 {
		t.Fatalf("%d segments, want 4", len(segs))
	}
	other := seal(t, tb.b, ref, pt)
	otherHead, _ := segmentsOf(t, other)
	r := bytes.NewReader(ct)
	if _, err := envelope.ReadHeader(r); err != nil {
		t.Fatal(err)
	}
	hlen := len(ct) - r.Len()

	cases := map[string][]byte{
		"empty":                           nil,
		"magic only":                      []byte(envelope.Magic),
		"header only":                     ct[:hlen],
		"cut inside the header":           ct[:hlen-1],
		"headers only":                    head,
		"last segment dropped":            join(head, segs[:3]...),
		"cut at a segment boundary":       join(head, segs[:2]...),
		"last byte dropped":               ct[:len(ct)-1],
		"cut inside a segment":            ct[:len(head)+len(segs[0])+100],
		"segments 2 and 3 swapped":        join(head, segs[0], segs[2], segs[1], segs[3]),
		"segment 2 repeated":              join(head, segs[0], segs[1], segs[1], segs[3]),
		"a byte appended":                 append(bytes.Clone(ct), 0),
		"a segment appended":              join(head, append(segs, segs[1])...),
		"body byte flipped":               flipAt(ct, len(head)+len(segs[0])+5),
		"tag of the last segment flipped": flipAt(ct, len(ct)-1),
		"Tink header flipped":             flipAt(ct, hlen+3),
		"another envelope's headers":      join(otherHead, segs...),
	}
	for i := range hlen {
		cases[fmt.Sprintf("header byte %d flipped", i)] = flipAt(ct, i)
	}
	// The key version field, set to each neighbouring value.
	verAt := len(envelope.Magic) + 3
	for _, v := range []uint32{0, 1, 2} {
		c := bytes.Clone(ct)
		if binary.BigEndian.Uint32(c[verAt:]) == v {
			continue
		}
		binary.BigEndian.PutUint32(c[verAt:], v)
		cases[fmt.Sprintf("key version set to %d", v)] = c
	}
	for what, c := range cases {
		got, err := open(t, tb.b, c)
		if !errors.Is(err, backend.ErrDecryption) {
			t.Errorf("%s: %d bytes decrypted, error %v; want ErrDecryption", what, len(got), err)
		}
	}
}

// TestNotAnEnvelope: other input is refused with a message saying so.
func TestNotAnEnvelope(t *testing.T) {
	tb := openBackend(t, "software")
	_, err := envelope.NewReader(t.Context(), tb.b, bytes.NewReader([]byte("age-encryption.org/v1\n-> X25519 ...")))
	if !errors.Is(err, backend.ErrDecryption) || !bytes.Contains([]byte(err.Error()), []byte("not a keyplane envelope")) {
		t.Errorf("NewReader of an age file: %v, want ErrDecryption saying it is not an envelope", err)
	}
	if envelope.IsEnvelope([]byte("keyplane-envelopf\n")) || !envelope.IsEnvelope([]byte(envelope.Magic+"x")) {
		t.Error("IsEnvelope does not follow the magic")
	}
}

// TestReadError: a failure to read the ciphertext is that failure, not
// ErrDecryption.
func TestReadError(t *testing.T) {
	tb := openBackend(t, "software")
	ct := seal(t, tb.b, tb.keys[backend.AES256], randomBytes(3<<20))
	boom := errors.New("disk on fire")
	r, err := envelope.NewReader(t.Context(), tb.b, io.MultiReader(bytes.NewReader(ct[:2<<20]), errReader{boom}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(r)
	if !errors.Is(err, boom) || errors.Is(err, backend.ErrDecryption) {
		t.Errorf("reading through a failing reader: %v, want the reader's error and not ErrDecryption", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestWrongKeyType: keys that cannot wrap data keys are refused up front.
func TestWrongKeyType(t *testing.T) {
	tb := openBackend(t, "software")
	ref := generate(t, tb.b, "envelope-ec", backend.ECP256)
	_, err := envelope.NewWriter(t.Context(), tb.b, ref, io.Discard)
	if !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("NewWriter under an EC key: %v, want ErrUnsupported", err)
	}
	_, err = envelope.NewWriter(t.Context(), tb.b, "missing", io.Discard)
	if !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("NewWriter under a missing key: %v, want ErrNotFound", err)
	}
}
