package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v3"
	"golang.org/x/term"

	"github.com/finlake/finlake/generator"
)

const defaultGeneratorHTTP = "127.0.0.1:8091"

func init() {
	register(&cli.Command{
		Name:  "generate",
		Usage: "produce synthetic card and account transactions to raw-transactions (or a file)",
		Description: `Generates a realistic transaction stream: accounts and merchants, per-category amounts in
USD, EUR, GBP and JPY, a time-of-day activity curve, the pending → completed|failed → reversed
lifecycle, injected fraud scenarios and malformed records (with --labels ground truth).

Clock modes:
  live        (no --seed, --start or --backfill): event time is the wall clock at generation.
  simulated   (--seed or --start): the event clock starts at --start (default 00:00 UTC of the
              previous UTC day) and advances at --rate modulated by the time-of-day curve; the same
              --seed, --start and --count give byte-identical output.
  backfill    (--backfill 24h): a simulated span ending now, produced as fast as the broker takes it.
Pacing: to Kafka, new transactions are paced at --rate on the wall clock (0 = as fast as possible);
to a file or stdout only when --rate is given explicitly, so a dump finishes at once.

Examples:
  lakectl generate --count 2000 --seed 7 --output -          # deterministic JSON lines on stdout
  lakectl generate --rate 100                                # live, to localhost:9092
  lakectl generate --backfill 24h --rate 50 --labels truth.jsonl
  lakectl generate set-rate 500                              # change the rate of a running generator`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: `"-" for JSON lines on stdout, a file path, or empty to produce to Kafka`},
			&cli.StringFlag{Name: "brokers", Value: "localhost:9092", Sources: cli.EnvVars("FINLAKE_BROKERS"), Usage: "Kafka bootstrap servers, comma-separated"},
			&cli.StringFlag{Name: "topic", Value: generator.RawTopic, Usage: "topic to produce to"},
			&cli.Uint64Flag{Name: "seed", Usage: "seed of the random source: the same seed, --start and --count give identical output"},
			&cli.TimestampFlag{Name: "start", Config: cli.TimestampConfig{Timezone: time.UTC, Layouts: []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"}},
				Usage: "first instant of the simulated event clock (RFC 3339, or a date/time read as UTC; default 00:00 UTC of the previous day)"},
			&cli.Int64Flag{Name: "count", Aliases: []string{"n"}, Usage: "stop after this many records (events, follow-ups and malformed ones included); 0 = no limit"},
			&cli.DurationFlag{Name: "duration", Usage: "stop after this much event time (wall time in live mode); 0 = no limit"},
			&cli.FloatFlag{Name: "rate", Value: 10, Usage: "new transactions per second (0 = as fast as possible); in simulated modes the density of the event clock"},
			&cli.DurationFlag{Name: "backfill", Usage: "simulate this span ending now (e.g. 24h), as fast as the broker takes it"},
			&cli.IntFlag{Name: "accounts", Value: 10_000, Usage: "number of accounts"},
			&cli.FloatFlag{Name: "fraud-rate", Value: 0.002, Usage: "share of new transactions that start an injected fraud scenario"},
			&cli.FloatFlag{Name: "malformed-rate", Value: 0.0005, Usage: "share of records that are malformed"},
			&cli.FloatFlag{Name: "pending-prob", Value: generator.DefaultLifecycle.PendingProb, Usage: "probability that a transaction's first event is pending (else instant completed/failed)"},
			&cli.FloatFlag{Name: "fail-prob", Value: generator.DefaultLifecycle.FailProb, Usage: "probability that a transaction fails"},
			&cli.FloatFlag{Name: "reverse-prob", Value: generator.DefaultLifecycle.ReverseProb, Usage: "probability that a completed transaction is later reversed"},
			&cli.DurationFlag{Name: "settle-delay", Value: generator.DefaultLifecycle.SettleDelay, Usage: "mean delay from pending to completed/failed"},
			&cli.DurationFlag{Name: "reverse-delay", Value: generator.DefaultLifecycle.ReverseDelay, Usage: "mean delay from completed to reversed"},
			&cli.StringFlag{Name: "labels", Usage: "write ground truth (injected scenarios and malformed records) as JSON lines to this file"},
			&cli.StringFlag{Name: "fx-rates", Usage: "FX table (config/fx_rates.yaml format) for amount conversion; default the built-in copy of it"},
			&cli.StringFlag{Name: "http", Value: defaultGeneratorHTTP, Usage: `address of /status, PUT /rate, /healthz, /readyz, /metrics ("off" to disable; only started for file output when given)`},
			&cli.IntFlag{Name: "buffer-records", Value: 50_000, Usage: "records buffered while the broker is slow or down; generation blocks when full"},
			&cli.BoolFlag{Name: "progress", Value: true, Usage: "progress bar on stderr for --count/--backfill runs (only on a terminal)"},
		},
		Action:   runGenerate,
		Commands: []*cli.Command{setRateCommand()},
	})
}

