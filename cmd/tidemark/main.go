// Command tidemark is the one binary of Tidemark: the service and its tools.
//
//	tidemark serve       run the HTTP service and the projections
//	tidemark migrate     apply the database migrations and exit
//	tidemark sign        compute or detect energy callback signatures
//	tidemark rebuild     rebuild projections blue/green (or a point-in-time copy)
//	tidemark reconcile   compare a platform statement with the ledger
//	tidemark events      export or import the event log
//	tidemark simulate    send realistic platform callbacks to a URL
//
// Configuration comes from TIDEMARK_* variables and flags, read only here;
// a flag wins over its variable, and only the value in effect is read and
// checked. Every command takes flags only (a stray argument is an error
// suggesting the flag it was meant for); `tidemark COMMAND -h` lists them
// with their defaults and variables.
//
// Exit status: 0 on success and when help was asked for (-h), 1 when a
// command fails (bad flags or settings included), 2 for a missing or
// unknown command.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, env env) error
}

// env is the outside world a command sees, injected for tests.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP service and the projections", cmdServe},
		{"migrate", "apply the database migrations and exit", cmdMigrate},
		{"sign", "compute|detect an energy callback signature", cmdSign},
		{"events", "export|import the event log as JSON Lines", cmdEvents},
		{"simulate", "send realistic platform callbacks to a URL", cmdSimulate},
		{"reconcile", "compare a platform statement CSV with the ledger", cmdReconcile},
		{"rebuild", "rebuild projections blue/green, or --until TIME for a point-in-time copy", cmdRebuild},
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	e := env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			if err := c.run(ctx, args[1:], e); err != nil && !isHelp(err) { // -h printed the usage: success
				fmt.Fprintf(stderr, "tidemark %s: %v\n", c.name, err)
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(stderr, "tidemark: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: tidemark COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nrun 'tidemark COMMAND -h' for a command's flags; every flag of serve is also a TIDEMARK_* variable")
}
