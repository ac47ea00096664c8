package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The reliability tests run the real binary as child processes, so that a
// kill -9 is a real one: no deferred function, no flush, no graceful close.

// relBinEnv names a prebuilt binary to test instead of building this
// package: a release build, or a deliberately broken one to check that
// the suite notices.
const relBinEnv = "TIDEMARK_RELIABILITY_BIN"

// buildTidemark compiles this package into dir and returns the binary's
// path (or returns $TIDEMARK_RELIABILITY_BIN when set).
func buildTidemark(t *testing.T, dir string) string {
	t.Helper()
	if bin := os.Getenv(relBinEnv); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s: %v", relBinEnv, err)
		}
		t.Logf("testing %s (from %s)", bin, relBinEnv)
		return bin
	}
	goBin, err := exec.LookPath("go") // go test puts GOROOT/bin first on PATH
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	bin := filepath.Join(dir, "tidemark")
	// The test's own build settings (no -trimpath, no CGO_ENABLED override),
	// so the build cache the test binary was made from serves this build too.
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built %s in %s", bin, time.Since(start).Round(time.Millisecond))
	return bin
}

// serveProc is one `tidemark serve` child process.
type serveProc struct {
	t       *testing.T
	name    string
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	logPath string
	exited  chan struct{}
	waitErr error
}

// relServeEnv is the environment every serve child gets: the test's own,
// without any TIDEMARK_* variable that could change what is tested, plus
// the given settings.
func relServeEnv(settings map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TIDEMARK_") {
			env = append(env, kv)
		}
	}
	base := map[string]string{
		"TIDEMARK_LOG_FORMAT":       "json",
		"TIDEMARK_LOG_LEVEL":        "warn",
		"TIDEMARK_POLL_INTERVAL":    "50ms",
		"TIDEMARK_ENERGY_SECRET":    relEnergySecret,
		"TIDEMARK_SHUTDOWN_TIMEOUT": "5s",
	}
	for k, v := range settings {
		base[k] = v
	}
	for k, v := range base {
		env = append(env, k+"="+v)
	}
	return env
}

// startServe runs `tidemark serve` on addr ("" picks a free port) against
// dbURL and waits until /healthz answers. The process is killed when the
// test ends, and dies with the test process (parent-death signal).
func startServe(t *testing.T, bin, name, addr, dbURL string) *serveProc {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		a := addr
		if a == "" {
			a = freeAddr(t)
		}
		p, err := launchServe(t, bin, name, a, dbURL)
		if err == nil {
			return p
		}
		lastErr = err
		if addr != "" {
			break // a fixed address: retrying the same one would not help
		}
	}
	t.Fatalf("start %s: %v", name, lastErr)
	return nil
}

func launchServe(t *testing.T, bin, name, addr, dbURL string) (*serveProc, error) {
	settings := map[string]string{"TIDEMARK_ADDR": addr, "TIDEMARK_DATABASE_URL": dbURL}
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = relServeEnv(settings)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	p := &serveProc{t: t, name: name, cmd: cmd, base: "http://" + addr, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- %s log (tail) ---\n%s", name, p.logTail(6000))
		}
	})
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited before answering (%v):\n%s", name, p.waitErr, p.logTail(4000))
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := client.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("%s: /healthz did not answer 200 within 60s:\n%s", name, p.logTail(4000))
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *serveProc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop asks for a graceful shutdown (SIGTERM) and waits; it kills after 20s.
func (p *serveProc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(20 * time.Second):
		p.kill()
		return errors.New(p.name + " did not stop within 20s of SIGTERM")
	}
}

// alive reports whether the process is still running.
func (p *serveProc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *serveProc) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// waitFor polls cond every 100ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}
