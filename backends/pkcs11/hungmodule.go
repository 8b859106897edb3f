package pkcs11

import (
	"fmt"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// HungModuleError is the error of every call on a backend whose module has
// an operation stuck inside it: a call that has not returned within its
// call timeout and was abandoned to the module. It unwraps to
// backend.ErrUnavailable. The backend recovers by itself when the module
// returns from the stuck call; a module that never does (p11-kit's client
// after its server died under concurrent calls) is contained by running
// the backend in a child process, plugin+pkcs11:, which can be killed and
// restarted (docs/backends/pkcs11.md, "A module that hangs").
type HungModuleError struct {
	Module string        // the module's path
	Stuck  time.Duration // how long the oldest stuck operation has been inside
	Calls  int           // operations abandoned inside the module now
}

func (e *HungModuleError) Error() string {
	return fmt.Sprintf("pkcs11: module %s is hung: a module call has not returned for %v (%d operation(s) left inside it); every call fails at once until it returns. A module that hangs is contained by running the backend as plugin+pkcs11: (docs/backends/pkcs11.md#a-module-that-hangs)",
		e.Module, e.Stuck.Round(time.Millisecond), e.Calls)
}

// Unwrap returns backend.ErrUnavailable.
func (e *HungModuleError) Unwrap() error { return backend.ErrUnavailable }
