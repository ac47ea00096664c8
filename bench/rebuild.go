package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/projections"
)

// The rebuild and its baseline run in child processes (this binary
// re-executed with these variables set), so that each peak RSS (VmHWM) is
// that work's alone and not the generator's or the other stores'.
const (
	childEnv     = "TIDEMARK_BENCH_CHILD" // childRebuild or childReadAll
	childKindEnv = "TIDEMARK_BENCH_CHILD_KIND"
	childDSNEnv  = "TIDEMARK_BENCH_CHILD_DSN"
	// childMemLimitEnv is the rebuild's RebuildOptions.MemoryLimit in bytes.
	childMemLimitEnv = "TIDEMARK_BENCH_CHILD_MEMLIMIT"

	childRebuild = "rebuild"
	childReadAll = "readall"
)

// childResult is what a child prints on stdout, as JSON.
type childResult struct {
	Events       int64   `json:"events"`
	Seconds      float64 `json:"seconds"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
	Error        string  `json:"error,omitempty"`
}

// loadedStore is a store holding the imported events, kept for the rebuild.
type loadedStore struct {
	kind, dsn string
	events    int64
	cleanup   func()
}

// benchRebuild rebuilds all projections from the loaded events of each
// store in a child process, after a plain ReadAll pass over the same
// events in another child (the baseline; it also warms the caches). The
// rebuild process runs under RebuildOptions.MemoryLimit, as a process that
// only rebuilds is meant to; on PostgreSQL it is run again with Go's
// default GC pacing, for comparison.
func (b *bench) benchRebuild(ctx context.Context) {
	limit := int64(b.o.RebuildMemLimitMB) << 20
	b.sizes["rebuild: heap limit of the rebuild process (MB, 0 = none)"] = b.o.RebuildMemLimitMB
	for _, ls := range b.loaded {
		prefix := "rebuild." + ls.kind + "."
		b.logf("rebuild: %s, %d events: ReadAll pass", ls.kind, ls.events)
		base, err := runChild(ctx, childReadAll, ls.kind, ls.dsn, 0)
		if err != nil {
			b.figs.skipPrefix(prefix, "ReadAll baseline: "+err.Error())
			continue
		}
		if base.Events == 0 || base.Seconds <= 0 {
			b.figs.skipPrefix(prefix, fmt.Sprintf("nothing to measure: %d events read in %.3fs", base.Events, base.Seconds))
			continue
		}
		b.logf("rebuild: %s: ReadAll %d events in %.2fs; rebuilding (heap limit %d MB)", ls.kind, base.Events, base.Seconds, b.o.RebuildMemLimitMB)
		b.rebuildOnce(ctx, ls, base, limit, prefix+"rate", prefix+"peak_rss")
		if ls.kind != kindPostgres {
			continue
		}
		if limit == 0 {
			b.figs.skip(prefix+"rate_gc_default", "the rows above ran without a heap limit (-rebuild-memlimit-mb 0)")
			b.figs.skip(prefix+"peak_rss_gc_default", "the rows above ran without a heap limit (-rebuild-memlimit-mb 0)")
			continue
		}
		b.logf("rebuild: %s: rebuilding again, no heap limit", ls.kind)
		b.rebuildOnce(ctx, ls, base, 0, prefix+"rate_gc_default", prefix+"peak_rss_gc_default")
	}
}

// rebuildOnce runs one rebuild child and records its rate and peak RSS.
func (b *bench) rebuildOnce(ctx context.Context, ls loadedStore, base childResult, limit int64, rateID, rssID string) {
	res, err := runChild(ctx, childRebuild, ls.kind, ls.dsn, limit)
	if err == nil && res.Seconds <= 0 {
		err = fmt.Errorf("the rebuild took %.3fs", res.Seconds)
	}
	if err != nil {
		b.figs.skip(rateID, err.Error())
		b.figs.skip(rssID, err.Error())
		return
	}
	limitText := "no heap limit (Go's default GC pacing)"
	if limit > 0 {
		limitText = fmt.Sprintf("RebuildOptions.MemoryLimit %d MB", limit>>20)
	}
	rate := float64(base.Events) / res.Seconds
	note := fmt.Sprintf("%d events in the log, rebuilt (all projections, blue/green, bulk writes) in %.2fs in a child process "+
		"with %s; its pass folded %d events; ReadAll pass over the same events in %.2fs (batches of %d), peak RSS %.0f MB",
		base.Events, res.Seconds, limitText, res.Events, base.Seconds, projections.DefaultRebuildBatchSize, mb(base.PeakRSSBytes))
	b.figs.set(rateID, rate, num(float64(base.Events)/base.Seconds), note)
	if res.PeakRSSBytes <= 0 {
		b.figs.skip(rssID, "VmHWM not available (needs Linux /proc)")
		return
	}
	var baseRSS *float64
	if base.PeakRSSBytes > 0 {
		baseRSS = num(mb(base.PeakRSSBytes))
	}
	b.figs.set(rssID, mb(res.PeakRSSBytes), baseRSS,
		"VmHWM of the rebuild's process (store opened, rebuild run), from /proc/self/status; "+limitText)
	b.logf("rebuild: %s %.0f events/s, peak RSS %.0f MB (%s)", ls.kind, rate, mb(res.PeakRSSBytes), limitText)
}

// runChild re-executes this binary in a child mode and reads its result.
func runChild(ctx context.Context, mode, kind, dsn string, memLimit int64) (childResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return childResult{}, fmt.Errorf("own executable: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), childEnv+"="+mode, childKindEnv+"="+kind, childDSNEnv+"="+dsn,
		childMemLimitEnv+"="+strconv.FormatInt(memLimit, 10))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var res childResult
	if err := json.Unmarshal(bytes.TrimSpace(lastLine(stdout.Bytes())), &res); err != nil {
		return res, fmt.Errorf("%s child: %w; no result (%w): %s", mode, runErr, err, tail(stderr.String(), 400))
	}
	if res.Error != "" {
		return res, fmt.Errorf("%s child: %s", mode, res.Error)
	}
	if runErr != nil {
		return res, fmt.Errorf("%s child: %w: %s", mode, runErr, tail(stderr.String(), 400))
	}
	return res, nil
}

// childMain is the child's whole life: do the work, print the result.
func childMain(mode string) int {
	ctx := context.Background()
	var res childResult
	if dir := os.Getenv("TIDEMARK_BENCH_CPUPROFILE"); dir != "" { // a debugging aid (doc.go)
		if f, err := os.Create(filepath.Join(dir, mode+"-"+os.Getenv(childKindEnv)+".pprof")); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	err := func() error {
		st, err := openStore(ctx, os.Getenv(childKindEnv), os.Getenv(childDSNEnv))
		if err != nil {
			return err
		}
		defer st.close()
		switch mode {
		case childReadAll:
			res.Events, res.Seconds, err = readAllPass(ctx, st.events)
		case childRebuild:
			limit, perr := strconv.ParseInt(os.Getenv(childMemLimitEnv), 10, 64)
			if perr != nil {
				return fmt.Errorf("%s: %w", childMemLimitEnv, perr)
			}
			res.Events, res.Seconds, err = rebuildAll(ctx, st, limit)
		default:
			err = fmt.Errorf("unknown child mode %q", mode)
		}
		if err != nil {
			return err
		}
		res.PeakRSSBytes, err = statusBytes(0, "VmHWM")
		return err
	}()
	if err != nil {
		res.Error = err.Error()
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
	if err != nil {
		return 1
	}
	return 0
}

// readAllPass reads the whole log in rebuild-sized batches.
func readAllPass(ctx context.Context, st domain.EventStore) (int64, float64, error) {
	t0 := time.Now()
	var n int64
	pos := domain.Start
	for {
		batch, err := st.ReadAll(ctx, pos, projections.DefaultRebuildBatchSize)
		if err != nil {
			return n, 0, fmt.Errorf("read all: %w", err)
		}
		if len(batch) == 0 {
			return n, time.Since(t0).Seconds(), nil
		}
		n += int64(len(batch))
		pos = batch[len(batch)-1].Position
	}
}

// rebuildAll rebuilds every projection as `tidemark rebuild` does; the
// replaced versions are dropped at once instead of after a grace period.
func rebuildAll(ctx context.Context, st *store, memLimit int64) (int64, float64, error) {
	var done int64
	cfg := projections.Config{Store: st.events, DB: st.db, DropGrace: time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)}
	t0 := time.Now()
	phase, heapDone := "", false
	res, err := projections.Rebuild(ctx, cfg, projections.RebuildOptions{MemoryLimit: memLimit, Progress: func(p projections.Progress) {
		done = max(done, p.Done)
		if p.Phase != phase && os.Getenv("TIDEMARK_BENCH_TRACE") != "" {
			phase = p.Phase
			fmt.Fprintf(os.Stderr, "%6.2fs %s (%d events)\n", time.Since(t0).Seconds(), phase, p.Done)
		}
		if f := os.Getenv("TIDEMARK_BENCH_HEAPPROFILE"); f != "" && p.Phase == projections.PhaseWriting && !heapDone {
			heapDone = true
			if w, err := os.Create(f); err == nil {
				runtime.GC()
				runtime.GC() // a heap profile shows the heap of the last complete cycle
				_ = pprof.WriteHeapProfile(w)
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				fmt.Fprintf(os.Stderr, "heap alloc %d MB, sys %d MB, GCs %d\n", ms.HeapAlloc>>20, ms.Sys>>20, ms.NumGC)
				_ = w.Close()
			}
		}
	}})
	took := time.Since(t0).Seconds()
	if err != nil {
		return done, took, fmt.Errorf("rebuild: %w", err)
	}
	if len(res) != len(projections.Default()) {
		return done, took, errors.New("rebuild: not every projection was rebuilt")
	}
	return done, took, nil
}

func lastLine(b []byte) []byte {
	b = bytes.TrimRight(b, "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