func runGenerate(ctx context.Context, cmd *cli.Command) error {
	out := cmd.String("output")
	toKafka := out == ""
	rate := cmd.Float("rate")
	if rate < 0 {
		return cli.Exit("lakectl generate: --rate must be 0 (as fast as possible) or positive", 2)
	}
	rateSet := cmd.IsSet("rate")
	backfill := cmd.Duration("backfill")
	count := cmd.Int64("count")
	duration := cmd.Duration("duration")
	if count < 0 || duration < 0 || backfill < 0 {
		return cli.Exit("lakectl generate: --count, --duration and --backfill cannot be negative", 2)
	}

	cfg := generator.DefaultConfig()
	cfg.Accounts = cmd.Int("accounts")
	cfg.FraudRate = cmd.Float("fraud-rate")
	cfg.MalformedRate = cmd.Float("malformed-rate")
	cfg.Lifecycle = generator.Lifecycle{
		PendingProb: cmd.Float("pending-prob"), FailProb: cmd.Float("fail-prob"), ReverseProb: cmd.Float("reverse-prob"),
		SettleDelay: cmd.Duration("settle-delay"), ReverseDelay: cmd.Duration("reverse-delay"),
	}
	if p := cmd.String("fx-rates"); p != "" {
		fx, err := generator.LoadFX(p)
		if err != nil {
			return cli.Exit(fmt.Sprintf("lakectl generate: %v", err), 2)
		}
		cfg.FX = fx
	}
	if rate > 0 {
		cfg.Rate = rate
	}
	if cmd.IsSet("seed") {
		cfg.Seed = cmd.Uint64("seed")
	} else {
		var b [8]byte
		_, _ = rand.Read(b[:])
		cfg.Seed = binary.LittleEndian.Uint64(b[:])
	}

	now := time.Now()
	mode := "simulated"
	switch {
	case backfill > 0:
		mode = "backfill"
		cfg.Start = now.Add(-backfill).Truncate(time.Millisecond)
		if cmd.IsSet("start") {
			cfg.Start = cmd.Timestamp("start")
		}
	case cmd.IsSet("start"):
		cfg.Start = cmd.Timestamp("start")
	case cmd.IsSet("seed"):
		cfg.Start = generator.DefaultStart(now, count, cfg.Rate, duration)
	default:
		mode = "live"
		cfg.Live = true
	}
	gen, err := generator.New(cfg)
	if err != nil {
		return cli.Exit(fmt.Sprintf("lakectl generate: %v", err), 2)
	}

	// Pacing by the wall clock at --rate when producing to Kafka, or to a
	// file only when --rate was given explicitly, so a dump is instant; a
	// backfill is never paced.
	pace := 0.0
	if mode != "backfill" && (toKafka || rateSet) {
		pace = rate
	}
	pacer := generator.NewPacer(pace)

	var until time.Time
	if mode == "live" {
		if duration > 0 {
			until = now.Add(duration)
		}
	} else {
		if backfill > 0 {
			until = cfg.Start.Add(backfill)
		}
		if duration > 0 && (until.IsZero() || cfg.Start.Add(duration).Before(until)) {
			until = cfg.Start.Add(duration)
		}
	}

	stats := &generator.Stats{}
	var sink generator.Sink
	switch {
	case toKafka:
		ks, err := generator.NewKafkaSink(generator.KafkaOptions{
			Brokers: splitList(cmd.String("brokers")), Topic: cmd.String("topic"), BufferRecords: cmd.Int("buffer-records"),
		}, stats)
		if err != nil {
			return cli.Exit(fmt.Sprintf("lakectl generate: %v", err), 1)
		}
		sink = ks
	case out == "-":
		sink = generator.NewWriterSink(os.Stdout, nil, stats)
	default:
		f, err := os.Create(out)
		if err != nil {
			return cli.Exit(fmt.Sprintf("lakectl generate: create --output file: %v", err), 1)
		}
		sink = generator.NewWriterSink(f, f, stats)
	}
	defer sink.Close()

	var labels io.Writer
	if p := cmd.String("labels"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return cli.Exit(fmt.Sprintf("lakectl generate: create --labels file: %v", err), 1)
		}
		defer f.Close()
		labels = f
	}

	httpAddr := cmd.String("http")
	if httpAddr != "off" && httpAddr != "" && (toKafka || cmd.IsSet("http")) {
		srv, err := generator.NewControlServer(stats, sink, pacer, mode)
		if err != nil {
			return fmt.Errorf("register metrics: %w", err)
		}
		if err := srv.Start(ctx, httpAddr); err != nil {
			return cli.Exit(fmt.Sprintf("lakectl generate: %v", err), 1)
		}
		if ks, ok := sink.(*generator.KafkaSink); ok {
			// Ready once the broker answers: a healthcheck then means records flow.
			srv.SetReady(false, "waiting for Kafka at "+cmd.String("brokers"))
			go func() {
				for ctx.Err() == nil {
					pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					err := ks.Client().Ping(pctx)
					cancel()
					if err == nil {
						srv.SetReady(true, "")
						return
					}
					time.Sleep(time.Second)
				}
			}()
		} else {
			srv.SetReady(true, "")
		}
	}

	opts := generator.RunOptions{Gen: gen, Sink: sink, Stats: stats, Pacer: pacer, Live: mode == "live",
		Count: count, Until: until, Labels: labels}
	if cmd.Bool("progress") && (count > 0 || backfill > 0) && term.IsTerminal(int(os.Stderr.Fd())) {
		opts.Progress = progressFunc(count, cfg.Start, until)
	}
	startLog := "wall clock"
	if !cfg.Live {
		startLog = cfg.Start.UTC().Format(time.RFC3339Nano)
	}
	slog.Info("generating", "mode", mode, "seed", cfg.Seed, "start", startLog,
		"rate", pace, "count", count, "output", outputName(out, cmd.String("brokers")))
	err = generator.Run(ctx, opts)
	slog.Info("generator finished", "generated", stats.Generated.Load(), "produced", stats.Produced.Load(),
		"errors", stats.Errors.Load(), "malformed", stats.Malformed(), "scenarios", stats.Scenarios())
	if err != nil {
		return cli.Exit(fmt.Sprintf("lakectl generate: %v", err), 1)
	}
	return nil
}

