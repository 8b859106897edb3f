//go:build linux

package plugins

import (
	"errors"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// memfdCopy copies r into a sealed memfd and returns it reopened read-only
// (a descriptor open for writing would make execve fail with ETXTBSY). The
// seals forbid any later write, shrink or grow, by anyone. The descriptor
// is close-on-exec: /proc/self/fd/N is resolved by execve in the child,
// which still has it at that moment. It returns nil, nil when this kernel
// cannot make an executable memfd (vm.memfd_noexec=2, or no memfd), so
// that the caller falls back to a private directory.
func memfdCopy(base string, r io.Reader) (*pinnedExe, error) {
	fd, err := unix.MemfdCreate("keyplane-plugin:"+base, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		// Kernels before 6.3 know no MFD_EXEC; their memfds are executable.
		fd, err = unix.MemfdCreate("keyplane-plugin:"+base, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, nil
	}
	w := os.NewFile(uintptr(fd), "memfd")
	defer w.Close()
	if _, err := io.Copy(w, r); err != nil {
		return nil, err
	}
	if _, err := unix.FcntlInt(w.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE); err != nil {
		return nil, err
	}
	ro, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(fd), os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &pinnedExe{path: "/proc/self/fd/" + strconv.Itoa(int(ro.Fd())), f: ro}, nil
}
