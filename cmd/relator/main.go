// Command relator turns a stream of news and geopolitical events into a
// reviewed graph of typed relations between them. See the README.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/relator/relator/config"
)

// command is one subcommand: its flags are registered on fs by setup, which
// returns the function that runs it once flags are parsed.
type command struct {
	name, args, summary string
	setup               func(fs *flag.FlagSet) func(ctx context.Context, inv invocation) error
	// graceful commands wind down on SIGINT/SIGTERM: inv.stop is closed,
	// and ctx is cancelled only after the grace period (or a second
	// signal). The others are cancelled at once.
	graceful bool
}

// env is what a command line may touch of the outside world, so that tests
// can run it without a process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
	// interrupt delivers SIGINT and SIGTERM; nil in tests that send none.
	interrupt <-chan os.Signal
}

// invocation is what a command runs with: the validated configuration, a
// logger built from it, its positional arguments and the process's streams.
type invocation struct {
	cfg    config.Config
	log    *slog.Logger
	args   []string
	stdin  io.Reader
	stdout io.Writer
	// stderr is for a command whose stdout carries data (export): its
	// summary line goes here.
	stderr io.Writer
	// stop is closed when a graceful command must stop taking new work.
	stop <-chan struct{}
}

func commands() []command {
	return []command{
		{"migrate", "", "apply the embedded schema migrations", migrateCmd, false},
		{"import", "FILE|-", "upsert events from event JSONL (- reads stdin)", importCmd, false},
		{"run", "[--batch]", "one pass: embed what is pending, analyse what is pending, write pending relations", runCmd, true},
		{"backfill", "--from DATE --to DATE [--reanalyze] [--limit N] [--batch]", "embed and analyse a range of history in time order; resumable", backfillCmd, true},
		{"schedule", "[--spec CRON] [--run-now]", "stay up and do a run pass on a cron schedule, one pass per tick across replicas", scheduleCmd, true},
		{"runs", "[--limit N] [--json]", "list recent runs, newest first", runsCmd, false},
		{"status", "", "pending, claimed, failed and dead analyses per analysis key; newest errors", statusCmd, false},
		{"requeue", "[--dead] [--event ID…]", "put failed (and with --dead, dead-lettered) analyses back", requeueCmd, false},
		{"batches", "[--limit N] [--json]", "list Batch API batches, newest first; poll the open ones and collect those ended", batchesCmd, false},
		{"show", "EVENT_ID", "print one event with its related events from both directions", showCmd, false},
		{"review", "list | show ID | approve ID… | reject ID… --note | edit ID | stats", "list, show, approve, reject and edit relations; review figures", reviewCmd, false},
		{"export", "[--status approved] [--format jsonl|csv|graphml] [-o FILE]", "write the reviewed graph for analysts' tools", exportCmd, false},
		{"bench", "[--offline | --knn --vectors N --dims D] [--events N] [--json]", "measure throughput, efficiency and search latency on synthetic data, in a throwaway database", benchCmd, false},
		{"eval", "--events FILE [--k K] [--json]", "measure retrieval and linking quality on a story-labelled event file", evalCmd, false},
	}
}

func main() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	code := run(context.Background(), os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		lookupEnv: os.LookupEnv, interrupt: sigs})
	os.Exit(code)
}

// onInterrupt turns the first SIGINT/SIGTERM into stop (a graceful command)
// and cancels ctx after grace or at a second signal; a command that is not
// graceful is cancelled at once.
func onInterrupt(ctx context.Context, e env, graceful bool, grace time.Duration, log *slog.Logger) (context.Context, <-chan struct{}, func()) {
	ctx, cancel := context.WithCancel(ctx)
	stop := make(chan struct{})
	go func() {
		select {
		case <-e.interrupt:
		case <-ctx.Done():
			return
		}
		if !graceful {
			cancel()
			return
		}
		log.Info("stopping: no new work is claimed; work in flight may finish", "grace_period", grace.String())
		close(stop)
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-e.interrupt:
			log.Warn("second signal: cancelling work in flight")
		case <-t.C:
			log.Warn("grace period over: cancelling work in flight")
		case <-ctx.Done():
		}
		cancel()
	}()
	return ctx, stop, cancel
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var cmd *command
	for _, c := range commands() {
		if c.name == args[0] {
			cmd = &c
			break
		}
	}
	if cmd == nil {
		fmt.Fprintf(e.stderr, "relator: unknown command %q\n\n", args[0])
		usage(e.stderr)
		return 2
	}

	fs := flag.NewFlagSet("relator "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: relator %s %s\n\n%s\n\nflags (each also read from the environment variable named):\n", cmd.name, cmd.args, cmd.summary)
		fs.PrintDefaults()
	}
	loadConfig := config.Flags(fs, e.lookupEnv)
	runCommand := cmd.setup(fs)
	if err := fs.Parse(interleave(fs, args[1:])); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg, err := loadConfig()
	if err != nil {
		fmt.Fprintf(e.stderr, "relator %s: configuration: %v\n", cmd.name, err)
		return 2
	}
	log := newLogger(e.stderr, cfg)
	ctx, stop, cancel := onInterrupt(ctx, e, cmd.graceful, cfg.GracePeriod, log)
	defer cancel()
	inv := invocation{cfg: cfg, log: log, args: fs.Args(), stdin: e.stdin, stdout: e.stdout, stderr: e.stderr, stop: stop}
	if err := runCommand(ctx, inv); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(e.stderr, "relator %s: %v\n", cmd.name, err)
			fs.Usage()
			return 2
		}
		fmt.Fprintf(e.stderr, "relator %s: %v\n", cmd.name, err)
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

// usageError is a command line that cannot be run as given.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// exitError is an error with an exit code of its own (see passExit).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: relator COMMAND [flags] [args]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nrelator COMMAND -h lists a command's flags; every flag can also be set by environment variable.")
}

// interleave moves positional arguments after the flags, so that
// `relator import FILE -database-url …` works as well as the reverse.
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' {
			flags = append(flags, a)
			name := a[1:]
			if len(name) > 0 && name[0] == '-' {
				name = name[1:]
			}
			if f := fs.Lookup(name); f != nil && !isBool(f) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
			continue
		}
		positional = append(positional, a)
	}
	return append(flags, positional...)
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func newLogger(w io.Writer, cfg config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
