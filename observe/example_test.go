package observe_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"

	"github.com/keyplane/keyplane/backend"
	_ "github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/observe"
)

// Wrap a backend so that every key use writes a JSON audit record. (The
// time, duration and key ID, which change from run to run, are left out
// here so that the output can be shown.) Metrics and spans go to the
// global OpenTelemetry providers, as no others are given.
func ExampleWrap() {
	ctx := context.Background()
	uri := "software:memory"
	b, err := backend.Open(ctx, uri)
	if err != nil {
		fmt.Println(err)
		return
	}
	drop := func(_ []string, a slog.Attr) slog.Attr {
		switch a.Key {
		case slog.TimeKey, "duration", "key_id":
			return slog.Attr{}
		}
		return a
	}
	audit := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: drop}))
	b = observe.Wrap(b, observe.Options{AuditLog: audit, Backend: uri})
	defer b.Close()

	if _, err := b.GenerateKey(ctx, backend.KeySpec{Label: "web", Algorithm: backend.ECP256}); err != nil {
		fmt.Println(err)
		return
	}
	s, err := b.Signer(ctx, "web")
	if err != nil {
		fmt.Println(err)
		return
	}
	digest := sha256.Sum256([]byte("hello"))
	if _, err := s.Sign(nil, digest[:], crypto.SHA256); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"level":"INFO","msg":"keyplane key use","backend":"software:memory","operation":"generate-key","method":"generate-key","outcome":"ok","key_label":"web"}
	// {"level":"INFO","msg":"keyplane key use","backend":"software:memory","operation":"signer","method":"signer","outcome":"ok","key_label":"web"}
	// {"level":"INFO","msg":"keyplane key use","backend":"software:memory","operation":"ecdsa-sha256","method":"sign","outcome":"ok","key_label":"web"}
}
