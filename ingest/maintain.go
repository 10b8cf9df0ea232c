package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/table/compaction"

	"github.com/finlake/finlake/lake"
)

// MaintainOptions tune one maintenance pass over a table.
type MaintainOptions struct {
	TargetFileSize  int64         // compaction output target; files under 75% of it are candidates
	MinInputFiles   int           // a partition needs at least this many candidates to be compacted
	RetainFor       time.Duration // snapshots younger than this are kept
	RetainLast      int           // at least this many snapshots are kept, whatever their age
	OrphanOlderThan time.Duration // unreferenced files younger than this are kept (may be in flight)
	SkipCompact     bool
	SkipExpire      bool
	SkipOrphans     bool
	Retries         int // attempts per step when a commit loses a race
}

// DefaultMaintainOptions are the service's and `lakectl maintain`'s defaults.
func DefaultMaintainOptions() MaintainOptions {
	return MaintainOptions{
		TargetFileSize:  128 << 20,
		MinInputFiles:   2,
		RetainFor:       7 * 24 * time.Hour,
		RetainLast:      100,
		OrphanOlderThan: 24 * time.Hour,
		Retries:         5,
	}
}

// MaintainReport says what one pass did.
type MaintainReport struct {
	Table            string        `json:"table"`
	CompactedGroups  int           `json:"compacted_partition_groups"`
	FilesRewritten   int           `json:"data_files_rewritten"`
	FilesAdded       int           `json:"data_files_added"`
	BytesBefore      int64         `json:"bytes_before"`
	BytesAfter       int64         `json:"bytes_after"`
	SnapshotsBefore  int           `json:"snapshots_before"`
	SnapshotsExpired int           `json:"snapshots_expired"`
	RetainedLast     int           `json:"retained_last"`
	OrphansRemoved   int           `json:"orphan_files_removed"`
	OrphanBytes      int64         `json:"orphan_bytes_removed"`
	Duration         time.Duration `json:"duration_ns"`
}

