package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgServer creates the run's databases (tidemark_bench_<random>_<what>)
// on the server named by the admin URL and drops them at the end.
type pgServer struct {
	admin   string
	prefix  string
	version string

	mu      sync.Mutex
	created []string
}

// connectPG checks that the server answers; the error says why not.
func connectPG(ctx context.Context, admin string) (*pgServer, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL at %s unreachable: %w", redact(admin), err)
	}
	defer conn.Close(context.Background())
	var version string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		return nil, fmt.Errorf("PostgreSQL at %s: %w", redact(admin), err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &pgServer{admin: admin, prefix: "tidemark_bench_" + hex.EncodeToString(b[:]), version: version}, nil
}

// create makes a fresh empty database and returns its URL.
func (p *pgServer) create(ctx context.Context, what string) (string, error) {
	name := p.prefix + "_" + what
	if err := p.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	if os.Getenv("TIDEMARK_BENCH_KEEP") == "" { // else kept (see doc.go)
		p.mu.Lock()
		p.created = append(p.created, name)
		p.mu.Unlock()
	}
	return withDatabase(p.admin, name)
}

// drop removes a database made by create, connections and all.
func (p *pgServer) drop(ctx context.Context, dbURL string) error {
	name, err := databaseOf(dbURL)
	if err != nil {
		return err
	}
	if err := p.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, n := range p.created {
		if n == name {
			p.created = append(p.created[:i], p.created[i+1:]...)
			break
		}
	}
	return nil
}

// dropAll drops what is left; it runs at the end even after an interrupt.
func (p *pgServer) dropAll() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p.mu.Lock()
	names := append([]string(nil), p.created...)
	p.mu.Unlock()
	var firstErr error
	for _, n := range names {
		u, err := withDatabase(p.admin, n)
		if err == nil {
			err = p.drop(ctx, u)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

func (p *pgServer) exec(ctx context.Context, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDatabase points a connection string (URL or key=value) at another database.
func withDatabase(conn, name string) (string, error) {
	if !strings.Contains(conn, "://") {
		return conn + " dbname=" + name, nil // a later keyword wins
	}
	u, err := url.Parse(conn)
	if err != nil {
		return "", fmt.Errorf("parse PostgreSQL URL: %w", err)
	}
	u.Path, u.RawPath = "/"+name, ""
	return u.String(), nil
}

func databaseOf(conn string) (string, error) {
	cfg, err := pgx.ParseConfig(conn)
	if err != nil {
		return "", fmt.Errorf("parse PostgreSQL URL: %w", err)
	}
	return cfg.Database, nil
}

// redact hides a password in a URL for messages.
func redact(conn string) string {
	u, err := url.Parse(conn)
	if err != nil || u.User == nil {
		return conn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return u.String()
}
