package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// keyJSON is how --json shows a key.
type keyJSON struct {
	Label     string     `json:"label"`
	ID        string     `json:"id"`
	Algorithm string     `json:"algorithm"`
	Created   *time.Time `json:"created,omitempty"`
	URI       string     `json:"uri,omitempty"`
	// Version is the key version (the primary, in a listing); 1 for a key
	// of a backend without versions.
	Version int `json:"version"`
}

func toKeyJSON(k *backend.Key) keyJSON {
	j := keyJSON{Label: k.Label, ID: k.IDHex(), Algorithm: string(k.Algorithm), URI: k.URI, Version: max(k.Version, 1)}
	if !k.Created.IsZero() {
		t := k.Created.UTC()
		j.Created = &t
	}
	return j
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// created formats a key's creation time for tables.
func created(k *backend.Key) string {
	if k.Created.IsZero() {
		return "-"
	}
	return k.Created.UTC().Format(time.RFC3339)
}

// writeKeyTable prints keys as an aligned table.
func writeKeyTable(w io.Writer, keys []*backend.Key) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LABEL\tID\tALGORITHM\tCREATED\tVERSION")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", k.Label, k.IDHex(), k.Algorithm, created(k), max(k.Version, 1))
	}
	return tw.Flush()
}
