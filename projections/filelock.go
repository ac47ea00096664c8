package projections

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sync"
)

// FileLocker hands out leases as exclusive flock(2) locks on files beside
// a SQLite database, one file per lease name: <db>.lock-<name>. Unlike
// LocalLocker it keeps processes apart too (serve and a `tidemark
// rebuild`, or two rebuilds, on one file), and the kernel releases a lock
// when its process dies, so a killed holder never blocks the next one. The
// files stay (empty); a lock, not a file, is what is held.
type FileLocker struct {
	base string // the database file's path
	mu   sync.Mutex
	held map[string]bool // names this Locker holds: flock is per open file, so it would also refuse us, but a map says so without a syscall
}

// NewFileLocker returns a FileLocker for the database file at path.
func NewFileLocker(path string) *FileLocker {
	return &FileLocker{base: path, held: map[string]bool{}}
}

var unsafeLockChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

func (l *FileLocker) path(name string) string {
	return l.base + ".lock-" + unsafeLockChars.ReplaceAllString(name, "_")
}

// TryLock implements Locker.
func (l *FileLocker) TryLock(_ context.Context, name string) (Lease, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[name] {
		return nil, false, nil
	}
	f, err := os.OpenFile(l.path(name), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	ok, err := tryFlock(f)
	if err != nil || !ok {
		_ = f.Close() // nothing was locked
		if err != nil {
			return nil, false, fmt.Errorf("lock %s: %w", name, err)
		}
		return nil, false, nil
	}
	l.held[name] = true
	return &fileLease{l: l, name: name, f: f, lost: make(chan struct{})}, true, nil
}

type fileLease struct {
	l    *FileLocker
	name string
	f    *os.File
	lost chan struct{} // never closed: nothing takes a flock away from a live process
	once sync.Once
}

func (s *fileLease) Lost() <-chan struct{} { return s.lost }

// Release unlocks by closing the file.
func (s *fileLease) Release(context.Context) error {
	var err error
	s.once.Do(func() {
		err = s.f.Close()
		s.l.mu.Lock()
		delete(s.l.held, s.name)
		s.l.mu.Unlock()
	})
	return err
}
