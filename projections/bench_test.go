package projections

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// BenchmarkRebuild imports N events (TIDEMARK_BENCH_EVENTS, default
// 100,000; half car-wash over 2,000 devices, half energy over N/20 orders),
// then rebuilds all projections. Reported beside the rebuild rate is the
// baseline measured in the same run: reading the same events with ReadAll
// without folding. peak-RSS-MB is VmHWM, reset before each rebuild.
func BenchmarkRebuild(b *testing.B) {
	for _, d := range []string{"postgres", "sqlite"} {
		b.Run(d, func(b *testing.B) { benchRebuild(b, d) })
	}
}

func benchRebuild(b *testing.B, dialect string) {
	n := 100_000
	if s := os.Getenv("TIDEMARK_BENCH_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("TIDEMARK_BENCH_EVENTS=%q", s)
		}
		n = v
	}
	e := newEnv(b, dialect)
	ctx := context.Background()
	sc := newScenario(7, 2000, max(1, n/20))
	im := newImporter()
	var imported int64
	for imported < int64(n) {
		chunk := min(50_000, n-int(imported))
		evs := im.events(b, sc.deliveries(chunk, 0.5))
		w, err := e.store.Import(ctx, evs)
		if err != nil {
			b.Fatal(err)
		}
		imported += w
	}
	for {
		head, err := e.store.Head(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if head.Seq >= imported {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cfg := e.config(func(c *Config) { c.DropGrace = time.Millisecond })

	// Each iteration: the baseline (ReadAll of every event, no folding),
	// a rebuild with Go's default GC pacing, and one under a soft heap
	// limit (RebuildOptions.MemoryLimit, TIDEMARK_BENCH_MEMLIMIT_MB,
	// default 280).
	limitMB := 280
	if s := os.Getenv("TIDEMARK_BENCH_MEMLIMIT_MB"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("TIDEMARK_BENCH_MEMLIMIT_MB=%q", s)
		}
		limitMB = v
	}
	var readDur time.Duration
	durs, peaks := make([]time.Duration, 2), make([]float64, 2)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		var read int64
		pos := domain.Start
		for {
			batch, err := e.store.ReadAll(ctx, pos, DefaultRebuildBatchSize)
			if err != nil {
				b.Fatal(err)
			}
			if len(batch) == 0 {
				break
			}
			read += int64(len(batch))
			pos = batch[len(batch)-1].Position
		}
		readDur += time.Since(t0)
		if read != imported {
			b.Fatalf("read %d events, imported %d", read, imported)
		}
		for i, limit := range []int64{0, int64(limitMB) << 20} {
			runtime.GC()
			debug.FreeOSMemory()
			resetPeakRSS()
			t1 := time.Now()
			res, err := Rebuild(ctx, cfg, RebuildOptions{MemoryLimit: limit})
			if err != nil {
				b.Fatal(err)
			}
			durs[i] += time.Since(t1)
			peaks[i] = max(peaks[i], peakRSSMB())
			if len(res) != 3 || res[0].Events == 0 {
				b.Fatalf("rebuild results: %+v", res)
			}
		}
	}
	b.StopTimer()
	total := float64(imported) * float64(b.N)
	readRate := total / readDur.Seconds()
	rate, rateLim := total/durs[0].Seconds(), total/durs[1].Seconds()
	b.ReportMetric(float64(imported), "events")
	b.ReportMetric(readRate, "readall-events/s")
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(rate/readRate, "rebuild/readall")
	b.ReportMetric(peaks[0], "peak-RSS-MB")
	b.ReportMetric(rateLim, "events/s-memlimit")
	b.ReportMetric(peaks[1], "peak-RSS-MB-memlimit")
	b.ReportMetric(float64(limitMB), "memlimit-MB")
}

// resetPeakRSS resets VmHWM (Linux: "5" to clear_refs), so the peak seen
// is the rebuild's, not the data generation's.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMB reads VmHWM from /proc/self/status, in MiB.
func peakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkLiveApply measures the live path: a runner catching up in
// live-sized batches (BatchSize 50, as a projection following ~5,000
// callbacks/s applies them), against reading the same events in the same
// batches (the baseline). It reports events/s and the process CPU time per
// event, the figure that decides how much of the machine the live
// projections take from ingest and queries.
func BenchmarkLiveApply(b *testing.B) {
	for _, d := range []string{"postgres", "sqlite"} {
		b.Run(d, func(b *testing.B) { benchLiveApply(b, d) })
	}
}

func benchLiveApply(b *testing.B, dialect string) {
	const n, batch = 20_000, 50
	ctx := context.Background()
	var applyDur, readDur, cpu time.Duration
	for range b.N {
		b.StopTimer()
		e := newEnv(b, dialect)
		sc := newScenario(11, 200, 400) // a fleet's worth of devices with long histories
		if _, err := e.store.Import(ctx, newImporter().events(b, sc.deliveries(n, 0.35))); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		var read int
		for pos := domain.Start; ; {
			evs, err := e.store.ReadAll(ctx, pos, batch)
			if err != nil {
				b.Fatal(err)
			}
			if len(evs) == 0 {
				break
			}
			read += len(evs)
			pos = evs[len(evs)-1].Position
		}
		readDur += time.Since(t0)
		if read != n {
			b.Fatalf("read %d events, imported %d", read, n)
		}
		b.StartTimer()
		cpu0 := processCPU()
		t1 := time.Now()
		r := e.runner(b, func(c *Config) { c.BatchSize = batch })
		stop := start(b, r)
		waitCaughtUp(b, e, r)
		applyDur += time.Since(t1)
		cpu += processCPU() - cpu0
		b.StopTimer()
		stop()
		b.StartTimer()
	}
	total := float64(n * b.N)
	b.ReportMetric(total/applyDur.Seconds(), "events/s")
	b.ReportMetric(total/readDur.Seconds(), "readall-events/s")
	b.ReportMetric(float64(cpu.Microseconds())/total, "cpu-µs/event")
}

// processCPU is the user+system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
