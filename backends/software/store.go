package software

import (
	"context"
	"fmt"
	"sync"

	"github.com/keyplane/keyplane/backend"
)

// store is where a keystore's keys live: memory or a directory.
type store interface {
	// list returns the keys stored now (a directory store re-reads the
	// directory, so keys of other processes are seen).
	list(ctx context.Context) ([]*keyEntry, error)
	// add stores a new key (e.priv set), or returns ErrAlreadyExists when
	// its label is taken. With rotate, e is instead the next version of
	// the existing key of its label: add sets e's version (one above the
	// key's highest) and minimum version (the primary's) atomically with
	// storing it, or returns ErrNotFound when no key has that label.
	add(ctx context.Context, e *keyEntry, rotate bool) error
	// setMin records min as the minimum version in the key's primary
	// entry e, or returns ErrNotFound when e is gone.
	setMin(ctx context.Context, e *keyEntry, min int) error
	// remove deletes a key, or returns ErrNotFound.
	remove(ctx context.Context, e *keyEntry) error
	// load reads a key's private material.
	load(e *keyEntry) (any, error)
	// describe names the store for people; persistent says whether keys
	// outlive the process.
	describe() string
	persistent() bool
	// close forgets cached material.
	close()
}

// memStore keeps keys in a map for the life of the process.
type memStore struct {
	mu   sync.Mutex
	keys map[string]*keyEntry // by hex ID
}

func newMemStore() *memStore { return &memStore{keys: map[string]*keyEntry{}} }

func (m *memStore) list(context.Context) ([]*keyEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*keyEntry, 0, len(m.keys))
	for _, e := range m.keys {
		out = append(out, e)
	}
	return out, nil
}

func (m *memStore) add(_ context.Context, e *keyEntry, rotate bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	entries := make([]*keyEntry, 0, len(m.keys))
	for _, o := range m.keys {
		entries = append(entries, o)
	}
	if err := placeEntry(entries, e, rotate); err != nil {
		return err
	}
	m.keys[string(e.meta.ID)] = e
	return nil
}

func (m *memStore) setMin(_ context.Context, e *keyEntry, min int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys[string(e.meta.ID)] != e {
		return fmt.Errorf("software: key %q: %w", e.meta.Label, backend.ErrNotFound)
	}
	e.min.Store(int64(min))
	return nil
}

// placeEntry checks that e may join entries (the keys stored now): a new
// label, or with rotate the next version of an existing key, whose
// version and minimum version it then sets.
func placeEntry(entries []*keyEntry, e *keyEntry, rotate bool) error {
	var primary *keyEntry
	for _, o := range entries {
		if o.meta.Label == e.meta.Label && (primary == nil || o.meta.Version > primary.meta.Version) {
			primary = o
		}
	}
	switch {
	case !rotate && primary != nil:
		return fmt.Errorf("software: a key labelled %q exists: %w", e.meta.Label, backend.ErrAlreadyExists)
	case !rotate:
		e.meta.Version = 1
	case primary == nil:
		return fmt.Errorf("software: no key %q to rotate (deleted meanwhile?): %w", e.meta.Label, backend.ErrNotFound)
	default:
		e.meta.Version = primary.meta.Version + 1
		e.min.Store(primary.min.Load())
	}
	return nil
}

func (m *memStore) remove(_ context.Context, e *keyEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys[string(e.meta.ID)] != e {
		return fmt.Errorf("software: key %q: %w", e.meta.Label, backend.ErrNotFound)
	}
	delete(m.keys, string(e.meta.ID))
	return nil
}

func (m *memStore) load(e *keyEntry) (any, error) {
	return nil, fmt.Errorf("software: key %q has no material: %w", e.meta.Label, backend.ErrNotFound)
}

func (m *memStore) describe() string { return "in-memory keystore" }
func (m *memStore) persistent() bool { return false }

func (m *memStore) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.keys {
		e.forget()
	}
	m.keys = map[string]*keyEntry{}
}
