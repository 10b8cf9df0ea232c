package main

import (
	"bytes"
	"context"
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

	"github.com/finlake/finlake/contract"
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
Pacing: to Kafka, new transactions are paced at --rate on the wall clock; to a file or stdout
only when --rate is given explicitly, so a dump finishes at once. --speed F instead holds a simulated
clock to F event seconds per wall second. --rate max: as fast as possible;
--rate 0: paused, nothing is produced until set-rate (or PUT /rate) gives a rate.

Examples:
  lakectl generate --count 2000 --seed 7 --output -          # deterministic JSON lines on stdout
  lakectl generate --rate 100                                # live, to 127.0.0.1:9092
  lakectl generate --backfill 24h --rate 50 --labels truth.jsonl
  lakectl generate --backfill 168h --speed 160              # a week at 10 tx/s event density, in ~63 minutes
  lakectl generate set-rate 500                              # change the rate of a running generator
  lakectl generate set-rate 0                                # pause it; set-rate max: as fast as possible`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: `"-" for JSON lines on stdout, a file path, or empty to produce to Kafka`},
			brokersFlag(),
			&cli.StringFlag{Name: "topic", Value: contract.RawTransactions, Usage: "topic to produce to"},
			&cli.Uint64Flag{Name: "seed", Usage: "seed of the random source: the same seed, --start and --count give identical output"},
			&cli.TimestampFlag{Name: "start", Config: cli.TimestampConfig{Timezone: time.UTC, Layouts: []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"}},
				Usage: "first instant of the simulated event clock (RFC 3339, or a date/time read as UTC; default 00:00 UTC of the previous day)"},
			&cli.Int64Flag{Name: "count", Aliases: []string{"n"}, Usage: "stop after this many records (events, follow-ups and malformed ones included); 0 = no limit"},
			&cli.DurationFlag{Name: "duration", Usage: "stop after this much event time (wall time in live mode); 0 = no limit"},
			&cli.StringFlag{Name: "rate", Value: "10", Usage: `new transactions per second, 0 to start paused (until set-rate), or "max" for as fast as possible; in simulated modes a number is also the density of the event clock`},
			&cli.DurationFlag{Name: "backfill", Usage: "simulate this span ending now (e.g. 24h), as fast as the broker takes it"},
			&cli.FloatFlag{Name: "speed", Usage: "simulated modes: run the event clock at this many event seconds per wall second (e.g. 160: a day in 9 minutes), instead of --rate's or the backfill's pace; --rate stays the density"},
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
			httpFlag(defaultGeneratorHTTP, "", "/status, PUT /rate, /healthz, /readyz, /metrics (for file output only started when given)"),
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
	rate, err := generator.ParseRateText(cmd.String("rate"))
	if err != nil {
		return cli.Exit("lakectl generate: --"+err.Error(), 2)
	}
	base := generator.DefaultConfig()
	base.Accounts = cmd.Int("accounts")
	base.FraudRate = cmd.Float("fraud-rate")
	base.MalformedRate = cmd.Float("malformed-rate")
	base.Lifecycle = generator.Lifecycle{
		PendingProb: cmd.Float("pending-prob"), FailProb: cmd.Float("fail-prob"), ReverseProb: cmd.Float("reverse-prob"),
		SettleDelay: cmd.Duration("settle-delay"), ReverseDelay: cmd.Duration("reverse-delay"),
	}
	if p := cmd.String("fx-rates"); p != "" {
		fx, err := generator.LoadFX(p)
		if err != nil {
			return cli.Exit(fmt.Sprintf("lakectl generate: %v", err), 2)
		}
		base.FX = fx
	}
	choices := generator.Choices{Config: base, Rate: rate, RateSet: cmd.IsSet("rate"),
		Backfill: cmd.Duration("backfill"), Duration: cmd.Duration("duration"), Count: cmd.Int64("count"), PacedOutput: toKafka,
		Speed: cmd.Float("speed")}
	if cmd.IsSet("seed") {
		seed := cmd.Uint64("seed")
		choices.Seed = &seed
	}
	if cmd.IsSet("start") {
		choices.Start = cmd.Timestamp("start")
	}
	plan, err := generator.NewPlan(choices, time.Now())
	if err != nil {
		return cli.Exit(fmt.Sprintf("lakectl generate: %v", err), 2)
	}
	cfg := plan.Config
	gen, err := generator.New(cfg)
	if err != nil {
		return cli.Exit(fmt.Sprintf("lakectl generate: %v", err), 2)
	}
	pacer := generator.NewPacer(plan.Pace)

	stats := &generator.Stats{}
	var sink generator.Sink
	switch {
	case toKafka:
		ks, err := generator.NewKafkaSink(generator.KafkaOptions{
			Brokers: brokerList(cmd), Topic: cmd.String("topic"), BufferRecords: cmd.Int("buffer-records"),
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

	// For file output the HTTP face starts only when asked for.
	if addr := httpAddr(cmd); addr != "" && (toKafka || cmd.IsSet("http")) {
		srv, err := generator.NewControlServer(stats, sink, pacer, plan.Mode)
		if err != nil {
			return fmt.Errorf("register metrics: %w", err)
		}
		if err := srv.Start(ctx, addr); err != nil {
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

	opts := generator.RunOptions{Gen: gen, Sink: sink, Stats: stats, Pacer: pacer, Live: cfg.Live,
		Count: choices.Count, Until: plan.Until, Labels: labels, Speed: plan.Speed}
	if cmd.Bool("progress") && (choices.Count > 0 || choices.Backfill > 0) && term.IsTerminal(int(os.Stderr.Fd())) {
		opts.Progress = progressFunc(choices.Count, cfg.Start, plan.Until)
	}
	startLog := "wall clock"
	if !cfg.Live {
		startLog = cfg.Start.UTC().Format(time.RFC3339Nano)
	}
	slog.Info("generating", "mode", plan.Mode, "seed", cfg.Seed, "start", startLog,
		"rate", generator.FormatRate(plan.Pace), "count", choices.Count, "output", outputName(out, cmd.String("brokers")))
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
		Usage:     `change the rate of a running generator (transactions per second; 0 pauses; "max" is as fast as possible)`,
		ArgsUsage: "RATE",
		Description: `Sends PUT /rate to the generator's HTTP endpoint.

Examples:
  lakectl generate set-rate 500
  lakectl generate set-rate 0                  # pause: nothing is produced until the next set-rate
  lakectl generate set-rate max --http http://127.0.0.1:8091`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "http", Value: "http://" + defaultGeneratorHTTP, Usage: "the generator's HTTP address"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() != 1 {
				return cli.Exit("lakectl generate set-rate: give exactly one RATE, e.g. `lakectl generate set-rate 100`", 2)
			}
			rate, err := generator.ParseRateText(cmd.Args().First())
			if err != nil {
				return cli.Exit("lakectl generate set-rate: "+err.Error(), 2)
			}
			base := cmd.String("http")
			if !strings.Contains(base, "://") {
				base = "http://" + base
			}
			body, _ := json.Marshal(map[string]string{"rate": generator.FormatRate(rate)})
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
			switch rate {
			case generator.Paused:
				fmt.Fprintln(cmd.Root().Writer, "generator paused (rate 0); set-rate N or max resumes it")
			case generator.Max:
				fmt.Fprintln(cmd.Root().Writer, "rate set to max: as fast as the broker takes records")
			default:
				fmt.Fprintf(cmd.Root().Writer, "rate set to %g transactions/s\n", rate)
			}
			return nil
		},
	}
}
