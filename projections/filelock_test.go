//go:build unix

package projections

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lockChildEnv makes the test binary a process that takes a FileLocker
// lease (path and name, tab-separated), says "locked" and waits to be killed.
const lockChildEnv = "TIDEMARK_PROJECTIONS_LOCK_CHILD"

func lockChild() int {
	path, name, _ := strings.Cut(os.Getenv(lockChildEnv), "\t")
	_, ok, err := NewFileLocker(path).TryLock(context.Background(), name)
	if err != nil || !ok {
		fmt.Printf("not locked: %v %v\n", ok, err)
		return 1
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
	return 0
}

func TestFileLockerInProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	l, other := NewFileLocker(path), NewFileLocker(path)
	a, ok, err := l.TryLock(ctx, "rebuild:devices")
	if err != nil || !ok {
		t.Fatalf("first TryLock: %v %v", ok, err)
	}
	if _, ok, _ := l.TryLock(ctx, "rebuild:devices"); ok {
		t.Fatal("the same locker took a held lock again")
	}
	if _, ok, _ := other.TryLock(ctx, "rebuild:devices"); ok {
		t.Fatal("a second locker on the same file took a held lock")
	}
	if _, ok, _ := other.TryLock(ctx, "rebuild:orders"); !ok {
		t.Fatal("another name is not free")
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := other.TryLock(ctx, "rebuild:devices"); !ok {
		t.Fatal("a released lock is not free")
	}
}

// A lease held by another process keeps this one out until that process
// dies (kill -9: nothing released it but the kernel).
func TestFileLockerAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+path+"\tprojection:devices")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "locked\n" {
		t.Fatalf("child: %q", line)
	}
	l := NewFileLocker(path)
	if _, ok, err := l.TryLock(ctx, "projection:devices"); ok || err != nil {
		t.Fatalf("TryLock while another process holds it: ok %v, err %v", ok, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if _, ok, err := l.TryLock(ctx, "projection:devices"); !ok || err != nil {
		t.Fatalf("TryLock after the holder was killed: ok %v, err %v", ok, err)
	}
}

// Two rebuilds of one SQLite file from two runners (as from two processes:
// each has its own Locker): the second is refused while the first runs,
// and the served version is the first's.
func TestSQLiteRebuildsKeptApart(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := ctxFor(t, 2*time.Minute)
	sc := newScenario(41, 10, 6)
	deliver(t, ctx, e.store, sc.deliveries(300, 0.3))
	first, second := e.runner(t), e.runner(t)
	started := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := first.Rebuild(ctx, RebuildOptions{Projections: []string{"devices"}, Progress: func(p Progress) {
			if p.Phase == PhaseFolding {
				select {
				case <-started:
				default:
					close(started)
					<-release // hold the rebuild (and its lease) while the second tries
				}
			}
		}})
		done <- err
	}()
	<-started
	_, err := second.Rebuild(ctx, RebuildOptions{Projections: []string{"devices"}})
	close(release)
	if !errors.Is(err, ErrRebuildInProgress) {
		t.Errorf("second rebuild while the first ran: %v, want ErrRebuildInProgress", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("first rebuild: %v", err)
	}
	if _, err := second.Rebuild(ctx, RebuildOptions{Projections: []string{"devices"}}); err != nil {
		t.Fatalf("a rebuild after the first ended: %v", err)
	}
}
