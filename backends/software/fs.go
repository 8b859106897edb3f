package software

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/keyplane/keyplane/backend"
)

// writeFileAtomic makes dir/name hold data, or leaves it untouched: the
// data goes to a temporary file in dir (mode 0600), which is synced,
// renamed over name, and the directory synced, so that after a crash the
// file is either absent or complete.
func writeFileAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("software: writing %s: %v: %w", filepath.Join(dir, name), err, backend.ErrUnavailable)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("software: writing %s: %v: %w", filepath.Join(dir, name), err, backend.ErrUnavailable)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("software: writing %s: %v: %w", filepath.Join(dir, name), err, backend.ErrUnavailable)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("software: syncing %s: %v: %w", filepath.Join(dir, name), err, backend.ErrUnavailable)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("software: writing %s: %v: %w", filepath.Join(dir, name), err, backend.ErrUnavailable)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("software: renaming into %s: %v: %w", filepath.Join(dir, name), err, backend.ErrUnavailable)
	}
	return syncDir(dir)
}
