package interop

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/fernet"
)

// TestFernetSpecVectorsOnBackends runs the Fernet specification's verify
// and invalid cases (package fernet's testdata) with the key held by each
// backend, so that a backend's CBC and HMAC — and its error classification
// for a padding error behind a valid MAC — are checked against the
// specification, not only against pyca.
func TestFernetSpecVectorsOnBackends(t *testing.T) {
	data, err := os.ReadFile("../fernet/testdata/spec_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []struct {
			Name       string `json:"name"`
			Kind       string `json:"kind"`
			Key        string `json:"key"`
			Message    string `json:"message"`
			Now        string `json:"now"`
			TTLSeconds int    `json:"ttl_seconds"`
			Token      string `json:"token"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	forEachBackend(t, func(t *testing.T, b backend.Backend, tg target) {
		ctx := t.Context()
		fernets := map[string]*fernet.Fernet{} // by key text
		ran := 0
		for _, c := range doc.Cases {
			if c.Kind == "generate" {
				continue // needs a chosen IV; package fernet tests it
			}
			f, ok := fernets[c.Key]
			if !ok {
				f = importFernet(t, b, c.Key)
				fernets[c.Key] = f
			}
			now, err := time.Parse(time.RFC3339, c.Now)
			if err != nil {
				t.Fatal(err)
			}
			msg, err := f.DecryptAtTime(ctx, []byte(c.Token), time.Duration(c.TTLSeconds)*time.Second, now)
			switch c.Kind {
			case "verify":
				if err != nil || string(msg) != c.Message {
					t.Errorf("%s: (%q, %v), want %q", c.Name, msg, err, c.Message)
				}
			case "invalid":
				if !errors.Is(err, fernet.ErrInvalidToken) || err.Error() != fernet.ErrInvalidToken.Error() {
					t.Errorf("%s: (%q, %v), want exactly ErrInvalidToken", c.Name, msg, err)
				}
			default:
				t.Fatalf("%s: unknown kind %q", c.Name, c.Kind)
			}
			ran++
		}
		if ran < 9 {
			t.Errorf("ran %d cases, want the verify case and 8 invalid ones", ran)
		}
	})
}
