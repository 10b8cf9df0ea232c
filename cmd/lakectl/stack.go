package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/internal/termout"
	"github.com/finlake/finlake/stack"
)

// stackChildEnv marks the supervisor process that `stack up --detach` forks.
const stackChildEnv = "FINLAKE_STACK_DETACHED"

func init() {
	register(&cli.Command{
		Name:  "stack",
		Usage: "run the whole pipeline as local processes (no Docker): up, status, logs, down",
		Description: `The stack is: the Kafka broker (from the jars), the topics, the Flink job (local
MiniCluster, web UI on :8081, resuming from its newest retained checkpoint), the rules
watcher on config/rules.yaml, ingest, the Flight SQL server and the generator. They start
in dependency order, each once the previous ones are healthy; a process that dies is
restarted with exponential backoff. Everything lives under --data: logs in <data>/logs
(JSON lines, one file per process), the supervisor's pid and state in <data>/stack.
'up' again after 'down' resumes with the lake, the topics and the Flink state intact.

Examples:
  lakectl stack up                        # foreground; Ctrl-C stops everything
  lakectl stack up --detach --rate 100    # background; returns once all are healthy
  lakectl stack status
  lakectl stack logs -f flink
  lakectl stack down`,
		Commands: []*cli.Command{stackUpCmd(), stackDownCmd(), stackStatusCmd(), stackLogsCmd()},
	})
}

func portFlag(name, env string, def int, what string) cli.Flag {
	return &cli.IntFlag{Name: name, Value: def, Sources: cli.EnvVars(env), Usage: what + " port on 127.0.0.1"}
}

func stackUpCmd() *cli.Command {
	p := stack.DefaultPorts()
	return &cli.Command{
		Name:  "up",
		Usage: "start the pipeline and supervise it until interrupted (or in the background with --detach)",
		Description: `Builds nothing: run 'just dev' to build bin/lakectl and the Flink jar first. The first start
fetches the Kafka jars (needs mvn and network once). Ports and the generator rate come
from the flags or their environment variables.

Examples:
  lakectl stack up
  lakectl --data /tmp/lake stack up --detach --rate 50
  FINLAKE_FLINK_PORT=18081 lakectl stack up --skip generator
  lakectl stack up --proc-arg "ingest=--commit-interval 1s" --proc-arg flink=--checkpoint-interval=1s`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run the supervisor in the background; return once the stack is up"},
			&cli.FloatFlag{Name: "rate", Value: 10, Sources: cli.EnvVars("FINLAKE_RATE"), Usage: "generator transactions per second"},
			portFlag("kafka-port", "FINLAKE_KAFKA_PORT", p.Kafka, "Kafka broker"),
			portFlag("flink-port", "FINLAKE_FLINK_PORT", p.Flink, "Flink REST API and web UI"),
			portFlag("flight-port", "FINLAKE_FLIGHT_PORT", p.Flight, "Flight SQL"),
			portFlag("generator-port", "FINLAKE_GENERATOR_PORT", p.Generator, "generator HTTP"),
			portFlag("ingest-port", "FINLAKE_INGEST_PORT", p.Ingest, "ingest HTTP"),
			portFlag("flight-http-port", "FINLAKE_FLIGHT_HTTP_PORT", p.FlightHTTP, "Flight server HTTP"),
			&cli.StringFlag{Name: "rules", Value: "config/rules.yaml", Sources: cli.EnvVars("FINLAKE_RULES"), Usage: "rules file the watcher publishes (edit it while the stack runs)"},
			&cli.StringFlag{Name: "flink-jar", Value: "flinkjob/target/finlake-flinkjob.jar", Sources: cli.EnvVars("FINLAKE_FLINK_JAR"), Usage: "the Flink job's shaded jar"},
			&cli.StringFlag{Name: "java", Value: "java", Sources: cli.EnvVars("FINLAKE_JAVA"), Usage: "java 17+ executable"},
			&cli.IntFlag{Name: "kafka-heap-mb", Sources: cli.EnvVars("FINLAKE_KAFKA_HEAP_MB"), Usage: "Kafka broker max heap (default: lakectl kafka run's)"},
			&cli.IntFlag{Name: "flink-heap-mb", Value: 384, Sources: cli.EnvVars("FINLAKE_FLINK_HEAP_MB"), Usage: "Flink JVM max heap"},
			&cli.StringSliceFlag{Name: "skip", Usage: "leave out these processes (" + strings.Join(stack.ProcessNames(), ", ") + ")"},
			&cli.StringSliceFlag{Name: "proc-arg", Usage: `append arguments to one process's command line: NAME=ARGS, split at spaces, repeatable (e.g. "ingest=--commit-interval 1s", "flink=--state-ttl=2h")`},
			&cli.DurationFlag{Name: "start-timeout", Value: 10 * time.Minute, Usage: "with --detach: how long to wait for the stack to be up"},
		},
		Action: stackUp,
	}
}