func outputName(out, brokers string) string {
	if out == "" {
		return "kafka " + brokers
	}
	return out
}

func splitList(s string) []string {
	var l []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			l = append(l, p)
		}
	}
	return l
}

func progressFunc(count int64, start, until time.Time) func(int64, time.Time) {
	if count > 0 {
		bar := progressbar.NewOptions64(count, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("records"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stderr) }))
		return func(n int64, _ time.Time) { _ = bar.Set64(n) }
	}
	total := int64(until.Sub(start) / time.Second)
	bar := progressbar.NewOptions64(total, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("simulated seconds"),
		progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stderr) }))
	return func(_ int64, t time.Time) {
		if s := int64(t.Sub(start) / time.Second); s >= 0 {
			_ = bar.Set64(min(s, total))
		}
	}
}

func setRateCommand() *cli.Command {
	return &cli.Command{
		Name:      "set-rate",
		Usage:     "change the rate of a running generator (transactions per second; 0 = as fast as possible)",
		ArgsUsage: "RATE",
		Description: `Sends PUT /rate to the generator's HTTP endpoint.

Examples:
  lakectl generate set-rate 500
  lakectl generate set-rate 0 --http http://127.0.0.1:8091`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "http", Value: "http://" + defaultGeneratorHTTP, Usage: "the generator's HTTP address"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() != 1 {
				return cli.Exit("lakectl generate set-rate: give exactly one RATE, e.g. `lakectl generate set-rate 100`", 2)
			}
			rate, err := generator.ParseRate([]byte(cmd.Args().First()))
			if err != nil {
				return cli.Exit("lakectl generate set-rate: "+err.Error(), 2)
			}
			base := cmd.String("http")
			if !strings.Contains(base, "://") {
				base = "http://" + base
			}
			body, _ := json.Marshal(map[string]float64{"rate": rate})
			req, err := http.NewRequestWithContext(ctx, http.MethodPut, strings.TrimRight(base, "/")+"/rate", bytes.NewReader(body))
			if err != nil {
				return cli.Exit("lakectl generate set-rate: "+err.Error(), 2)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				return cli.Exit(fmt.Sprintf("lakectl generate set-rate: %v (is `lakectl generate` running with --http %s?)", err, base), 1)
			}
			defer resp.Body.Close()
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			if resp.StatusCode != http.StatusOK {
				return cli.Exit(fmt.Sprintf("lakectl generate set-rate: %s: %s", resp.Status, strings.TrimSpace(string(msg))), 1)
			}
			fmt.Fprintf(cmd.Root().Writer, "rate set to %g transactions/s\n", rate)
			return nil
		},
	}
}
