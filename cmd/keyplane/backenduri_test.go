package main

import (
	"strings"
	"testing"
)

func TestBackendURIFor(t *testing.T) {
	tests := []struct {
		name    string
		flag    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{"flag wins", "software:memory", map[string]string{"KEYPLANE_BACKEND": "software:/x", "HOME": "/home/u"}, "software:memory", ""},
		{"environment", "", map[string]string{"KEYPLANE_BACKEND": "software:/x", "HOME": "/home/u"}, "software:/x", ""},
		{"XDG_DATA_HOME", "", map[string]string{"XDG_DATA_HOME": "/data", "HOME": "/home/u"}, "software:/data/keyplane/keys", ""},
		{"HOME", "", map[string]string{"HOME": "/home/u"}, "software:/home/u/.local/share/keyplane/keys", ""},
		{"relative XDG_DATA_HOME ignored", "", map[string]string{"XDG_DATA_HOME": "data", "HOME": "/home/u"}, "software:/home/u/.local/share/keyplane/keys", ""},
		{"nothing", "", map[string]string{}, "", "no backend chosen"},
		{"relative HOME", "", map[string]string{"HOME": "u"}, "", "no backend chosen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &cli{backendURI: tt.flag, getenv: func(k string) string { return tt.env[k] }}
			got, err := c.backendURIFor()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
