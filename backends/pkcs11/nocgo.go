//go:build !cgo

package pkcs11

import (
	"context"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// ErrNoCgo is returned by the "pkcs11" opener of a build without cgo.
var ErrNoCgo = fmt.Errorf("keyplane was built without PKCS#11 support (cgo disabled): %w", backend.ErrUnsupported)

func init() {
	backend.Register("pkcs11", func(ctx context.Context, uri string) (backend.Backend, error) {
		// Parse anyway, so a malformed URI says so.
		if _, err := ParseURI(uri); err != nil {
			return nil, err
		}
		return nil, ErrNoCgo
	})
}

// Discover fails in a build without cgo: no module can be loaded.
func Discover(ctx context.Context, path string, opts DiscoverOptions) (*ModuleInfo, error) {
	shown := opts.InitArgs
	if shown != "" && opts.InitArgsSecret {
		shown = RedactedInitArgs
	}
	return &ModuleInfo{Path: path, InitArgs: shown, Slots: []SlotInfo{}}, ErrNoCgo
}
