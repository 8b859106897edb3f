package backend_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

func TestValidateLabel(t *testing.T) {
	for _, ok := range []string{
		"release",
		"a",
		"release key 2026",
		"clé-ключ-鍵",
		"a.b",
		"x.",
		"ID:upper-case is a label",
		"id-not-a-ref",
		"with:colon",
		strings.Repeat("x", backend.MaxLabelLen),
		strings.Repeat("é", backend.MaxLabelLen/2),
	} {
		if err := backend.ValidateLabel(ok); err != nil {
			t.Errorf("ValidateLabel(%q): %v", ok, err)
		}
	}
	for _, c := range []struct{ label, mention string }{
		{"", "empty"},
		{strings.Repeat("x", backend.MaxLabelLen+1), "longer than 128"},
		{strings.Repeat("é", backend.MaxLabelLen/2) + "x", "longer than 128"},
		{"bad\xffutf8", "UTF-8"},
		{".hidden", `"."`},
		{".", `"."`},
		{"id:abcd", `"id:"`},
		{"id:", `"id:"`},
		{"a/b", `'/'`},
		{`a\b`, `'\\'`},
		{"a\x00b", `'\x00'`},
		{"a\nb", `'\n'`},
		{"a\tb", `'\t'`},
		{"a\x7fb", `'\x7f'`},
		{"a\x1bb", `'\x1b'`},
	} {
		err := backend.ValidateLabel(c.label)
		if !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("ValidateLabel(%q): %v, want ErrInvalidInput", c.label, err)
			continue
		}
		if !strings.Contains(err.Error(), c.mention) {
			t.Errorf("ValidateLabel(%q): error %q should mention %s", c.label, err, c.mention)
		}
	}
}

func TestParseKeyRef(t *testing.T) {
	for _, c := range []struct {
		ref   string
		label string
		id    []byte
		str   string
	}{
		{"release", "release", nil, "release"},
		{"id:00ff", "", []byte{0x00, 0xff}, "id:00ff"},
		{"id:00FF", "", []byte{0x00, 0xff}, "id:00ff"},
		{"ID:00ff", "ID:00ff", nil, "ID:00ff"},
		{"pkcs11:object=x", "pkcs11:object=x", nil, "pkcs11:object=x"},
		{" id:00", " id:00", nil, " id:00"},
	} {
		r, err := backend.ParseKeyRef(c.ref)
		if err != nil {
			t.Errorf("ParseKeyRef(%q): %v", c.ref, err)
			continue
		}
		if r.Label != c.label || string(r.ID) != string(c.id) {
			t.Errorf("ParseKeyRef(%q) = %+v, want label %q id %x", c.ref, r, c.label, c.id)
		}
		if r.String() != c.str {
			t.Errorf("ParseKeyRef(%q).String() = %q, want %q", c.ref, r.String(), c.str)
		}
		again, err := backend.ParseKeyRef(r.String())
		if err != nil || again.Label != r.Label || string(again.ID) != string(r.ID) {
			t.Errorf("ParseKeyRef(String()) of %q = %+v, %v; want a round trip", c.ref, again, err)
		}
	}
	for _, ref := range []string{"", "id:", "id:xyz", "id:abc", "id:0x00", "id: 00"} {
		_, err := backend.ParseKeyRef(ref)
		if !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("ParseKeyRef(%q): %v, want ErrInvalidInput", ref, err)
		}
	}
}

func TestKeyRefMatches(t *testing.T) {
	k := &backend.Key{ID: []byte{1, 2}, Label: "release"}
	for _, c := range []struct {
		ref  string
		want bool
	}{
		{"release", true},
		{"Release", false},
		{"id:0102", true},
		{"id:0103", false},
		{"id:01", false},
		{"id:010203", false},
		{"other", false},
	} {
		r, err := backend.ParseKeyRef(c.ref)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Matches(k); got != c.want {
			t.Errorf("%q.Matches(%s) = %v, want %v", c.ref, k.IDHex(), got, c.want)
		}
	}
	// A key labelled like an ID reference is found by label only through
	// its own label, never by ID.
	odd := &backend.Key{ID: []byte{0xab}, Label: "ab"}
	if r, _ := backend.ParseKeyRef("id:ab"); !r.Matches(odd) {
		t.Errorf("id:ab does not match a key with ID ab")
	}
	if r, _ := backend.ParseKeyRef("ab"); !r.Matches(odd) {
		t.Errorf("ab does not match a key labelled ab")
	}
}

func TestKeyIDHex(t *testing.T) {
	k := &backend.Key{ID: []byte{0xde, 0xad, 0x01}}
	if got := k.IDHex(); got != "dead01" {
		t.Fatalf("IDHex() = %q", got)
	}
}
