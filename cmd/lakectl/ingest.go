package main

import (
	"context"

	"github.com/urfave/cli/v3"

	"github.com/finlake/finlake/ingest"
	"github.com/finlake/finlake/internal/termout"
	"github.com/finlake/finlake/lake"
)

func maintainFlags(d ingest.MaintainOptions) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "target-file-size", Value: termout.Bytes(d.TargetFileSize),
			Usage: "compaction target per data file (e.g. 128MiB); files under 75% of it are merged per partition"},
		&cli.DurationFlag{Name: "snapshot-keep-all", Value: d.Retention.KeepAll,
			Usage: "keep every snapshot younger than this (full-resolution time travel)"},
		&cli.DurationFlag{Name: "snapshot-keep-every", Value: d.Retention.KeepEvery,
			Usage: "beyond --snapshot-keep-all, keep one snapshot per interval (tagged hourly-YYYY-MM-DDTHH for 1h)"},
		&cli.DurationFlag{Name: "retain", Value: d.Retention.Retain,
			Usage: "expire every snapshot older than this, except the resume point (time travel reaches back this far)"},
		&cli.IntFlag{Name: "retain-last", Value: d.Retention.MinKeep,
			Usage: "always keep at least this many of the newest snapshots, whatever their age"},
		&cli.DurationFlag{Name: "orphan-older-than", Value: d.OrphanOlderThan,
			Usage: "delete unreferenced files only when older than this (younger ones may belong to a commit in flight)"},
	}
}

func maintainOptions(cmd *cli.Command) (ingest.MaintainOptions, error) {
	o := ingest.DefaultMaintainOptions()
	size, err := parseSize(cmd.String("target-file-size"))
	if err != nil || size < 1<<20 {
		return o, badInput("--target-file-size %q: want a size of at least 1MiB like 128MiB or 512MB", cmd.String("target-file-size"))
	}
	o.TargetFileSize = size
	o.Retention = lake.RetentionPolicy{
		KeepAll:   cmd.Duration("snapshot-keep-all"),
		KeepEvery: cmd.Duration("snapshot-keep-every"),
		Retain:    cmd.Duration("retain"),
		MinKeep:   int(cmd.Int("retain-last")),
	}
	if err := o.Retention.Validate(); err != nil {
		return o, badInput("%v", err)
	}
	o.OrphanOlderThan = cmd.Duration("orphan-older-than")
	if o.OrphanOlderThan < 0 {
		return o, badInput("--orphan-older-than must not be negative")
	}
	return o, nil
}

