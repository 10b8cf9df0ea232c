package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/stack/kafkalocal"
)

func init() {
	register(&cli.Command{
		Name:  "kafka",
		Usage: "run a local single-node Kafka broker from the Maven Central jars (no Docker)",
		Description: `The broker is Apache Kafka ` + kafkalocal.KafkaVersion + ` in KRaft mode (broker and controller in one
JVM), listening on 127.0.0.1 only. Its jars are fetched once with Maven into the cache
($FINLAKE_CACHE, default ~/.cache/finlake). Needs java 17+ and, for the first fetch, mvn.

Examples:
  lakectl kafka fetch
  lakectl kafka run --dir data/kafka --port 9092
  lakectl kafka run --dir /tmp/k --port 0 --ready-file /tmp/k/ready   # tests: free port, address in ready file`,
		Commands: []*cli.Command{kafkaRunCommand(), kafkaFetchCommand()},
	})
}

func kafkaCacheFlag() cli.Flag {
	return &cli.StringFlag{Name: "cache-dir", Sources: cli.EnvVars("FINLAKE_CACHE"),
		Usage: "jar cache directory (default ~/.cache/finlake)"}
}

func kafkaFetchCommand() *cli.Command {
	return &cli.Command{
		Name:  "fetch",
		Usage: "download the Kafka broker jars into the cache (idempotent)",
		Description: `Runs Maven once to copy Kafka ` + kafkalocal.KafkaVersion + `, kafka-tools and a log4j2 backend into the
cache, so later broker starts need no network, then (unless --warm=false) starts and
stops a throwaway broker once so its class-data archive exists before any test starts a
broker. Prints the libs directory.

Example:
  lakectl kafka fetch && ls ~/.cache/finlake/kafka-` + kafkalocal.KafkaVersion + `/libs`,
		Flags: []cli.Flag{kafkaCacheFlag(),
			&cli.BoolFlag{Name: "warm", Value: true,
				Usage: "also start and stop a throwaway broker once, writing the class-data (CDS) archive that halves later broker starts"}},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			start := time.Now()
			if _, err := kafkalocal.EnsureJars(ctx, cmd.String("cache-dir")); err != nil {
				return cli.Exit(err.Error(), 1)
			}
			slog.Info("kafka jars ready", "version", kafkalocal.KafkaVersion,
				"libs", kafkalocal.LibsDir(cmd.String("cache-dir")), "took", time.Since(start).Round(time.Millisecond).String())
			if cmd.Bool("warm") {
				archive, err := kafkalocal.WarmUp(ctx, cmd.String("cache-dir"))
				if err != nil {
					return cli.Exit(fmt.Sprintf("kafka fetch: warm-up broker: %v", err), 1)
				}
				slog.Info("kafka class-data archive ready", "archive", archive)
			}
			fmt.Fprintln(cmd.Root().Writer, kafkalocal.LibsDir(cmd.String("cache-dir")))
			return nil
		},
	}
}

func kafkaRunCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run a broker in the foreground until SIGINT/SIGTERM",
		Description: `Formats --dir on first use (the cluster id and ports are kept in the dir, so a restart
finds its topics), starts the broker and waits until it answers Kafka requests, then
writes the bootstrap address (127.0.0.1:PORT) to --ready-file if given and logs it.
SIGINT/SIGTERM shut the broker down gracefully. Exits non-zero if the broker dies.
Topics are not auto-created: run 'lakectl topics create' next.

Examples:
  lakectl kafka run --port 9092                 # broker dir ./data/kafka (--data/kafka)
  lakectl kafka run --dir "$tmp" --ready-file "$tmp/ready" &   # then wait for the file`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Usage: "broker directory: data, config, logs/server.log (default <data>/kafka)"},
			&cli.IntFlag{Name: "port", Value: 9092, Usage: "client port on 127.0.0.1; 0 = the dir's previous port or a free one"},
			&cli.IntFlag{Name: "controller-port", Usage: "KRaft controller port; 0 = the dir's previous port or a free one"},
			&cli.IntFlag{Name: "heap-mb", Value: kafkalocal.DefaultHeapMB, Usage: "JVM max heap in MB"},
			&cli.StringFlag{Name: "ready-file", Usage: "write the bootstrap address here once the broker serves"},
			&cli.BoolFlag{Name: "quick-start", Usage: "C1-only JIT: serves in about half the time, lower peak throughput (for tests)"},
			&cli.BoolFlag{Name: "quiet", Usage: "do not copy the broker log to stderr (it is always in <dir>/logs/server.log)"},
			&cli.StringSliceFlag{Name: "broker-config", Usage: "KEY=VALUE added to or overriding the broker's server.properties, repeatable (e.g. log.retention.check.interval.ms=10000)"},
			kafkaCacheFlag(),
		},
		Action: kafkaRun,
	}
}

func kafkaRun(ctx context.Context, cmd *cli.Command) error {
	opts := kafkalocal.Options{
		Dir:            kafkaDir(cmd),
		Port:           int(cmd.Int("port")),
		ControllerPort: int(cmd.Int("controller-port")),
		HeapMB:         int(cmd.Int("heap-mb")),
		CacheDir:       cmd.String("cache-dir"),
		QuickStart:     cmd.Bool("quick-start"),
	}
	for _, kv := range cmd.StringSlice("broker-config") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return badInput("--broker-config %q: want KEY=VALUE, e.g. log.retention.check.interval.ms=10000", kv)
		}
		if opts.ServerProps == nil {
			opts.ServerProps = map[string]string{}
		}
		opts.ServerProps[k] = v
	}
	if !cmd.Bool("quiet") {
		opts.LogWriter = os.Stderr
	}
	readyFile := cmd.String("ready-file")
	if readyFile != "" {
		// A stale file from an earlier run would tell waiters we are up.
		if err := os.Remove(readyFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return cli.Exit(fmt.Sprintf("kafka run: remove old ready file: %v", err), 1)
		}
	}
	start := time.Now()
	b, err := kafkalocal.Start(ctx, opts)
	if err != nil {
		return cli.Exit(fmt.Sprintf("kafka run: %v", err), 1)
	}
	slog.Info("kafka broker serving", "bootstrap", b.Bootstrap(), "pid", b.Pid(), "dir", b.Dir(),
		"log", b.LogFile(), "startup", time.Since(start).Round(time.Millisecond).String())
	if readyFile != "" {
		if err := writeReadyFile(readyFile, []byte(b.Bootstrap()+"\n")); err != nil {
			_ = b.Stop()
			return cli.Exit(fmt.Sprintf("kafka run: write ready file: %v", err), 1)
		}
	}
	select {
	case <-ctx.Done():
		slog.Info("stopping kafka broker", "pid", b.Pid())
		if err := b.Stop(); err != nil {
			return cli.Exit(fmt.Sprintf("kafka run: %v", err), 1)
		}
		if readyFile != "" {
			_ = os.Remove(readyFile)
		}
		return nil
	case <-b.Done():
		return cli.Exit(fmt.Sprintf("kafka run: broker exited unexpectedly; log tail:\n%s", b.LogTail(4000)), 1)
	}
}

// kafkaDir is --dir, else kafka/ under the global --data dir, so the broker's
// state lives with the rest of the lake's.
func kafkaDir(cmd *cli.Command) string {
	if d := cmd.String("dir"); d != "" {
		return d
	}
	return contract.DataDir{Root: cmd.String("data")}.Kafka()
}
