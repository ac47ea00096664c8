package projections

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/tidemark/tidemark/adapters/postgres"
	"github.com/tidemark/tidemark/adapters/sqlite"
	"github.com/tidemark/tidemark/domain"
)

// The crash test re-executes this test binary as a separate process that
// runs a Runner (TestMain hands over to crashChild when these are set).
const (
	crashChildEnv = "TIDEMARK_PROJECTIONS_CRASH_CHILD" // dialect
	crashURLEnv   = "TIDEMARK_PROJECTIONS_CRASH_URL"
	crashExitEnv  = "TIDEMARK_PROJECTIONS_CRASH_EXIT_WHEN_CAUGHT_UP"
)

// crashChild runs a slow Runner (small batches, a pause before each
// commit) until killed, or until caught up when crashExitEnv is set.
func crashChild() int {
	ctx := context.Background()
	var store domain.EventStore
	var db *bun.DB
	switch os.Getenv(crashChildEnv) {
	case "postgres":
		st, err := postgres.Open(ctx, os.Getenv(crashURLEnv), postgres.Options{PollInterval: 50 * time.Millisecond})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer st.Close()
		store, db = st, st.DB()
	default:
		st, err := sqlite.Open(ctx, os.Getenv(crashURLEnv), sqlite.Options{PollInterval: 50 * time.Millisecond})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer st.Close()
		store, db = st, st.DB()
	}
	r, err := New(Config{Store: store, DB: db, BatchSize: 20, LockRetry: 100 * time.Millisecond, FlushInterval: time.Millisecond,
		Projections: append(Default(), witness{})})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	slow := os.Getenv(crashExitEnv) == ""
	r.beforeCommit = func(context.Context, sqlq, string) error {
		if slow {
			time.Sleep(5 * time.Millisecond)
		}
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	if slow {
		<-done // until SIGKILL
		return 0
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		head, err := store.Head(ctx)
		caught := err == nil
		for _, s := range r.Status() {
			caught = caught && s.Leader && s.State == StateLive && s.Position == head
		}
		if caught {
			cancel()
			<-done
			return 0
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "crash child: did not catch up")
	return 3
}

func crashCmd(t *testing.T, e *env, exitWhenDone bool) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+e.dialect, crashURLEnv+"="+e.url)
	if exitWhenDone {
		cmd.Env = append(cmd.Env, crashExitEnv+"=1")
	}
	cmd.Stderr = os.Stderr
	return cmd
}

// kill -9 of a process in the middle of catch-up, then a restart: the read
// models equal a full rebuild (nothing lost, nothing applied twice).
func TestKill9MidCatchUp(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary; skipped in -short mode")
	}
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := ctxFor(t, 3*time.Minute)
		deliver(t, ctx, e.store, newScenario(21, 25, 15).deliveries(1500, 0.5))
		head, err := e.store.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		child := crashCmd(t, e, false)
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until the child is well into catch-up, then SIGKILL it.
		deadline := time.Now().Add(time.Minute)
		var at domain.Position
		for {
			if time.Now().After(deadline) {
				_ = child.Process.Kill()
				t.Fatal("the child never got going")
			}
			if _, ok, _ := loadVersions(ctx, sqlq{flavorOfEnv(e), e.db.DB}, "devices", ""); ok {
				if at = checkpointOf(t, e, "devices", 1); at.Seq > head.Seq/4 {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := child.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = child.Wait()
		killedAt := checkpointOf(t, e, "devices", 1)
		if !killedAt.Less(head) {
			t.Fatalf("the child had finished (%s of %s) before the kill; the test proves nothing", killedAt, head)
		}
		t.Logf("killed at devices checkpoint %s of %s", killedAt, head)

		restart := crashCmd(t, e, true)
		if err := restart.Run(); err != nil {
			t.Fatalf("restarted child: %v", err)
		}
		checkExactlyOnce(t, e)
		for _, name := range []string{"devices", "orders", "ledger", "witness"} {
			if p := checkpointOf(t, e, name, 1); p != head {
				t.Errorf("%s checkpoint after restart: %s, want %s", name, p, head)
			}
		}
		got := readAll(t, e.reader(t))
		r := e.runner(t)
		if _, err := r.Rebuild(ctx, RebuildOptions{}); err != nil {
			t.Fatal(err)
		}
		sameDump(t, "after kill -9 and restart vs rebuild", got, readAll(t, e.reader(t)))
	})
}

func flavorOfEnv(e *env) flavor {
	f, _ := flavorOf(e.db)
	return f
}