func stackConfig(cmd *cli.Command) (stack.Config, error) {
	cfg := stack.Config{
		DataDir:    cmd.String("data"),
		CatalogURI: cmd.String("catalog-uri"),
		Warehouse:  cmd.String("warehouse"),
		Java:       cmd.String("java"),
		FlinkJar:   cmd.String("flink-jar"),
		RulesFile:  cmd.String("rules"),
		Rate:       cmd.Float("rate"),
		Ports: stack.Ports{
			Kafka: (cmd.Int("kafka-port")), Flink: (cmd.Int("flink-port")), Flight: (cmd.Int("flight-port")),
			Generator: (cmd.Int("generator-port")), Ingest: (cmd.Int("ingest-port")), FlightHTTP: (cmd.Int("flight-http-port")),
		},
		KafkaHeapMB: (cmd.Int("kafka-heap-mb")),
		FlinkHeapMB: (cmd.Int("flink-heap-mb")),
		LogLevel:    cmd.String("log-level"),
		Skip:        cmd.StringSlice("skip"),
	}
	if cfg.Rate <= 0 {
		return cfg, badInput("--rate %v: want a positive number of transactions per second", cfg.Rate)
	}
	extra, err := stack.ParseProcArgs(cmd.StringSlice("proc-arg"))
	if err != nil {
		return cfg, badInput("--proc-arg: %v", err)
	}
	cfg.Extra = extra
	if !slices.Contains(cfg.Skip, stack.Flink) {
		if _, err := os.Stat(cfg.FlinkJar); err != nil {
			return cfg, badInput("the Flink job jar %s is missing: build it with 'just dev' (or 'mvn -f flinkjob package'), or pass --flink-jar", cfg.FlinkJar)
		}
	}
	if !slices.Contains(cfg.Skip, stack.Rules) {
		if _, err := os.Stat(cfg.RulesFile); err != nil {
			return cfg, badInput("rules file %s not found: run from the repository root or pass --rules", cfg.RulesFile)
		}
	}
	return cfg, nil
}

func stackUp(ctx context.Context, cmd *cli.Command) error {
	cfg, err := stackConfig(cmd)
	if err != nil {
		return err
	}
	specs, err := cfg.Specs()
	if err != nil {
		return badInput("%v", err)
	}
	if cmd.Bool("detach") && os.Getenv(stackChildEnv) == "" {
		return stackDetach(ctx, cmd, cfg)
	}
	// A closed terminal stops the stack as gracefully as Ctrl-C does.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGHUP)
	defer stop()
	w := cmd.Root().Writer
	err = stack.Run(ctx, specs, stack.RunOptions{
		DataDir:   cfg.DataDir,
		Endpoints: cfg.Endpoints(),
		Ready: func(st stack.State) {
			if os.Getenv(stackChildEnv) == "" {
				printEndpoints(w, st)
				fmt.Fprintln(w, "stack up; Ctrl-C stops it ('lakectl stack status' from another shell)")
			}
		},
	})
	if err != nil {
		return cli.Exit("lakectl stack up: "+err.Error()+"\nlogs: "+contract.DataDir{Root: cfg.DataDir}.Logs(), exitFailure)
	}
	return nil
}

