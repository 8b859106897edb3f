package software

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// File names in a keystore directory. A key is "<id>.pem" plus
// "<id>.json"; the metadata file is written last and removed first, so it
// is the record that makes a key visible.
const (
	keySuffix  = ".pem"
	metaSuffix = ".json"
	tempPrefix = ".tmp-"
	lockName   = ".lock"
)

// dirStore keeps keys in a directory.
type dirStore struct {
	dir        string
	passphrase []byte // nil: keys are written unencrypted

	mu     sync.Mutex
	cache  map[string]*keyEntry // by file-name stem; files are immutable
	warned map[string]bool      // bad metadata files already logged
	plain  sync.Once            // the "stored unencrypted" warning, once per store
	lockMu sync.Mutex           // serialises this process's lock holders
}

func openDirStore(dir string, passphrase []byte) (*dirStore, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("software: keystore directory %q: %v: %w", dir, err, backend.ErrInvalidInput)
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return nil, fmt.Errorf("software: creating keystore directory %s: %v: %w", abs, err, backend.ErrUnavailable)
		}
	case err != nil:
		return nil, fmt.Errorf("software: keystore directory %s: %v: %w", abs, err, backend.ErrUnavailable)
	case !st.IsDir():
		return nil, fmt.Errorf("software: keystore path %s is not a directory: %w", abs, backend.ErrInvalidInput)
	case st.Mode().Perm()&0o022 != 0:
		// Whoever can write the directory can plant a key of their
		// choosing, or delete keys.
		return nil, fmt.Errorf("software: keystore directory %s is writable by group or others (mode %04o): refused, since they could plant or remove keys; run chmod 700 on it: %w",
			abs, st.Mode().Perm(), backend.ErrInvalidInput)
	case st.Mode().Perm()&0o077 != 0:
		slog.Warn("software keystore directory is accessible by group or others; run chmod 700 on it", "dir", abs, "mode", fmt.Sprintf("%04o", st.Mode().Perm()))
	}
	return &dirStore{dir: abs, passphrase: passphrase, cache: map[string]*keyEntry{}, warned: map[string]bool{}}, nil
}

func (d *dirStore) describe() string { return "keystore " + d.dir }
func (d *dirStore) persistent() bool { return true }

func (d *dirStore) path(name string) string { return filepath.Join(d.dir, name) }

// list re-reads the directory. Metadata files already parsed are reused
// from the cache (with any decrypted material); files that vanished drop
// out of it.
func (d *dirStore) list(ctx context.Context) ([]*keyEntry, error) {
	names, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, fmt.Errorf("software: reading keystore %s: %v: %w", d.dir, err, backend.ErrUnavailable)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	next := make(map[string]*keyEntry, len(names))
	out := make([]*keyEntry, 0, len(names))
	for _, de := range names {
		name := de.Name()
		stem, ok := strings.CutSuffix(name, metaSuffix)
		if !ok || strings.HasPrefix(name, ".") || !de.Type().IsRegular() {
			continue
		}
		e := d.cache[stem]
		fi, err := de.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted by another process since ReadDir
		}
		if err == nil && e != nil && e.stat != stampOf(fi) {
			// Rewritten (SetMinVersion in another process): read again;
			// the material is the same file, so it is carried over.
			fresh := d.reread(name, stem)
			if fresh != nil {
				e.mu.Lock()
				fresh.priv = e.priv
				e.mu.Unlock()
				fresh.stat = stampOf(fi)
			}
			e = fresh
			if e == nil {
				continue
			}
		}
		if e == nil {
			data, err := os.ReadFile(d.path(name))
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted by another process since ReadDir
			}
			if err != nil {
				return nil, fmt.Errorf("software: reading %s: %v: %w", d.path(name), err, backend.ErrUnavailable)
			}
			e, err = decodeSidecar(stem, data)
			if err != nil {
				if !d.warned[name] {
					d.warned[name] = true
					slog.Warn("software keystore: ignoring a metadata file", "file", d.path(name), "error", err)
				}
				continue
			}
			if fi != nil {
				e.stat = stampOf(fi)
			}
		}
		next[stem] = e
		out = append(out, e)
	}
	d.cache = next
	return out, nil
}

// locked runs f holding the directory's cross-process lock, after
// removing debris of writers that died (temporary files, key files whose
// metadata was never written).
func (d *dirStore) locked(ctx context.Context, f func() error) error {
	d.lockMu.Lock()
	defer d.lockMu.Unlock()
	unlock, err := lockFile(ctx, d.path(lockName))
	if err != nil {
		return err
	}
	defer unlock()
	d.sweep()
	return f()
}

// sweep removes what a killed writer left behind. Only called under the
// lock, when no writer is half-way.
func (d *dirStore) sweep() {
	names, err := os.ReadDir(d.dir)
	if err != nil {
		return
	}
	have := map[string]bool{}
	for _, de := range names {
		have[de.Name()] = true
	}
	for _, de := range names {
		name := de.Name()
		switch {
		case strings.HasPrefix(name, tempPrefix):
			os.Remove(d.path(name))
		case strings.HasSuffix(name, keySuffix) && !strings.HasPrefix(name, ".") && isHexStem(strings.TrimSuffix(name, keySuffix)):
			if !have[strings.TrimSuffix(name, keySuffix)+metaSuffix] {
				os.Remove(d.path(name))
			}
		case strings.HasSuffix(name, certSuffix) && !strings.HasPrefix(name, ".") && isHexStem(strings.TrimSuffix(name, certSuffix)):
			if !have[strings.TrimSuffix(name, certSuffix)+metaSuffix] {
				os.Remove(d.path(name)) // the certificates of a key deleted half-way
			}
		}
	}
}

