//go:build unix

package projections

import (
	"errors"
	"os"
	"syscall"
)

// fileLocksWork: flock(2) is there.
const fileLocksWork = true

// tryFlock takes an exclusive flock on f without waiting.
func tryFlock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		default:
			return false, err
		}
	}
}
