package software

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// TestSecretsNeverShown runs success and failure paths with a known
// passphrase and checks that neither it nor key bytes appear in any error,
// log line (debug level), URI String or capability report.
func TestSecretsNeverShown(t *testing.T) {
	const right, wrong = "Right-Passphrase-7f3a", "Wrong-Passphrase-9c1d"
	var logs bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(old)

	var seen []string
	note := func(v any) {
		if v != nil {
			seen = append(seen, fmt.Sprint(v))
		}
	}
	dir := newDir(t)
	ks := openDir(t, dir, []byte(right))
	note(ks.String())
	mustGen(t, ks, "ec", backend.ECP256)
	mustGen(t, ks, "aes", backend.AES256)
	secret, _ := ks.ExportKey(ctx, "aes")
	note(secret) // SecretKey's String hides the bytes
	caps, _ := ks.Capabilities(ctx)
	note(fmt.Sprintf("%+v", caps))
	ks.Close()

	badCfg, err := ParseURI("software:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	badCfg.Passphrase = backend.NewStaticSecret([]byte(wrong)).Secret
	note(badCfg.String())
	note(fmt.Sprintf("%+v %#v %d %s", badCfg, badCfg, *badCfg, badCfg))
	bad, err := OpenConfig(ctx, badCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	note(bad.String())
	for _, f := range []func() error{
		func() error { _, err := bad.Signer(ctx, "ec"); return err },
		func() error { _, err := bad.AEAD(ctx, "aes"); return err },
		func() error { _, err := bad.ExportKey(ctx, "aes"); return err },
		func() error { _, err := bad.Signer(ctx, "missing"); return err },
		func() error { _, err := bad.Decrypter(ctx, "aes"); return err },
		func() error { _, err := Open(ctx, "software:"+dir+"?passphrase="+right); return err },
		func() error { _, err := Open(ctx, "software:"+dir+"?passphrase-source="+right); return err },
		func() error { _, err := Open(ctx, "software:"+dir+"?passphrase-source="+right+"&x=%zz"); return err },
		func() error { bad.Close(); _, err := bad.Keys(ctx); return err },
	} {
		err := f()
		if err == nil {
			t.Fatal("a failure path succeeded")
		}
		note(err)
	}
	seen = append(seen, logs.String())
	value := secret.(backend.SecretKey).Value
	for _, s := range seen {
		for _, secretText := range []string{right, wrong, string(value), fmt.Sprintf("%x", value)} {
			if strings.Contains(s, secretText) {
				t.Errorf("a secret appears in %q", s)
			}
		}
	}
	if len(seen) < 12 {
		t.Fatalf("only %d outputs checked", len(seen))
	}
}