// Maintain compacts small files per partition, expires old snapshots and
// removes orphan files of one table. Every step keeps exactly-once recovery
// intact: the compaction snapshot carries a copy of the newest offsets and
// commits only if no snapshot landed since it read them (so it never
// publishes stale offsets), and expiry always keeps the newest
// offset-carrying snapshot.
func Maintain(ctx context.Context, cat catalog.Catalog, tableName string, opts MaintainOptions) (MaintainReport, error) {
	start := time.Now()
	rep := MaintainReport{Table: tableName}
	if opts.Retries <= 0 {
		opts.Retries = 1
	}
	if !opts.SkipCompact {
		if err := retry(ctx, opts.Retries, "compact "+tableName, func() error { return compact(ctx, cat, tableName, opts, &rep) }); err != nil {
			return rep, err
		}
	}
	if !opts.SkipExpire {
		if err := retry(ctx, opts.Retries, "expire snapshots of "+tableName, func() error { return expire(ctx, cat, tableName, opts, &rep) }); err != nil {
			return rep, err
		}
	}
	if !opts.SkipOrphans {
		tbl, err := cat.LoadTable(ctx, lake.Ident(tableName))
		if err != nil {
			return rep, fmt.Errorf("load %s: %w", tableName, err)
		}
		res, err := tbl.DeleteOrphanFiles(ctx, table.WithFilesOlderThan(opts.OrphanOlderThan))
		if err != nil {
			return rep, fmt.Errorf("remove orphan files of %s: %w", tableName, err)
		}
		rep.OrphansRemoved = len(res.DeletedFiles)
		rep.OrphanBytes = res.TotalSizeBytes
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

func retry(ctx context.Context, attempts int, what string, fn func() error) error {
	var err error
	for i := 0; i < attempts; i++ {
		if err = fn(); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		slog.Warn("maintenance step failed; retrying", "step", what, "attempt", i+1, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(200*(i+1)) * time.Millisecond):
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func compact(ctx context.Context, cat catalog.Catalog, name string, opts MaintainOptions, rep *MaintainReport) error {
	tbl, err := cat.LoadTable(ctx, lake.Ident(name))
	if err != nil {
		return fmt.Errorf("load %s: %w", name, err)
	}
	if tbl.CurrentSnapshot() == nil {
		return nil
	}
	cfg := compaction.DefaultConfig()
	cfg.TargetFileSizeBytes = opts.TargetFileSize
	cfg.MinFileSizeBytes = opts.TargetFileSize * 3 / 4
	cfg.MaxFileSizeBytes = opts.TargetFileSize * 9 / 5
	cfg.MinInputFiles = uint(max(opts.MinInputFiles, 2))
	plan, err := compaction.Analyze(ctx, tbl, cfg)
	if err != nil {
		return err
	}
	if len(plan.Groups) == 0 {
		return nil
	}
	groups := make([]table.CompactionTaskGroup, 0, len(plan.Groups))
	for _, g := range plan.Groups {
		groups = append(groups, table.CompactionTaskGroup{PartitionKey: g.PartitionKey, Tasks: g.Tasks, TotalSizeBytes: g.TotalSizeBytes})
	}
	props := lake.CarriedOffsetProperties(tbl)
	props["finlake.maintenance"] = "compaction"
	txn := tbl.NewTransaction()
	// Pinned: if ingest commits meanwhile, this fails rather than landing on
	// top with offsets older than the ones ingest just wrote.
	if err := txn.AssertRefSnapshotID(table.MainBranch); err != nil {
		return err
	}
	res, err := txn.RewriteDataFiles(ctx, groups, table.RewriteDataFilesOptions{
		SnapshotProps: props,
		GroupOptions:  []table.CompactionGroupOption{table.WithCompactionTargetFileSize(opts.TargetFileSize)},
	})
	if err != nil {
		return fmt.Errorf("rewrite data files: %w", err)
	}
	if res.RewrittenGroups == 0 {
		return nil
	}
	if _, err := txn.Commit(ctx); err != nil {
		return fmt.Errorf("commit compaction: %w", err)
	}
	rep.CompactedGroups += res.RewrittenGroups
	rep.FilesRewritten += res.RemovedDataFiles
	rep.FilesAdded += res.AddedDataFiles
	rep.BytesBefore += res.BytesBefore
	rep.BytesAfter += res.BytesAfter
	return nil
}

func expire(ctx context.Context, cat catalog.Catalog, name string, opts MaintainOptions, rep *MaintainReport) error {
	tbl, err := cat.LoadTable(ctx, lake.Ident(name))
	if err != nil {
		return fmt.Errorf("load %s: %w", name, err)
	}
	before := len(tbl.Metadata().Snapshots())
	rep.SnapshotsBefore = before
	if before == 0 {
		return nil
	}
	// Keep the whole ancestry down to the newest offset-carrying snapshot, or
	// a restart would lose its resume point.
	retain := max(opts.RetainLast, lake.OffsetSnapshotDepth(tbl), 1)
	rep.RetainedLast = retain
	txn := tbl.NewTransaction()
	if err := txn.ExpireSnapshots(table.WithOlderThan(opts.RetainFor), table.WithRetainLast(retain)); err != nil {
		return fmt.Errorf("plan snapshot expiry: %w", err)
	}
	after, err := txn.Commit(ctx)
	if err != nil && after == nil {
		return fmt.Errorf("commit snapshot expiry: %w", err)
	}
	if err != nil {
		// The expiry is committed; only deleting the expired files failed,
		// typically because an earlier pass already removed them (a
		// compaction's manifest lists rewritten files again as deleted).
		// Whatever is really left is an orphan for the orphan step.
		slog.Debug("snapshot expiry committed; some expired files could not be deleted", "table", name, "err", err)
	}
	rep.SnapshotsExpired += before - len(after.Metadata().Snapshots())
	return nil
}
