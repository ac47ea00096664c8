//go:build !unix

package projections

import (
	"errors"
	"os"
)

// fileLocksWork: no flock(2) here; LockerFor falls back to LocalLocker.
const fileLocksWork = false

func tryFlock(*os.File) (bool, error) { return false, errors.ErrUnsupported }