func isHexStem(s string) bool {
	if len(s) == 0 || len(s)%2 != 0 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (d *dirStore) add(ctx context.Context, e *keyEntry, rotate bool) error {
	if d.passphrase == nil {
		// Like ssh-keygen -N '': said once, when a key is written in the
		// clear, not on every open of a store that is only read.
		d.plain.Do(func() {
			slog.Warn("software keystore: no passphrase configured (passphrase-source=file:..., Config.Passphrase in code, or "+PassphraseEnv+" for the keyplane CLI); private keys are stored unencrypted", "dir", d.dir)
		})
	}
	data, err := encodeKeyFile(e.meta.Algorithm, e.priv, d.passphrase)
	if err != nil {
		return err
	}
	defer clear(data)
	e.name = fmt.Sprintf("%x", e.meta.ID)
	return d.locked(ctx, func() error {
		entries, err := d.list(ctx)
		if err != nil {
			return err
		}
		if err := placeEntry(entries, e, rotate); err != nil {
			return err
		}
		meta, err := encodeSidecar(e, d.passphrase != nil)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(d.dir, e.name+keySuffix, data); err != nil {
			return err
		}
		if err := writeFileAtomic(d.dir, e.name+metaSuffix, meta); err != nil {
			os.Remove(d.path(e.name + keySuffix))
			return err
		}
		d.restamp(e)
		return nil
	})
}

// setMin rewrites the sidecar of e, the key's primary version, with min
// as its minimum version. Other processes see the change because list
// re-reads a sidecar whose size or modification time changed.
func (d *dirStore) setMin(ctx context.Context, e *keyEntry, min int) error {
	return d.locked(ctx, func() error {
		if _, err := os.Stat(d.path(e.name + metaSuffix)); err != nil {
			return fmt.Errorf("software: key %q: %w", e.meta.Label, backend.ErrNotFound)
		}
		prev := e.min.Swap(int64(min))
		meta, err := encodeSidecar(e, d.passphrase != nil)
		if err == nil {
			err = writeFileAtomic(d.dir, e.name+metaSuffix, meta)
		}
		if err != nil {
			e.min.Store(prev)
			return err
		}
		d.restamp(e)
		return nil
	})
}

// restamp caches e with the stat of the sidecar just written.
func (d *dirStore) restamp(e *keyEntry) {
	if fi, err := os.Stat(d.path(e.name + metaSuffix)); err == nil {
		e.stat = stampOf(fi)
	}
	d.mu.Lock()
	d.cache[e.name] = e
	d.mu.Unlock()
}

// fileStamp is what list compares to tell a rewritten sidecar.
type fileStamp struct {
	size int64
	mod  time.Time
}

func stampOf(fi fs.FileInfo) fileStamp { return fileStamp{size: fi.Size(), mod: fi.ModTime()} }

func (d *dirStore) remove(ctx context.Context, e *keyEntry) error {
	return d.locked(ctx, func() error {
		err := os.Remove(d.path(e.name + metaSuffix))
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("software: key %q: %w", e.meta.Label, backend.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("software: deleting key %q: %v: %w", e.meta.Label, err, backend.ErrUnavailable)
		}
		if err := syncDir(d.dir); err != nil {
			return err
		}
		d.mu.Lock()
		delete(d.cache, e.name)
		d.mu.Unlock()
		if err := os.Remove(d.path(e.name + certSuffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("software: deleting the certificates of %q: %v: %w", e.meta.Label, err, backend.ErrUnavailable)
		}
		if err := os.Remove(d.path(e.name + keySuffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("software: deleting key file of %q: %v: %w", e.meta.Label, err, backend.ErrUnavailable)
		}
		return syncDir(d.dir)
	})
}

// reread decodes a sidecar again, or returns nil (logged) when it no
// longer parses. Called with d.mu held.
func (d *dirStore) reread(name, stem string) *keyEntry {
	data, err := os.ReadFile(d.path(name))
	if err != nil {
		return nil
	}
	e, err := decodeSidecar(stem, data)
	if err != nil {
		if !d.warned[name] {
			d.warned[name] = true
			slog.Warn("software keystore: ignoring a metadata file", "file", d.path(name), "error", err)
		}
		return nil
	}
	return e
}

func (d *dirStore) load(e *keyEntry) (any, error) {
	data, err := os.ReadFile(d.path(e.name + keySuffix))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("software: key %q was deleted: %w", e.meta.Label, backend.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("software: reading key %q: %v: %w", e.meta.Label, err, backend.ErrUnavailable)
	}
	defer clear(data)
	priv, err := decodeKeyFile(data, d.passphrase, e.meta.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("software: key %q (%s): %w", e.meta.Label, d.path(e.name+keySuffix), err)
	}
	if err := checkMaterial(&e.meta, priv); err != nil {
		return nil, err
	}
	return priv, nil
}

func (d *dirStore) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range d.cache {
		e.forget()
	}
	d.cache = map[string]*keyEntry{}
	clear(d.passphrase)
}
