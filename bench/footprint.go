package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// benchFootprint builds the static binary as `make build` does and the
// bare echo server with the same flags, then starts each, waits for
// /healthz, lets it settle and reads its VmRSS.
func (b *bench) benchFootprint(ctx context.Context) {
	dir := filepath.Join(b.tmp, "footprint")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.figs.skipPrefix("footprint.", err.Error())
		return
	}
	bin := filepath.Join(dir, "tidemark")
	echoBin := filepath.Join(dir, "echoserver")
	b.logf("footprint: building ./cmd/tidemark and ./bench/echoserver (CGO_ENABLED=0, -trimpath -ldflags \"-s -w\")")
	if err := b.goBuild(ctx, bin, "./cmd/tidemark"); err != nil {
		b.figs.skipPrefix("footprint.", err.Error())
		return
	}
	var echoSize, echoRSS *float64
	var echoNote string
	if err := b.goBuild(ctx, echoBin, "./bench/echoserver"); err != nil {
		echoNote = "; echo server baseline: " + err.Error()
	} else if fi, err := os.Stat(echoBin); err == nil {
		echoSize = num(mb(fi.Size()))
		rss, err := idleRSS(ctx, echoBin, nil, nil, dir, b.o.Settle)
		if err != nil {
			echoNote = "; echo server idle RSS: " + err.Error()
		} else {
			echoRSS = num(mb(rss))
		}
	}
	fi, err := os.Stat(bin)
	if err != nil {
		b.figs.skipPrefix("footprint.", err.Error())
		return
	}
	b.figs.set("footprint.binary_size", mb(fi.Size()), echoSize,
		fmt.Sprintf("%d bytes, CGO_ENABLED=0 go build -trimpath -ldflags \"-s -w\" ./cmd/tidemark", fi.Size())+echoNote)
	env := []string{"TIDEMARK_ADDR=127.0.0.1:0", "TIDEMARK_DATABASE_URL=sqlite://" + filepath.Join(dir, "var", "tidemark.db"),
		"TIDEMARK_LOG_LEVEL=warn"}
	rss, err := idleRSS(ctx, bin, []string{"serve"}, env, dir, b.o.Settle)
	if err != nil {
		b.figs.skip("footprint.idle_rss", err.Error())
		return
	}
	b.figs.set("footprint.idle_rss", mb(rss), echoRSS,
		fmt.Sprintf("VmRSS of `tidemark serve` on a new SQLite file, %s after /healthz first answered (projections running, no traffic)", b.o.Settle))
	b.logf("footprint: binary %.1f MB, idle RSS %.1f MB", mb(fi.Size()), mb(rss))
}

func (b *bench) goBuild(ctx context.Context, out, pkg string) error {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("go not on PATH: %w", err)
	}
	cmd := exec.CommandContext(ctx, gobin, "build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Dir = b.o.Root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if outp, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w: %s", pkg, err, tail(string(outp), 400))
	}
	return nil
}

var listeningRE = regexp.MustCompile(`listening on (\S+)`)

// idleRSS starts bin, waits for the address it prints and for /healthz,
// waits settle and returns its VmRSS; then stops it.
func idleRSS(ctx context.Context, bin string, args, env []string, dir string, settle time.Duration) (int64, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TIDEMARK_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	exited := make(chan error, 1)
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-exited:
		exited <- err
		return 0, fmt.Errorf("%s exited before listening: %w: %s", filepath.Base(bin), err, tail(stderr.String(), 400))
	case <-time.After(60 * time.Second):
		return 0, fmt.Errorf("%s printed no listening address within 60 s", filepath.Base(bin))
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if err := waitHealthy(ctx, "http://"+addr+"/healthz", 60*time.Second); err != nil {
		return 0, err
	}
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return statusBytes(cmd.Process.Pid, "VmRSS")
}

func waitHealthy(ctx context.Context, url string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		if status, err := do(ctx, client, http.MethodGet, url, nil); err == nil && status == http.StatusOK {
			client.CloseIdleConnections()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer 200 within %s", url, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
