package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/table/compaction"

	"github.com/finlake/finlake/lake"
)

// MaintainOptions tune one maintenance pass over a table.
type MaintainOptions struct {
	TargetFileSize  int64                // compaction output target; files under 75% of it are candidates
	MinInputFiles   int                  // a partition needs at least this many candidates to be compacted
	Retention       lake.RetentionPolicy // which snapshots expiry keeps (lake.PlanRetention)
	OrphanOlderThan time.Duration        // unreferenced files younger than this are kept (may be in flight)
	SkipCompact     bool
	SkipExpire      bool
	SkipOrphans     bool
	Retries         int // attempts per step when a commit loses a race
	// MetadataVersionsMax bounds the metadata log: maintenance sets
	// write.metadata.previous-versions-max to it (and delete-after-commit on)
	// when a table keeps more, so old metadata.json files do not pile up.
	MetadataVersionsMax int
	Now                 func() time.Time // the clock expiry ages snapshots by; time.Now when nil
}

// DefaultMaintainOptions are the service's and `lakectl maintain`'s defaults.
func DefaultMaintainOptions() MaintainOptions {
	return MaintainOptions{
		TargetFileSize:  128 << 20,
		MinInputFiles:   2,
		Retention:       lake.DefaultRetentionPolicy(),
		OrphanOlderThan: 24 * time.Hour,
		Retries:         5,

		MetadataVersionsMax: lake.MetadataVersionsMax,
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
	SnapshotsKept    int           `json:"snapshots_kept"`
	KeepTags         int           `json:"keep_tags"` // keep tags on the table after the pass
	OldestKept       string        `json:"oldest_kept,omitempty"`
	OrphansRemoved   int           `json:"orphan_files_removed"`
	OrphanBytes      int64         `json:"orphan_bytes_removed"`
	Duration         time.Duration `json:"duration_ns"`
}

// Maintain compacts small files per partition, expires old snapshots and
// removes orphan files of one table. Every step keeps exactly-once recovery
// intact: the compaction snapshot carries a copy of the newest offsets and
// commits only if no snapshot landed since it read them (so it never
// publishes stale offsets), and expiry always keeps the current snapshot
// and the chain down to the newest offset-carrying one, which is where
// lake.LatestOffsets finds the resume point.
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

// expire applies the retention policy in one commit: keep tags are set,
// moved or dropped and every snapshot the plan does not keep is removed,
// guarded by main not having moved since the plan was made (a concurrent
// ingest commit makes it fail and retry on fresh metadata).
func expire(ctx context.Context, cat catalog.Catalog, name string, opts MaintainOptions, rep *MaintainReport) error {
	tbl, err := cat.LoadTable(ctx, lake.Ident(name))
	if err != nil {
		return fmt.Errorf("load %s: %w", name, err)
	}
	meta := tbl.Metadata()
	rep.SnapshotsBefore = len(meta.Snapshots())
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	var updates []table.Update
	if opts.MetadataVersionsMax > 0 {
		props := meta.Properties()
		if props.GetInt(table.MetadataPreviousVersionsMaxKey, table.MetadataPreviousVersionsMaxDefault) > opts.MetadataVersionsMax ||
			!props.GetBool(table.MetadataDeleteAfterCommitEnabledKey, table.MetadataDeleteAfterCommitEnabledDefault) {
			updates = append(updates, table.NewSetPropertiesUpdate(iceberg.Properties{
				table.MetadataPreviousVersionsMaxKey:      strconv.Itoa(opts.MetadataVersionsMax),
				table.MetadataDeleteAfterCommitEnabledKey: "true",
			}))
		}
	}
	if rep.SnapshotsBefore == 0 && len(updates) == 0 {
		return nil
	}
	plan := lake.PlanRetention(meta, now(), opts.Retention)
	tagAge := plan.TagMaxAge.Milliseconds()
	for _, n := range plan.RemoveTags {
		updates = append(updates, table.NewRemoveSnapshotRefUpdate(n))
	}
	for n, id := range plan.SetTags {
		updates = append(updates, table.NewSetSnapshotRefUpdate(n, id, table.TagRef, tagAge, 0, 0))
	}
	var removal table.Update
	if len(plan.Expire) > 0 {
		removal = table.NewRemoveSnapshotsUpdate(plan.Expire, true)
		updates = append(updates, removal)
	}
	if len(updates) > 0 {
		var cur *int64
		if s := meta.CurrentSnapshot(); s != nil {
			cur = &s.SnapshotID
		}
		newMeta, loc, err := cat.CommitTable(ctx, tbl.Identifier(), []table.Requirement{table.AssertRefSnapshotID(table.MainBranch, cur)}, updates)
		if err != nil {
			return fmt.Errorf("commit snapshot expiry: %w", err)
		}
		after := table.New(tbl.Identifier(), newMeta, loc, func(ctx context.Context) (iceio.IO, error) { return tbl.FS(ctx) }, cat)
		if removal != nil {
			// The expiry is committed; deleting the files only the expired
			// snapshots used may still fail, typically because an earlier
			// pass already removed them (a compaction's manifest lists
			// rewritten files again as deleted). Whatever is really left is
			// an orphan for the orphan step.
			if err := removal.PostCommit(ctx, tbl, after); err != nil {
				slog.Debug("snapshot expiry committed; some expired files could not be deleted", "table", name, "err", err)
			}
		}
		deleteDroppedMetadata(ctx, tbl, newMeta)
		meta = newMeta
	}
	rep.SnapshotsExpired += len(plan.Expire)
	rep.SnapshotsKept = len(meta.Snapshots())
	for n, ref := range meta.Refs() {
		if ref.SnapshotRefType == table.TagRef && lake.IsKeepTag(n) {
			rep.KeepTags++
		}
	}
	if c := lake.TimeTravelCandidates(meta); len(c) > 0 {
		rep.OldestKept = lake.FormatMs(c[len(c)-1].TimestampMs)
	}
	return nil
}

// deleteDroppedMetadata removes the metadata.json files the commit trimmed
// from the metadata log, as iceberg-go's own commit path does under
// write.metadata.delete-after-commit.enabled (a commit straight through the
// catalog skips it).
func deleteDroppedMetadata(ctx context.Context, before *table.Table, after table.Metadata) {
	if !after.Properties().GetBool(table.MetadataDeleteAfterCommitEnabledKey, table.MetadataDeleteAfterCommitEnabledDefault) {
		return
	}
	fs, err := before.FS(ctx)
	if err != nil {
		return
	}
	still := map[string]bool{}
	for e := range after.PreviousFiles() {
		still[e.MetadataFile] = true
	}
	for e := range before.Metadata().PreviousFiles() {
		if !still[e.MetadataFile] {
			if err := fs.Remove(e.MetadataFile); err != nil {
				slog.Debug("could not delete an old metadata file", "file", e.MetadataFile, "err", err)
			}
		}
	}
}