func init() {
	d := ingest.DefaultConfig()
	flags := []cli.Flag{
		brokersFlag(),
		&cli.StringFlag{Name: "transactions-topic", Value: d.TransactionsTopic,
			Usage: "topic of enriched transactions landed in lake.transactions (empty: do not ingest it)"},
		&cli.StringFlag{Name: "alerts-topic", Value: d.AlertsTopic,
			Usage: "topic of alerts landed in lake.alerts (empty: do not ingest it)"},
		&cli.StringFlag{Name: "group", Value: d.Group,
			Usage: "consumer group the committed offsets are mirrored to, for lag monitoring only"},
		&cli.DurationFlag{Name: "commit-interval", Value: d.CommitInterval,
			Usage: "commit at least this often while records flow (bounds storage latency)"},
		&cli.IntFlag{Name: "commit-records", Value: d.CommitRecords,
			Usage: "commit once a batch holds this many records (bounds memory)"},
		httpFlag(d.HTTPAddr, "FINLAKE_INGEST_HTTP", "/healthz, /readyz, /metrics and /status"),
		&cli.FloatFlag{Name: "disk-warn-percent", Value: d.DiskWarnPercent,
			Usage: "warn (logs, /status, /metrics) when the warehouse filesystem is this full"},
		&cli.FloatFlag{Name: "disk-stop-percent", Value: d.DiskStopPercent,
			Usage: "stop consuming and committing at this fullness; resumes by itself below it"},
		&cli.DurationFlag{Name: "runs-interval", Value: d.RunsInterval,
			Usage: "period of the lake.pipeline_runs rows (0: none)"},
		&cli.DurationFlag{Name: "maintain-interval", Value: d.MaintainInterval,
			Usage: "run compaction, snapshot retention and orphan removal this often (0: never; see `lakectl maintain`)"},
	}
	flags = append(flags, &cli.DurationFlag{Name: "expire-interval", Value: d.ExpireInterval,
		Usage: "between maintenance passes, compact and apply snapshot retention this often, without orphan removal (keeps metadata.json, rewritten by every commit, small, and merges the small files queries open; 0: only with maintenance)"})
	flags = append(flags, maintainFlags(d.Maintain)...)
	register(&cli.Command{
		Name:  "ingest",
		Usage: "land transactions-processed and alerts in the Iceberg tables, exactly once",
		Description: `Consumes transactions-processed into lake.transactions and alerts into lake.alerts
(read_committed, one writer per table) and commits every --commit-interval or
--commit-records, whichever comes first. Every snapshot's summary carries the next
Kafka offset of each partition ("finlake.offsets.<topic>"); a restart, even after a
crash or kill -9, resumes from the newest such snapshot, so nothing is lost and
nothing is written twice. Creates the namespace and tables on first start. Every
--runs-interval a row lands in lake.pipeline_runs (counts, commits, storage latency
percentiles). Scheduled maintenance compacts, expires and removes orphans without
breaking the resume point. A disk guard warns at --disk-warn-percent and pauses at
--disk-stop-percent of the warehouse filesystem, resuming when space returns.

Examples:
  lakectl ingest
  lakectl ingest --brokers 127.0.0.1:9092 --data ./data --http 127.0.0.1:8092
  lakectl ingest --commit-interval 2s --commit-records 20000
  curl -s 127.0.0.1:8092/status | jq .tables.transactions.partitions`,
		Flags: flags,
		Action: func(ctx context.Context, cmd *cli.Command) error {
			cfg := ingest.DefaultConfig()
			cfg.Lake = lakeConfig(cmd)
			cfg.Brokers = brokerList(cmd)
			if len(cfg.Brokers) == 0 {
				return badInput("--brokers is empty: name at least one Kafka bootstrap server")
			}
			cfg.TransactionsTopic = cmd.String("transactions-topic")
			cfg.AlertsTopic = cmd.String("alerts-topic")
			if cfg.TransactionsTopic == "" && cfg.AlertsTopic == "" {
				return badInput("nothing to ingest: both --transactions-topic and --alerts-topic are empty")
			}
			cfg.Group = cmd.String("group")
			cfg.CommitInterval = cmd.Duration("commit-interval")
			cfg.CommitRecords = int(cmd.Int("commit-records"))
			if cfg.CommitInterval <= 0 || cfg.CommitRecords <= 0 {
				return badInput("--commit-interval and --commit-records must be positive")
			}
			cfg.HTTPAddr = httpAddr(cmd)
			cfg.DiskWarnPercent = cmd.Float("disk-warn-percent")
			cfg.DiskStopPercent = cmd.Float("disk-stop-percent")
			if !(cfg.DiskWarnPercent > 0 && cfg.DiskWarnPercent <= cfg.DiskStopPercent && cfg.DiskStopPercent <= 100) {
				return badInput("disk thresholds: want 0 < --disk-warn-percent (%g) <= --disk-stop-percent (%g) <= 100",
					cfg.DiskWarnPercent, cfg.DiskStopPercent)
			}
			cfg.RunsInterval = cmd.Duration("runs-interval")
			cfg.MaintainInterval = cmd.Duration("maintain-interval")
			cfg.ExpireInterval = cmd.Duration("expire-interval")
			if cfg.MaintainInterval < 0 || cfg.ExpireInterval < 0 {
				return badInput("--maintain-interval and --expire-interval must not be negative")
			}
			m, err := maintainOptions(cmd)
			if err != nil {
				return err
			}
			cfg.Maintain = m
			cfg.Version = version
			if err := ingest.Run(ctx, cfg); err != nil {
				return cli.Exit("lakectl ingest: "+err.Error(), exitFailure)
			}
			return nil
		},
	})
}
