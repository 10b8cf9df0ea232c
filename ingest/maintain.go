package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
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
	TargetFileSize int64 // compaction output target; files of 75% of it and more are left as they are
	// TierBase and TierFanout shape the size tiers compaction merges within
	// (see planCompaction): files under TierBase are merged every pass, and
	// TierFanout files of one tier make one of the next. Zero: TargetFileSize/128 and 4.
	TierBase        int64
	TierFanout      int
	MinInputFiles   int                  // a tier needs at least this many files to be merged (at least 2)
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
	if tbl, err = ensureLayout(ctx, cat, tbl, name); err != nil {
		return err
	}
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		return fmt.Errorf("plan files of %s: %w", name, err)
	}
	groups, err := planCompaction(tasks, opts)
	if err != nil {
		return fmt.Errorf("plan compaction of %s: %w", name, err)
	}
	if len(groups) == 0 {
		return nil
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

// ensureLayout sets the Parquet layout properties a table created by an
// older finlake lacks (lake.TableDef.MissingLayout), so that this pass's
// compaction already writes files with lookup bloom filters.
func ensureLayout(ctx context.Context, cat catalog.Catalog, tbl *table.Table, name string) (*table.Table, error) {
	def, ok := lake.TableDefOf(name)
	if !ok {
		return tbl, nil
	}
	missing := def.MissingLayout(tbl.Properties())
	if len(missing) == 0 {
		return tbl, nil
	}
	meta, loc, err := cat.CommitTable(ctx, tbl.Identifier(), nil, []table.Update{table.NewSetPropertiesUpdate(missing)})
	if err != nil {
		return nil, fmt.Errorf("set the layout properties of %s: %w", name, err)
	}
	slog.Info("table layout properties set", "table", name, "properties", missing)
	return table.New(tbl.Identifier(), meta, loc, tbl.FS, cat), nil
}

// planCompaction picks the files one pass rewrites, per partition.
//
// Merging every small file of a partition with what is already compacted
// rewrites the partition's whole day so far at every pass: at an hourly pass
// each row of a day was written about twelve times, and the keep tags of
// snapshot retention held every version for the retention period (a week's
// lake grew by 1.16 GB a day for ~50 MB of rows). So files are merged within
// size tiers instead, as an LSM tree merges runs:
//
//   - files under TierBase, and files with delete files, are merged at every
//     pass (tier 0);
//   - tier k holds files of TierBase·F^(k-1) up to TierBase·F^k (F =
//     TierFanout); F files of one tier are merged, into a file of the next
//     one, so a row is rewritten about log_F(day / TierBase) times;
//   - files of 75% of TargetFileSize or more are done;
//   - a partition before the newest one, whose day is over and where only
//     late rows still arrive, is merged whole into target-size files once it
//     holds two files above tier 0; late rows after that stay in tier 0 and
//     never make it rewrite the day again on their own.
//
// A partition holds at most TierFanout-1 files per tier between passes, on
// top of what arrived since the last one (CompactedFilesBound).
func planCompaction(tasks []table.FileScanTask, opts MaintainOptions) ([]table.CompactionTaskGroup, error) {
	target := opts.TargetFileSize
	base, fanout := opts.tiers()
	done := target * 3 / 4
	type part struct {
		order   int64
		ordered bool
		tiers   map[int][]table.FileScanTask
		undone  []table.FileScanTask // every file under done
	}
	parts := map[string]*part{}
	var keys []string
	newest, haveNewest := int64(0), false
	for _, t := range tasks {
		k, order, ordered := partitionOf(t.File)
		if ordered && (!haveNewest || order > newest) {
			newest, haveNewest = order, true
		}
		deletes := len(t.DeleteFiles) + len(t.EqualityDeleteFiles) + len(t.DeletionVectorFiles)
		size := t.File.FileSizeBytes()
		if deletes == 0 && size >= done {
			continue
		}
		p := parts[k]
		if p == nil {
			p = &part{order: order, ordered: ordered, tiers: map[int][]table.FileScanTask{}}
			parts[k] = p
			keys = append(keys, k)
		}
		tier := 0
		if deletes == 0 {
			for lim := base; size >= lim; lim *= int64(fanout) {
				tier++
			}
		}
		p.tiers[tier] = append(p.tiers[tier], t)
		p.undone = append(p.undone, t)
	}
	var sets [][]table.FileScanTask
	for _, k := range keys {
		p := parts[k]
		// Two files above tier 0: the day's tiers, not a late file or two.
		if tiered := len(p.undone) - len(p.tiers[0]); p.ordered && p.order < newest && tiered >= 2 {
			sets = append(sets, p.undone)
			continue
		}
		for tier, files := range p.tiers {
			need := max(opts.MinInputFiles, 2)
			if tier > 0 {
				need = max(need, fanout)
			}
			if len(files) >= need {
				sets = append(sets, files)
			}
		}
	}
	cfg := compaction.DefaultConfig()
	cfg.TargetFileSizeBytes = target
	// Every file handed over is a candidate: the tiers above chose them.
	cfg.MinFileSizeBytes = target
	cfg.MaxFileSizeBytes = target * 9 / 5
	cfg.MinInputFiles = 2
	var groups []table.CompactionTaskGroup
	for _, set := range sets {
		plan, err := cfg.PlanCompaction(set)
		if err != nil {
			return nil, err
		}
		for _, g := range plan.Groups {
			groups = append(groups, table.CompactionTaskGroup{PartitionKey: g.PartitionKey, Tasks: g.Tasks, TotalSizeBytes: g.TotalSizeBytes})
		}
	}
	return groups, nil
}

func (o MaintainOptions) tiers() (base int64, fanout int) {
	base, fanout = o.TierBase, o.TierFanout
	if base <= 0 {
		base = max(o.TargetFileSize/128, 1)
	}
	if fanout < 2 {
		fanout = 4
	}
	return base, fanout
}

// CompactedFilesBound is how many files under 75% of TargetFileSize a
// partition can hold after a maintenance pass, besides the ones that arrived
// since: one short of what makes a tier merge, per tier.
func (o MaintainOptions) CompactedFilesBound() int {
	base, fanout := o.tiers()
	n := max(o.MinInputFiles, 2) - 1
	for lim := base; lim < o.TargetFileSize*3/4; lim *= int64(fanout) {
		n += max(o.MinInputFiles, fanout) - 1
	}
	return n
}

// partitionOf keys a data file's partition, and orders it when it has one
// day (or other integer) value: the order finds the newest partition.
func partitionOf(f iceberg.DataFile) (key string, order int64, ordered bool) {
	vals := f.Partition()
	ids := make([]int, 0, len(vals))
	for id := range vals {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	var b strings.Builder
	fmt.Fprintf(&b, "%d", f.SpecID())
	for _, id := range ids {
		fmt.Fprintf(&b, "/%d=%v", id, vals[id])
	}
	if len(ids) == 1 {
		switch v := vals[ids[0]].(type) {
		case int32:
			order, ordered = int64(v), true
		case int64:
			order, ordered = v, true
		case int:
			order, ordered = int64(v), true
		case iceberg.Date:
			order, ordered = int64(v), true
		}
	}
	return b.String(), order, ordered
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
