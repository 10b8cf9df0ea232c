//go:build duckdb_arrow

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/finlake/finlake/backtest"
	"github.com/finlake/finlake/flight/client"
)

func rulesBacktestCmd() *cli.Command {
	return &cli.Command{
		Name:      "backtest",
		Usage:     "replay a window of the lake through the Flink job with candidate rules and compare with lake.alerts",
		ArgsUsage: "CANDIDATE.yaml",
		Description: `Reads the first event of every transaction in [--from, --to) (event time) from
lake.transactions through the Flight SQL server (lakectl serve), all of it at one instant
(--as-of, --snapshot, default: now), warms up on what the rules need before --from (the widest
velocity window of real events; for new_country each account's countries and history in the
lookback, summarized as synthetic events), runs the job's replay mode (the same operators)
over them with CANDIDATE.yaml, and compares its alerts with lake.alerts of the window by
alert_id, per rule. Default window: the 24 h before the latest transaction in the lake.
--labels (lakectl generate --labels) adds precision and recall per rule and scenario.
Progress goes to stderr. Exit code 2 for an invalid rules file or an empty window.

Examples:
  lakectl rules backtest config/rules.yaml            # identity: reproduces lake.alerts
  lakectl rules backtest candidate.yaml --from 2026-11-26T00:00:00Z --to 2026-11-27T00:00:00Z
  lakectl rules backtest candidate.yaml --as-of -1h --labels labels.jsonl --format json`,
		Flags: append(append(flightFlags(), asOfFlags()...), fxFlag(), tableOrJSONFlag(),
			&cli.StringFlag{Name: "from", Usage: "window start, event time (RFC 3339, a date, or relative like -24h)"},
			&cli.StringFlag{Name: "to", Usage: "window end, exclusive (default: just after the latest transaction)"},
			&cli.StringFlag{Name: "labels", Usage: "the generator's labels file, for precision and recall"},
			&cli.StringFlag{Name: "flink-jar", Value: "flinkjob/target/finlake-flinkjob.jar", Sources: cli.EnvVars("FINLAKE_FLINK_JAR"), Usage: "the Flink job's shaded jar"},
			&cli.StringFlag{Name: "java", Value: "java", Sources: cli.EnvVars("FINLAKE_JAVA"), Usage: "java 17+ executable"},
			&cli.StringSliceFlag{Name: "java-opt", Value: []string{"-Xmx1g"}, Sources: cli.EnvVars("FINLAKE_BACKTEST_JAVA_OPTS"),
				Usage: "JVM option of the replay job (repeatable; FINLAKE_BACKTEST_JAVA_OPTS: comma-separated)"},
			&cli.StringFlag{Name: "work", Usage: "keep the replay's input, output and log in this directory (default: a temporary one, removed)"},
			&cli.IntFlag{Name: "top", Value: 5, Usage: "most affected accounts shown per rule"},
			&cli.IntFlag{Name: "samples", Value: 5, Usage: "added and removed alerts shown per rule"}),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			asJSON, err := wantJSON(cmd)
			if err != nil {
				return err
			}
			file, err := rulesFileArg(cmd)
			if err != nil {
				return err
			}
			fx := fxPath(cmd, file)
			if _, err := os.Stat(fx); err != nil && !cmd.IsSet("fx") {
				if _, err := os.Stat("config/fx_rates.yaml"); err == nil {
					fx = "config/fx_rates.yaml"
				}
			}
			if err := cmd.Set("fx", fx); err != nil {
				return err
			}
			set, err := loadRules(cmd)
			if err != nil {
				return err
			}
			if set.FX == nil {
				return badInput("the backtest needs the FX table the job converts amounts with: --fx config/fx_rates.yaml")
			}
			now := time.Now()
			from, err := windowBound(cmd, "from", now)
			if err != nil {
				return err
			}
			to, err := windowBound(cmd, "to", now)
			if err != nil {
				return err
			}
			cfg, err := flightConfig(cmd)
			if err != nil {
				return err
			}
			if cfg.AsOf == "" {
				// One instant for every query: the window, the warm-up and the
				// alerts are read from the same snapshots.
				cfg.AsOf = now.UTC().Format(time.RFC3339Nano)
			}
			cl, err := client.Open(ctx, cfg)
			if err != nil {
				return flightExit(err)
			}
			defer cl.Close()
			if cmd.String("snapshot") != "" {
				if cl, err = pinSnapshotInstant(ctx, cl, cfg); err != nil {
					return err
				}
				defer cl.Close()
			}
			rep, err := backtest.Run(ctx, backtest.Options{
				Client: cl, Rules: set, RulesFile: file, FXFile: fx, From: from, To: to,
				Job:  backtest.Job{Java: cmd.String("java"), Jar: cmd.String("flink-jar"), JavaOpts: cmd.StringSlice("java-opt")},
				Work: cmd.String("work"), Labels: cmd.String("labels"), Progress: cmd.Root().ErrWriter,
				Top: int(cmd.Int("top")), Samples: int(cmd.Int("samples")),
			})
			if errors.Is(err, backtest.ErrEmptyWindow) {
				return badInput("%v", err)
			}
			if err != nil {
				return flightExit(err)
			}
			w := cmd.Root().Writer
			if asJSON {
				return writeJSON(w, rep)
			}
			return rep.Render(w)
		},
	}
}

// windowBound parses --from/--to like --as-of (RFC 3339, a date, relative).
func windowBound(cmd *cli.Command, name string, now time.Time) (time.Time, error) {
	v := strings.TrimSpace(cmd.String(name))
	if v == "" {
		return time.Time{}, nil
	}
	if _, err := fmt.Sscan(v, new(int64)); err == nil && !strings.ContainsAny(v, "-:") {
		return time.Time{}, badInput("--%s %q: want an RFC 3339 time, a date or a relative time (-24h)", name, v)
	}
	s, err := client.ResolveAsOf(v, now)
	if err != nil {
		return time.Time{}, badInput("--%s: %s", name, strings.TrimPrefix(err.Error(), "--as-of "))
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badInput("--%s %q: %v", name, v, err)
	}
	return t, nil
}

// pinSnapshotInstant turns --snapshot ID (one table's snapshot) into the
// instant it was committed, so the other table is read at the same moment.
func pinSnapshotInstant(ctx context.Context, cl *client.Client, cfg client.Config) (*client.Client, error) {
	id := cfg.AsOf
	_, rows, err := cl.TextRows(ctx, fmt.Sprintf(`SELECT strftime(committed_at, '%%Y-%%m-%%dT%%H:%%M:%%S.%%gZ') FROM "transactions$snapshots" WHERE snapshot_id = %[1]s
UNION ALL SELECT strftime(committed_at, '%%Y-%%m-%%dT%%H:%%M:%%S.%%gZ') FROM "alerts$snapshots" WHERE snapshot_id = %[1]s`, id))
	cl.Close()
	if err != nil {
		return nil, flightExit(err)
	}
	if len(rows) == 0 {
		return nil, badInput("--snapshot %s is no snapshot of lake.transactions or lake.alerts (lakectl snapshots transactions lists them)", id)
	}
	cfg.AsOf = rows[0][0]
	n, err := client.Open(ctx, cfg)
	if err != nil {
		return nil, flightExit(err)
	}
	return n, nil
}

// rulesExtra is read by the rules command's init; a package variable is set before any init runs.
var rulesExtra = []*cli.Command{rulesBacktestCmd()}
