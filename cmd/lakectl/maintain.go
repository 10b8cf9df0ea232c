package main

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/finlake/finlake/ingest"
	"github.com/finlake/finlake/internal/termout"
	"github.com/finlake/finlake/lake"
)

func init() {
	d := ingest.DefaultMaintainOptions()
	flags := append(maintainFlags(d),
		&cli.StringSliceFlag{Name: "table", Usage: "table to maintain, repeatable (default: transactions, alerts, pipeline_runs)"},
		&cli.BoolFlag{Name: "no-compact", Usage: "skip compaction"},
		&cli.BoolFlag{Name: "no-expire", Usage: "skip snapshot expiry"},
		&cli.BoolFlag{Name: "no-orphans", Usage: "skip orphan file removal"},
		&cli.BoolFlag{Name: "json", Usage: "print the reports as JSON"},
	)
	register(&cli.Command{
		Name:  "maintain",
		Usage: "compact small files, expire old snapshots and remove orphan files",
		Description: `Per table: merges small data files per partition towards --target-file-size,
applies the snapshot retention policy, and deletes files no snapshot references that are
older than --orphan-older-than. Retention keeps every snapshot younger than
--snapshot-keep-all, then one per --snapshot-keep-every (the newest of each interval,
pinned by an Iceberg tag such as hourly-2026-12-02T05 whose max-ref-age is --retain), and
nothing older than --retain (durations as 30m, 6h, 168h); time travel answers from the
newest kept snapshot at or before the instant. Safe while ingest runs: the compaction
snapshot copies the newest Kafka offsets into its summary and commits only if no other
commit landed meanwhile (it retries otherwise), and expiry always keeps the current
snapshot and the chain down to the newest offset-carrying one, so ingest still resumes
exactly where it was. ` + "`lakectl ingest`" + ` runs the same maintenance every --maintain-interval
(and retention alone every --expire-interval).

Examples:
  lakectl maintain
  lakectl maintain --table transactions --target-file-size 256MiB
  lakectl maintain --snapshot-keep-all 30m --snapshot-keep-every 6h --retain 3d --no-orphans
  lakectl maintain --json | jq '.[].snapshots_expired'`,
		Flags: flags,
		Action: func(ctx context.Context, cmd *cli.Command) error {
			opts, err := maintainOptions(cmd)
			if err != nil {
				return err
			}
			opts.SkipCompact, opts.SkipExpire, opts.SkipOrphans = cmd.Bool("no-compact"), cmd.Bool("no-expire"), cmd.Bool("no-orphans")
			tables := cmd.StringSlice("table")
			if len(tables) == 0 {
				for _, t := range lake.Tables() {
					tables = append(tables, t.Name)
				}
			}
			cat, closeCat, err := lake.OpenCatalog(ctx, lakeConfig(cmd))
			if err != nil {
				return cli.Exit("lakectl maintain: "+err.Error(), exitFailure)
			}
			defer closeCat()
			var reps []ingest.MaintainReport
			for _, t := range tables {
				t = strings.TrimPrefix(t, lake.Namespace+".")
				ok, err := cat.CheckTableExists(ctx, lake.Ident(t))
				if err != nil {
					return cli.Exit("lakectl maintain: "+err.Error(), exitFailure)
				}
				if !ok {
					return badInput("table %s.%s does not exist (run `lakectl ingest` once to create the tables)", lake.Namespace, t)
				}
				rep, err := ingest.Maintain(ctx, cat, t, opts)
				reps = append(reps, rep)
				if err != nil {
					return cli.Exit(fmt.Sprintf("lakectl maintain: %s.%s: %v", lake.Namespace, t, err), exitFailure)
				}
				if !cmd.Bool("json") {
					fmt.Fprintf(cmd.Root().Writer, "%s.%s: compacted %d files into %d (%s → %s) in %d partition groups; expired %d of %d snapshots (kept %d, %d keep tags, oldest %s); removed %d orphan files (%s); %s\n",
						lake.Namespace, t, rep.FilesRewritten, rep.FilesAdded, termout.Bytes(rep.BytesBefore), termout.Bytes(rep.BytesAfter),
						rep.CompactedGroups, rep.SnapshotsExpired, rep.SnapshotsBefore, rep.SnapshotsKept, rep.KeepTags, cmp.Or(rep.OldestKept, "-"),
						rep.OrphansRemoved, termout.Bytes(rep.OrphanBytes), rep.Duration.Round(1e6))
				}
			}
			if cmd.Bool("json") {
				return writeJSON(cmd.Root().Writer, reps)
			}
			return nil
		},
	})
}