// stackDetach re-runs this command as a session leader writing to
// <data>/logs/supervisor.log, and waits until it reports the stack up.
func stackDetach(ctx context.Context, cmd *cli.Command, cfg stack.Config) error {
	if pid, err := stack.Running(cfg.DataDir); err == nil {
		return cli.Exit(fmt.Sprintf("lakectl stack up: a stack is already running on %s (supervisor pid %d); 'lakectl stack down' stops it", cfg.DataDir, pid), exitFailure)
	}
	if err := stack.ClearState(cfg.DataDir); err != nil {
		return cli.Exit("lakectl stack up: "+err.Error(), exitFailure)
	}
	if err := os.MkdirAll(contract.DataDir{Root: cfg.DataDir}.Logs(), 0o755); err != nil {
		return cli.Exit("lakectl stack up: "+err.Error(), exitFailure)
	}
	logPath := stack.LogPath(cfg.DataDir, "supervisor")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return cli.Exit("lakectl stack up: "+err.Error(), exitFailure)
	}
	defer logf.Close()
	exe, err := os.Executable()
	if err != nil {
		return cli.Exit("lakectl stack up: "+err.Error(), exitFailure)
	}
	var args []string
	for _, a := range os.Args[1:] {
		if a == "--detach" || a == "-d" || strings.HasPrefix(a, "--detach=") || strings.HasPrefix(a, "-d=") {
			continue
		}
		args = append(args, a)
	}
	child := exec.Command(exe, args...)
	child.Env = append(os.Environ(), stackChildEnv+"=1", "FINLAKE_DATA="+cfg.DataDir)
	child.Stdout, child.Stderr = logf, logf
	child.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := child.Start(); err != nil {
		return cli.Exit("lakectl stack up: start supervisor: "+err.Error(), exitFailure)
	}
	exited := make(chan struct{})
	go func() { _ = child.Wait(); close(exited) }()
	slog.Info("stack supervisor started in the background", "pid", child.Process.Pid, "log", logPath)

	wctx, cancel := context.WithTimeout(ctx, cmd.Duration("start-timeout"))
	defer cancel()
	st, err := stack.WaitPhase(wctx, cfg.DataDir, exited, stack.PhaseUp)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
			// Interrupted or too slow: do not leave a half-started stack behind.
			_ = stack.Down(context.Background(), cfg.DataDir, 70*time.Second)
		}
		return cli.Exit(fmt.Sprintf("lakectl stack up: %v\nsee %s and the process logs in %s", err, logPath, contract.DataDir{Root: cfg.DataDir}.Logs()), exitFailure)
	}
	w := cmd.Root().Writer
	printStatus(w, st)
	printEndpoints(w, st)
	fmt.Fprintf(w, "stack up in the background (supervisor pid %d); 'lakectl stack down' stops it\n", st.PID)
	return nil
}

func printEndpoints(w io.Writer, st stack.State) {
	keys := make([]string, 0, len(st.Endpoints))
	for k := range st.Endpoints {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-12s %s\n", k, st.Endpoints[k])
	}
}

func stackDownCmd() *cli.Command {
	return &cli.Command{
		Name:  "down",
		Usage: "stop the running stack gracefully (SIGTERM in reverse order, SIGKILL after a timeout)",
		Description: `Signals the supervisor of --data, which stops the processes in reverse dependency
order and exits; returns when it has. All state stays under --data.

Examples:
  lakectl stack down
  lakectl --data /tmp/lake stack down`,
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "timeout", Value: 70 * time.Second, Usage: "SIGKILL the supervisor (and with it every process) after this long"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			data := cmd.String("data")
			start := time.Now()
			err := stack.Down(ctx, data, cmd.Duration("timeout"))
			if errors.Is(err, stack.ErrNotRunning) {
				fmt.Fprintf(cmd.Root().Writer, "no stack running on %s\n", data)
				return nil
			}
			if err != nil {
				return cli.Exit("lakectl stack down: "+err.Error(), exitFailure)
			}
			msg := ""
			if st, err := stack.ReadState(data); err == nil && st.Error != "" {
				msg = " (" + st.Error + ")"
			}
			fmt.Fprintf(cmd.Root().Writer, "stack stopped in %s%s\n", time.Since(start).Round(100*time.Millisecond), msg)
			return nil
		},
	}
}

