package fernet

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// specCase is one test case of the Fernet specification
// (testdata/spec_vectors.json: generate.json, verify.json and invalid.json
// of https://github.com/fernet/spec, rewritten in this layout).
type specCase struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"` // generate, verify, invalid
	Key        string `json:"key"`
	Message    string `json:"message"`
	IVHex      string `json:"iv_hex"`
	Now        string `json:"now"`
	TTLSeconds int    `json:"ttl_seconds"`
	Token      string `json:"token"`
	// ValidWithoutTTL marks invalid cases that fail only because of the
	// time checks: without a TTL they must decrypt (pyca checks neither
	// age nor clock skew then).
	ValidWithoutTTL bool `json:"valid_without_ttl"`
}

func loadSpecCases(t testing.TB) []specCase {
	t.Helper()
	data, err := os.ReadFile("testdata/spec_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Source string     `json:"source"`
		Cases  []specCase `json:"cases"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("spec_vectors.json: %v", err)
	}
	if len(doc.Cases) == 0 {
		t.Fatal("spec_vectors.json: no cases")
	}
	return doc.Cases
}

func (c specCase) fernet(t *testing.T) *Fernet {
	t.Helper()
	k, err := ParseKey(c.Key)
	if err != nil {
		t.Fatal(err)
	}
	fk, err := NewSoftwareKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return New(fk)
}

func (c specCase) now(t *testing.T) time.Time {
	t.Helper()
	now, err := time.Parse(time.RFC3339, c.Now)
	if err != nil {
		t.Fatalf("%s: now: %v", c.Name, err)
	}
	return now
}

// TestSpecVectors runs the specification's published cases: generate
// (exact token from a fixed IV and time), verify, and every invalid case
// (incorrect MAC, too short, invalid base64, payload not a multiple of the
// block size, payload padding error, far-future timestamp, expired TTL,
// incorrect IV).
func TestSpecVectors(t *testing.T) {
	counts := map[string]int{}
	for _, c := range loadSpecCases(t) {
		counts[c.Kind]++
		t.Run(c.Name, func(t *testing.T) {
			f, now, ctx := c.fernet(t), c.now(t), t.Context()
			ttl := time.Duration(c.TTLSeconds) * time.Second
			switch c.Kind {
			case "generate":
				iv, err := hex.DecodeString(c.IVHex)
				if err != nil {
					t.Fatal(err)
				}
				got, err := f.seal(ctx, []byte(c.Message), uint64(now.Unix()), iv)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != c.Token {
					t.Errorf("token\n got %s\nwant %s", got, c.Token)
				}
				// And it reads back.
				msg, err := f.DecryptAtTime(ctx, got, 0, now)
				if err != nil || string(msg) != c.Message {
					t.Errorf("decrypting the generated token: %q, %v", msg, err)
				}
			case "verify":
				msg, err := f.DecryptAtTime(ctx, []byte(c.Token), ttl, now)
				if err != nil {
					t.Fatal(err)
				}
				if string(msg) != c.Message {
					t.Errorf("message %q, want %q", msg, c.Message)
				}
				m, err := NewMulti(New(mustSoftwareKey(t)), f)
				if err != nil {
					t.Fatal(err)
				}
				if msg, err := m.DecryptAtTime(ctx, []byte(c.Token), ttl, now); err != nil || string(msg) != c.Message {
					t.Errorf("MultiFernet with the key second: %q, %v", msg, err)
				}
			case "invalid":
				msg, err := f.DecryptAtTime(ctx, []byte(c.Token), ttl, now)
				checkInvalid(t, msg, err)
				m, err := NewMulti(New(mustSoftwareKey(t)), f)
				if err != nil {
					t.Fatal(err)
				}
				msg, err = m.DecryptAtTime(ctx, []byte(c.Token), ttl, now)
				checkInvalid(t, msg, err)
				// Without a TTL, only the time-based cases become valid.
				msg, err = f.DecryptAtTime(ctx, []byte(c.Token), 0, now)
				if c.ValidWithoutTTL {
					if err != nil {
						t.Errorf("without a TTL: %v, want the token to decrypt (it is invalid only by time)", err)
					}
				} else {
					checkInvalid(t, msg, err)
				}
			default:
				t.Fatalf("unknown kind %q", c.Kind)
			}
		})
	}
	if counts["generate"] == 0 || counts["verify"] == 0 || counts["invalid"] < 8 {
		t.Errorf("cases per kind %v: want generate, verify and the 8 invalid cases", counts)
	}
}

// checkInvalid asserts the one vague error, identical for every bad token.
func checkInvalid(t *testing.T, msg []byte, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("decrypted to %q, want ErrInvalidToken", msg)
	}
	if msg != nil {
		t.Errorf("returned a message %q with the error", msg)
	}
	if !errors.Is(err, ErrInvalidToken) || !errors.Is(err, backend.ErrDecryption) {
		t.Errorf("error %v: want errors.Is ErrInvalidToken and backend.ErrDecryption", err)
	}
	if err.Error() != ErrInvalidToken.Error() {
		t.Errorf("error text %q, want exactly %q", err, ErrInvalidToken)
	}
}

func mustSoftwareKey(t testing.TB) backend.FernetKey {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	fk, err := NewSoftwareKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return fk
}
