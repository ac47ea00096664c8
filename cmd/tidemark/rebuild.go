package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/projections"
)

// cmdRebuild rebuilds projections blue/green while any running `serve`
// keeps answering from the old version, or with --until writes a
// point-in-time copy for analysts without touching the served version.
func cmdRebuild(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("rebuild", "rebuild [--projection NAMES] [--until TIME | --list-copies | --drop-copy TIME] [flags]", e)
	dbURL := fs.String("database-url", envOr(e.getenv, "TIDEMARK_DATABASE_URL", "sqlite://./var/tidemark.db"), "database (env TIDEMARK_DATABASE_URL)")
	names := fs.String("projection", "", "comma-separated projections to rebuild (default: all: devices, orders, ledger)")
	until := fs.String("until", "", "RFC 3339 time: build a point-in-time copy of the events recorded up to it instead")
	memLimit := fs.Int64("memory-limit-mb", 280, "soft limit of the Go heap during the rebuild, in MiB (0: none, max 1048576); trades speed for a smaller peak")
	listCopies := fs.Bool("list-copies", false, "list the point-in-time copies (of --until) and exit")
	dropCopy := fs.String("drop-copy", "", "RFC 3339 time: drop the point-in-time copies made with --until at that time (of --projection, default all) and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := noArgs(fs, suggestRebuildFlag(fs)); err != nil {
		return err
	}
	if *memLimit < 0 || *memLimit > maxMemLimitMB {
		return fmt.Errorf("--memory-limit-mb %d: want 0 (none) to %d", *memLimit, maxMemLimitMB)
	}
	opts := projections.RebuildOptions{Projections: splitTokens(*names), MemoryLimit: *memLimit << 20}
	if *until != "" {
		t, err := time.Parse(time.RFC3339Nano, *until)
		if err != nil {
			return fmt.Errorf("--until: %q is not an RFC 3339 time", *until)
		}
		opts.Until = t
	}
	var dropAt time.Time
	if *dropCopy != "" {
		t, err := time.Parse(time.RFC3339Nano, *dropCopy)
		if err != nil {
			return fmt.Errorf("--drop-copy: %q is not an RFC 3339 time", *dropCopy)
		}
		dropAt = t
	}
	if *listCopies && *dropCopy != "" || (*listCopies || *dropCopy != "") && *until != "" {
		return errors.New("--list-copies, --drop-copy and --until do not go together")
	}
	st, err := openStorageFor(ctx, *dbURL, e.getenv("TIDEMARK_EVENTSTORE_URL"), time.Second, domain.SystemClock{})
	if err != nil {
		return err
	}
	defer st.Close()
	cfg := projections.Config{Store: st.Events, DB: st.DB, Logger: newLogger(Config{LogLevel: "warn"}, e)}
	switch {
	case *listCopies:
		copies, err := projections.Copies(ctx, cfg)
		if err != nil {
			return err
		}
		for _, c := range copies {
			fmt.Fprintf(e.stdout, "%s\t%s\t%s\n", c.Projection, c.Until.Format(time.RFC3339), strings.Join(c.Tables, ","))
		}
		return nil
	case *dropCopy != "":
		dropped, err := projections.DropCopy(ctx, cfg, dropAt, opts.Projections)
		if err != nil {
			return err
		}
		if len(dropped) == 0 {
			return fmt.Errorf("no point-in-time copy at %s", dropAt.UTC().Format(time.RFC3339))
		}
		fmt.Fprintf(e.stdout, "dropped %s\n", strings.Join(dropped, ", "))
		return nil
	}
	bar := newProgress(e.stderr)
	opts.Progress = bar.update
	results, err := projections.Rebuild(ctx, cfg, opts)
	bar.finish()
	if err != nil {
		return err
	}
	for _, r := range results {
		what := fmt.Sprintf("now serving version %d", r.Version)
		if r.Version == 0 {
			what = "point-in-time copy"
		}
		fmt.Fprintf(e.stdout, "%s: %s, %d events in %s, tables %s, poison %d\n",
			r.Projection, what, r.Events, r.Duration.Round(time.Millisecond), strings.Join(r.Tables, ", "), r.Poison)
	}
	return nil
}

// maxMemLimitMB bounds --memory-limit-mb (1 TiB) so that it fits in bytes.
const maxMemLimitMB = 1 << 20

// suggestRebuildFlag maps a stray argument of rebuild to its flag:
// projection names to --projection, a time to --until, a URL to
// --database-url.
func suggestRebuildFlag(fs *flag.FlagSet) func(string) string {
	return func(arg string) string {
		switch {
		case !flagGiven(fs, "projection") && areProjections(arg):
			return "--projection " + arg
		case !flagGiven(fs, "until") && isRFC3339(arg):
			return "--until " + arg
		case !flagGiven(fs, "database-url") && strings.Contains(arg, "://"):
			return "--database-url " + arg
		}
		return ""
	}
}

// areProjections reports whether s is a comma-separated list of projection names.
func areProjections(s string) bool {
	names := splitTokens(s)
	for _, n := range names {
		if !slices.ContainsFunc(projections.Default(), func(p projections.Projection) bool { return p.Name() == n }) {
			return false
		}
	}
	return len(names) > 0
}

func isRFC3339(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// progress draws a bar on a terminal and plain lines elsewhere.
type progress struct {
	w        io.Writer
	bar      *progressbar.ProgressBar
	tty      bool
	phase    string
	lastLine time.Time
}

func newProgress(w io.Writer) *progress { return &progress{w: w, tty: isTerminal(w)} }

func (p *progress) update(pr projections.Progress) {
	if p.tty {
		if p.bar == nil || pr.Phase != p.phase {
			if p.bar != nil {
				p.bar.Finish()
				fmt.Fprintln(p.w)
			}
			p.bar = progressbar.NewOptions64(max(pr.Total, 1), progressbar.OptionSetWriter(p.w),
				progressbar.OptionSetDescription(pr.Phase), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("events"), progressbar.OptionThrottle(100*time.Millisecond))
		}
		p.bar.ChangeMax64(max(pr.Total, 1))
		p.bar.Set64(pr.Done)
	} else if pr.Phase != p.phase || time.Since(p.lastLine) > 5*time.Second {
		fmt.Fprintf(p.w, "rebuild %s: %d/%d events, %.0f events/s, ETA %.0fs\n", pr.Phase, pr.Done, pr.Total, pr.Rate, pr.ETASeconds)
		p.lastLine = time.Now()
	}
	p.phase = pr.Phase
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}
