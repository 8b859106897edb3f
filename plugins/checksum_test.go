package plugins_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/plugins"
)

// TestChecksumSwapLoop renames an impostor over the pinned executable's
// path and back, in a tight loop, while the host starts the plugin again
// and again: every start must either run the pinned executable or be
// refused with ErrChecksumMismatch. The impostor is a script that leaves a
// mark and then runs the real plugin (so it would serve, and receive the
// backend configuration); a mark means an unpinned executable ran.
func TestChecksumSwapLoop(t *testing.T) {
	dir := t.TempDir()
	mark := filepath.Join(dir, "impostor-ran")
	good := filepath.Join(dir, "good")
	data, err := os.ReadFile(exampleExe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, data, 0o755); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "impostor")
	script := "#!/bin/sh\necho $$ >>" + mark + "\nexec " + exampleExe + "\n"
	if err := os.WriteFile(bad, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	pinned := filepath.Join(dir, "plugin")
	if err := os.Link(good, pinned); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var swaps atomic.Int64
	wg.Go(func() {
		tmp := filepath.Join(dir, "next")
		for {
			for _, src := range []string{bad, good} {
				select {
				case <-stop:
					return
				default:
				}
				if err := os.Link(src, tmp); err != nil {
					t.Error(err)
					return
				}
				if err := os.Rename(tmp, pinned); err != nil {
					t.Error(err)
					return
				}
				swaps.Add(1)
			}
		}
	})

	for swaps.Load() < 100 {
		time.Sleep(time.Millisecond)
	}
	const starts = 60
	var started, refused int
	uri := "plugin:" + pinned + "?sha256=" + exampleSum
	for range starts {
		b, err := backend.Open(t.Context(), uri)
		switch {
		case err == nil:
			started++
			if _, err := b.Keys(t.Context()); err != nil {
				t.Errorf("Keys on a started plugin: %v", err)
			}
			b.Close()
		case errors.Is(err, plugins.ErrChecksumMismatch) && errors.Is(err, backend.ErrAuthentication):
			refused++
		default:
			t.Errorf("Open during the swap loop: %v, want a started plugin or ErrChecksumMismatch", err)
		}
	}
	close(stop)
	wg.Wait()
	ran, _ := os.ReadFile(mark)
	impostors := bytes.Count(ran, []byte("\n"))
	t.Logf("%d starts during %d swaps: %d started, %d refused with ErrChecksumMismatch, %d ran the impostor", starts, swaps.Load(), started, refused, impostors)
	if impostors > 0 {
		t.Errorf("the unpinned impostor ran %d times out of %d starts (the file was hashed by path, then executed by path)", impostors, starts)
	}
	if started == 0 {
		t.Errorf("no start succeeded during the swap loop")
	}
	waitChildren(t)
}
