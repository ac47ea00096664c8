package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// relCluster is a private PostgreSQL server for one test, so that stopping
// it disturbs nobody (the shared server on 5432 serves other packages).
// adapters/testdb has a throwaway cluster too, but unexported and without
// stop/start; this one is started from the same local binaries.
//
// The postmaster runs as a child of the test process with a parent-death
// signal, so a test killed by its timeout does not leave a server behind;
// it is stopped with `pg_ctl stop -m fast`, the way an operator would.
type relCluster struct {
	bin, dir, data string
	port           int
	cred           *syscall.Credential // the postgres user when running as root
	url            string
	cmd            *exec.Cmd
	exited         chan struct{}
}

// startRelCluster runs initdb and starts the server, or skips the test
// saying precisely why this machine cannot run a private cluster.
func startRelCluster(t *testing.T) *relCluster {
	t.Helper()
	bin, err := relPGBinDir()
	if err != nil {
		t.Skipf("no private PostgreSQL cluster possible: %v", err)
	}
	c := &relCluster{bin: bin}
	if os.Geteuid() == 0 { // initdb and postgres refuse to run as root
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("no private PostgreSQL cluster possible: running as root and there is no postgres user to run initdb as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Not t.TempDir(): its parents are mode 0700 and owned by root, which the
	// postgres user could not traverse. Removed at the end all the same.
	c.dir, err = os.MkdirTemp("", "tidemark-reliab-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.kill()
		_ = os.RemoveAll(c.dir)
	})
	if c.cred != nil {
		if err := os.Chown(c.dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			t.Skipf("no private PostgreSQL cluster possible: chown %s to postgres: %v", c.dir, err)
		}
	}
	c.data = filepath.Join(c.dir, "data")
	initdb := c.command("initdb", "-D", c.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Skipf("no private PostgreSQL cluster possible: initdb failed: %v\n%s", err, out)
	}
	for attempt := 0; ; attempt++ {
		c.port = relFreePort(t)
		c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
		err := c.start()
		if err == nil {
			return c
		}
		if attempt == 2 {
			t.Fatalf("private PostgreSQL cluster: %v", err)
		}
	}
}

func (c *relCluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// start starts the postmaster on the cluster's port and waits until it
// accepts connections.
func (c *relCluster) start() error {
	logFile, err := os.OpenFile(filepath.Join(c.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := c.command("postgres", "-D", c.data, "-p", strconv.Itoa(c.port), "-k", c.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=100")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT // immediate shutdown if the test dies
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	c.cmd, c.exited = cmd, exited
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("postgres exited at start:\n%s", c.logTail())
		case <-time.After(100 * time.Millisecond):
		}
		if relPing(c.url) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			c.kill()
			return fmt.Errorf("postgres did not accept connections within 30s:\n%s", c.logTail())
		}
	}
}

// stop shuts the server down with `pg_ctl stop -m fast` (clients are
// disconnected, open transactions roll back) and waits until it is gone.
func (c *relCluster) stop(t *testing.T) {
	t.Helper()
	out, err := c.command("pg_ctl", "stop", "-D", c.data, "-m", "fast", "-w", "-t", "60").CombinedOutput()
	if err != nil {
		t.Fatalf("pg_ctl stop -m fast: %v\n%s", err, out)
	}
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("postgres still running 30s after pg_ctl stop")
	}
}

// kill stops the server at once if it runs (the test's cleanup).
func (c *relCluster) kill() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

func (c *relCluster) logTail() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "postgres.log"))
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// relPGBinDir is the bin directory of the newest local PostgreSQL server.
func relPGBinDir() (string, error) {
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		p, err := exec.LookPath("initdb")
		if err != nil {
			return "", errors.New("no PostgreSQL server binaries (initdb, pg_ctl, postgres) under /usr/lib/postgresql/*/bin or on PATH")
		}
		found = []string{p}
	}
	version := func(p string) float64 {
		parts := strings.Split(p, "/")
		if len(parts) > 4 {
			v, _ := strconv.ParseFloat(parts[4], 64)
			return v
		}
		return 0
	}
	sort.Slice(found, func(i, j int) bool { return version(found[i]) > version(found[j]) })
	dir := filepath.Dir(found[0])
	for _, tool := range []string{"pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(dir, tool)); err != nil {
			return "", fmt.Errorf("%s has initdb but no %s", dir, tool)
		}
	}
	return dir, nil
}

func relFreePort(t *testing.T) int {
	t.Helper()
	addr := freeAddr(t)
	port, _ := strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
	return port
}

func relPing(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}
