//go:build !unix

package software

import (
	"context"
	"sync"
)

// syncDir is a no-op where directories cannot be synced.
func syncDir(string) error { return nil }

var processLock sync.Mutex

// lockFile only serialises this process where flock(2) is missing; see the
// package's Limitations.
func lockFile(context.Context, string) (func(), error) {
	processLock.Lock()
	return processLock.Unlock, nil
}