func stackStatusCmd() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show each process's state, pid, uptime, restarts and RSS",
		Description: `Reads <data>/stack/state.json, which the supervisor rewrites every second. Exits 3 when
no stack is running (after printing its last known state, if any).

Examples:
  lakectl stack status
  lakectl stack status --format json | jq '.processes[] | {name, restarts}'`,
		Flags: []cli.Flag{tableOrJSONFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			asJSON, err := wantJSON(cmd)
			if err != nil {
				return err
			}
			data := cmd.String("data")
			w := cmd.Root().Writer
			_, runErr := stack.Running(data)
			st, err := stack.ReadState(data)
			if err != nil && !errors.Is(err, stack.ErrNotRunning) {
				return cli.Exit("lakectl stack status: "+err.Error(), exitFailure)
			}
			if asJSON {
				if err == nil {
					enc := json.NewEncoder(w)
					enc.SetIndent("", "  ")
					_ = enc.Encode(st)
				}
			} else if err == nil {
				if runErr != nil {
					fmt.Fprintf(w, "last known state (%s):\n", st.UpdatedAt.Local().Format(time.DateTime))
				}
				printStatus(w, st)
			}
			if runErr != nil {
				fmt.Fprintf(os.Stderr, "no stack running on %s\n", data)
				return cli.Exit("", 3)
			}
			return nil
		},
	}
}

func printStatus(w io.Writer, st stack.State) {
	rows := make([][]string, 0, len(st.Processes))
	for _, p := range st.Processes {
		pid, up, rss := "-", "-", "-"
		if p.PID > 0 {
			pid = strconv.Itoa(p.PID)
			up = (time.Duration(p.UptimeSeconds) * time.Second).String()
			rss = termout.Bytes(p.RSSBytes)
		}
		note := p.LastError
		if p.State == "backoff" || note == "" {
			note = p.LastExit
		}
		if len(note) > 60 {
			note = note[:57] + "..."
		}
		rows = append(rows, []string{p.Name, string(p.State), pid, up, strconv.Itoa(p.Restarts), rss, note})
	}
	_ = termout.Render(w, []string{"process", "state", "pid", "uptime", "restarts", "rss", "last exit / probe"}, rows)
	fmt.Fprintf(w, "stack %s, supervisor pid %d, total RSS %s, data %s\n", st.Phase, st.PID, termout.Bytes(st.TotalRSS()), st.DataDir)
}

func stackLogsCmd() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "print (and with -f follow) the processes' JSON-line logs",
		ArgsUsage: "[NAME...]",
		Description: `Without NAME, all logs, each line prefixed by its process. Names: ` + strings.Join(stack.ProcessNames(), ", ") + `,
supervisor (the detached supervisor's own log).

Examples:
  lakectl stack logs flink
  lakectl stack logs -f ingest serve
  lakectl stack logs -n 0 generator | jq -r .msg`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new lines until Ctrl-C"},
			&cli.IntFlag{Name: "lines", Aliases: []string{"n"}, Value: 50, Usage: "print the last N lines of each log first (0: all)"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			data := cmd.String("data")
			have, err := stack.LogNames(data)
			if err != nil {
				return cli.Exit("lakectl stack logs: "+err.Error(), exitFailure)
			}
			names := cmd.Args().Slice()
			if len(names) == 0 {
				names = have
			}
			if len(names) == 0 {
				return cli.Exit(fmt.Sprintf("lakectl stack logs: no logs in %s yet; start the stack with 'lakectl stack up'", contract.DataDir{Root: data}.Logs()), exitFailure)
			}
			for _, n := range names {
				if !slices.Contains(have, n) {
					return badInput("no log for %q in %s (have: %s)", n, contract.DataDir{Root: data}.Logs(), strings.Join(have, ", "))
				}
			}
			if err := stack.PrintLogs(ctx, cmd.Root().Writer, data, names, (cmd.Int("lines")), cmd.Bool("follow")); err != nil {
				return cli.Exit("lakectl stack logs: "+err.Error(), exitFailure)
			}
			return nil
		},
	}
}
