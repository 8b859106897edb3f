//go:build unix && !linux

package nocore

import (
	"fmt"

	"golang.org/x/sys/unix"
)

func disable() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("nocore: setrlimit(RLIMIT_CORE, 0): %w", err)
	}
	return nil
}
