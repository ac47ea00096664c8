package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
)

// newFlagSet returns the flag set of a command: errors are returned, not
// fatal, and -h prints the synopsis then every flag with its default.
func newFlagSet(name, synopsis string, e env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: tidemark %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// noArgs refuses the positional arguments left after the flags: every
// command takes flags only. suggest names the flag a stray argument was
// probably meant for ("" when it cannot tell).
func noArgs(fs *flag.FlagSet, suggest func(arg string) string) error {
	if fs.NArg() == 0 {
		return nil
	}
	quoted := make([]string, fs.NArg())
	for i, a := range fs.Args() {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	msg := "unexpected argument " + quoted[0]
	if len(quoted) > 1 {
		msg = "unexpected arguments " + strings.Join(quoted, " ")
	}
	if hint := suggest(fs.Arg(0)); hint != "" {
		return fmt.Errorf("%s: did you mean %s?", msg, hint)
	}
	if slices.ContainsFunc(fs.Args()[1:], func(a string) bool { return strings.HasPrefix(a, "-") }) {
		return fmt.Errorf("%s: flags go before any other argument, and this command takes flags only (see -h)", msg)
	}
	return fmt.Errorf("%s: this command takes flags only (see -h)", msg)
}

// suggestFlag suggests giving a stray argument to the flag name, unless
// that flag was given too.
func suggestFlag(fs *flag.FlagSet, name string) func(string) string {
	return func(arg string) string {
		if flagGiven(fs, name) {
			return ""
		}
		return "--" + name + " " + arg
	}
}

// flagGiven reports whether the flag name was on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// subcommand reads the first argument of a command with subcommands
// (sign, events): one of names, or -h, which prints usage and returns
// flag.ErrHelp.
func subcommand(args []string, e env, usage string, names ...string) (string, error) {
	switch {
	case len(args) == 0:
		return "", fmt.Errorf("missing subcommand %s (usage: %s)", strings.Join(names, "|"), usage)
	case args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help":
		fmt.Fprintf(e.stderr, "usage: %s\n\nrun 'tidemark %s SUBCOMMAND -h' for its flags\n", usage, strings.Fields(usage)[1])
		return "", flag.ErrHelp
	case !slices.Contains(names, args[0]):
		return "", fmt.Errorf("unknown subcommand %q, want %s (usage: %s)", args[0], strings.Join(names, " or "), usage)
	}
	return args[0], nil
}

// isHelp reports an error that only says help was asked for.
func isHelp(err error) bool { return errors.Is(err, flag.ErrHelp) }
