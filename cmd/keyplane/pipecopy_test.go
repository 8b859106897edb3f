package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// TestPipeCopy: pipeCopy copies exactly, whatever the sizes, and returns
// the first error of either side without hanging.
func TestPipeCopy(t *testing.T) {
	data := make([]byte, 10*1000+7)
	rand.Read(data)
	for _, n := range []int{0, 1, 999, 1000, 1001, len(data)} {
		var out bytes.Buffer
		got, err := pipeCopy(&out, iotest.HalfReader(bytes.NewReader(data[:n])), 1000)
		if err != nil || got != int64(n) || !bytes.Equal(out.Bytes(), data[:n]) {
			t.Errorf("%d bytes: copied %d, %v; same bytes: %v", n, got, err, bytes.Equal(out.Bytes(), data[:n]))
		}
	}
	boom := errors.New("boom")
	if _, err := pipeCopy(io.Discard, io.MultiReader(bytes.NewReader(data), iotest.ErrReader(boom)), 1000); !errors.Is(err, boom) {
		t.Errorf("reader failing after %d bytes: %v, want its error", len(data), err)
	}
	w := &failingWriter{after: 3, err: boom}
	if _, err := pipeCopy(w, bytes.NewReader(data), 1000); !errors.Is(err, boom) {
		t.Errorf("writer failing: %v, want its error", err)
	}
	if w.calls != 4 {
		t.Errorf("%d writes, want 4 (none after the failure)", w.calls)
	}
}

type failingWriter struct {
	after, calls int
	err          error
}

func (f *failingWriter) Write(p []byte) (int, error) {
	f.calls++
	if f.calls > f.after {
		return 0, f.err
	}
	return len(p), nil
}
