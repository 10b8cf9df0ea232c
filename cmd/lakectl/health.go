package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/finlake/finlake/internal/health"
)

func init() {
	register(&cli.Command{
		Name:  "health",
		Usage: "one screen for the whole pipeline; exit code 0 healthy, 1 unhealthy",
		Description: `Checks, concurrently: the generator (:8091), ingest (:8092) and flight (:8093) HTTP
ports (/healthz, /readyz, /metrics, /status); the Flink job and its last checkpoint
(REST API :8081); the Kafka broker and the contract topics. Shows throughput per stage
(records of the last --window per topic), alert latency (alert time − generation time
of the window's alerts) and storage latency (the ingest's histogram), dead letters per
validation check per minute, and consumer lag per group and partition.

Unhealthy: a component down or not ready, a topic missing, the Flink job not running
or its last checkpoint older than --max-checkpoint-age, lag above --max-lag (when set).
--ignore leaves components out of the verdict (still shown), e.g. for a partial stack.

Examples:
  lakectl health
  lakectl health --watch --interval 5s
  lakectl health --format json | jq '.kafka.consumer_lag'
  lakectl health --ignore generator,flink && echo "lake side is fine"`,
		Flags: []cli.Flag{
			brokersFlag(),
			&cli.StringFlag{Name: "generator-url", Value: "http://127.0.0.1:8091", Sources: cli.EnvVars("FINLAKE_GENERATOR_URL"), Usage: "generator HTTP port"},
			&cli.StringFlag{Name: "ingest-url", Value: "http://127.0.0.1:8092", Sources: cli.EnvVars("FINLAKE_INGEST_URL"), Usage: "ingest HTTP port"},
			&cli.StringFlag{Name: "flight-url", Value: "http://127.0.0.1:8093", Sources: cli.EnvVars("FINLAKE_FLIGHT_URL"), Usage: "Flight SQL server's HTTP port"},
			&cli.StringFlag{Name: "flink-url", Value: "http://127.0.0.1:8081", Sources: cli.EnvVars("FINLAKE_FLINK_URL"), Usage: "Flink REST API"},
			tableOrJSONFlag(),
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "refresh until Ctrl-C; the exit code is the last verdict"},
			&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "refresh period with --watch"},
			&cli.DurationFlag{Name: "window", Value: time.Minute, Usage: "how far back throughput, alert latency and dead letters are measured"},
			&cli.DurationFlag{Name: "timeout", Value: 3 * time.Second, Usage: "per request"},
			&cli.DurationFlag{Name: "max-checkpoint-age", Value: 2 * time.Minute, Usage: "older last Flink checkpoint is unhealthy"},
			&cli.Int64Flag{Name: "max-lag", Usage: "consumer lag (records) above which a partition is unhealthy; 0: not checked"},
			&cli.StringFlag{Name: "ignore", Usage: "components left out of the verdict: kafka, generator, flink, ingest, flight (comma-separated)"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			asJSON, err := wantJSON(cmd)
			if err != nil {
				return err
			}
			ignore, err := health.ParseIgnore(cmd.String("ignore"))
			if err != nil {
				return badInput("--ignore: %v", err)
			}
			cfg := health.Config{GeneratorURL: cmd.String("generator-url"), IngestURL: cmd.String("ingest-url"),
				FlightURL: cmd.String("flight-url"), FlinkURL: cmd.String("flink-url"), Brokers: brokerList(cmd),
				Timeout: cmd.Duration("timeout"), Window: cmd.Duration("window"), MaxCheckpointAge: cmd.Duration("max-checkpoint-age"),
				MaxLag: cmd.Int64("max-lag"), Ignore: ignore}
			w := cmd.Root().Writer
			show := func(r health.Report) error {
				if asJSON {
					enc := json.NewEncoder(w)
					if !cmd.Bool("watch") {
						enc.SetIndent("", "  ")
					}
					return enc.Encode(r)
				}
				if cmd.Bool("watch") {
					fmt.Fprint(w, "\033[H\033[2J") // clear the screen between refreshes
				}
				return health.Render(w, r)
			}
			var last health.Report
			for {
				r := health.Check(ctx, cfg)
				if ctx.Err() != nil {
					break // interrupted mid-check: the verdict is the previous one
				}
				last = r
				if err := show(last); err != nil {
					return err
				}
				if !cmd.Bool("watch") {
					break
				}
				select {
				case <-ctx.Done():
				case <-time.After(cmd.Duration("interval")):
				}
				if ctx.Err() != nil {
					break
				}
			}
			if !last.Healthy {
				return cli.Exit("", exitFailure)
			}
			return nil
		},
	})
}
