package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPassphrase(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := map[string]string{"PASS_ENV": "from-env"}
	c := &cli{getenv: func(k string) string { return env[k] }}

	tests := []struct {
		file, env string
		want      string
		isNil     bool
	}{
		{write("lf", "secret\n"), "PASS_ENV", "secret", false},
		{write("crlf", "secret\r\n"), "", "secret", false},
		{write("two", "secret\n\n"), "", "secret\n", false},  // only one newline is dropped
		{write("spaces", " secret "), "", " secret ", false}, // spaces are part of it
		{"", "PASS_ENV", "from-env", false},                  // the file wins; else the environment
		{"", "UNSET_ENV", "", true},                          // neither: nil
	}
	for _, tt := range tests {
		got, err := c.passphrase(tt.file, tt.env)
		if err != nil {
			t.Errorf("passphrase(%q, %q): %v", tt.file, tt.env, err)
			continue
		}
		if (got == nil) != tt.isNil || string(got) != tt.want {
			t.Errorf("passphrase(%q, %q) = %q, want %q", tt.file, tt.env, got, tt.want)
		}
	}

	if _, err := c.passphrase(write("empty", "\n"), ""); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty file: err = %v", err)
	}
	_, err := c.passphrase(filepath.Join(dir, "missing"), "")
	if err == nil || !strings.Contains(err.Error(), "--passphrase-file") || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: err = %v", err)
	}
}
