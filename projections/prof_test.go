package projections

import (
	"context"
	"log/slog"
	"os"
	"runtime/pprof"
	"testing"
	"time"
)

func TestProfRebuild(t *testing.T) {
	if os.Getenv("PROF") == "" {
		t.Skip()
	}
	e := newEnv(t, os.Getenv("PROF"))
	ctx := context.Background()
	sc := newScenario(7, 2000, 5000)
	im := newImporter()
	var imported int64
	for imported < 100000 {
		evs := im.events(t, sc.deliveries(50000, 0.5))
		w, err := e.store.Import(ctx, evs)
		if err != nil {
			t.Fatal(err)
		}
		imported += w
	}
	waitCount(t, e, int(imported))
	cfg := e.config(func(c *Config) {
		c.DropGrace = time.Millisecond
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	})
	f, _ := os.Create("/tmp/rebuild.prof")
	_ = pprof.StartCPUProfile(f)
	defer pprof.StopCPUProfile()
	t0 := time.Now()
	last := ""
	_, err := Rebuild(ctx, cfg, RebuildOptions{Progress: func(p Progress) {
		if p.Phase != last {
			t.Logf("%v %s done=%d", time.Since(t0), p.Phase, p.Done)
			last = p.Phase
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("total %v", time.Since(t0))
}
