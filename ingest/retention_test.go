package ingest

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/lake"
)

// Retention on real iceberg-go tables, its durations scaled down: commits
// 40 ms apart stand for ingest's 5 s, a 300 ms interval for an hour.

// commitSpread makes n real ingest commits about gap apart and returns the
// table's snapshots, oldest first.
func commitSpread(t *testing.T, w *tableWriter, n int, gap time.Duration) []table.Snapshot {
	t.Helper()
	off := lake.Offsets{}
	for i := 0; i < n; i++ {
		off = commitRecords(t, w, i*3, 3, off)
		time.Sleep(gap)
	}
	tbl, err := w.cat.LoadTable(context.Background(), w.ident())
	if err != nil {
		t.Fatal(err)
	}
	snaps := tbl.Metadata().Snapshots()
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].TimestampMs < snaps[j].TimestampMs })
	return snaps
}

func TestRetentionOnARealTableKeepsExactlyThePolicysSnapshots(t *testing.T) {
	cat, _ := localLake(t)
	ctx := context.Background()
	w := testWriter(t, cat, lake.TableTransactions, contract.TransactionsProcessed)
	snaps := commitSpread(t, w, 60, 40*time.Millisecond)
	first, last := time.UnixMilli(snaps[0].TimestampMs), time.UnixMilli(snaps[len(snaps)-1].TimestampMs)
	// The windows scale with how long the commits took (a loaded machine
	// spreads them out): the last fifth in full, then eighths, back over
	// about two thirds of the span.
	span := last.Sub(first)
	p := lake.RetentionPolicy{KeepAll: span / 5, KeepEvery: span / 8, Retain: span * 2 / 3, MinKeep: 1}
	now := last.Add(span / 50)

	// The policy stated plainly, over the snapshots as committed.
	want := map[int64]bool{}
	newestOfInterval := map[int64]table.Snapshot{}
	for _, s := range snaps {
		age := now.Sub(time.UnixMilli(s.TimestampMs))
		switch {
		case age <= p.KeepAll:
			want[s.SnapshotID] = true
		case age <= p.Retain:
			newestOfInterval[s.TimestampMs/p.KeepEvery.Milliseconds()] = s // oldest first: the last one wins
		}
	}
	for _, s := range newestOfInterval {
		want[s.SnapshotID] = true
	}
	if len(want) >= len(snaps)-5 || len(newestOfInterval) < 3 {
		t.Fatalf("setup: %d of %d snapshots to keep, %d intervals: too few expire to test anything", len(want), len(snaps), len(newestOfInterval))
	}

	opts := DefaultMaintainOptions()
	opts.SkipCompact, opts.SkipOrphans = true, true
	opts.Retention, opts.Now = p, func() time.Time { return now }
	rep, err := Maintain(ctx, cat, lake.TableTransactions, opts)
	if err != nil {
		t.Fatal(err)
	}
	tbl, _ := cat.LoadTable(ctx, w.ident())
	got := map[int64]bool{}
	for _, s := range tbl.Metadata().Snapshots() {
		got[s.SnapshotID] = true
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("kept %d snapshots, want %d (report %+v):\n got %v\nwant %v", len(got), len(want), rep, got, want)
	}
	tags := 0
	for name, ref := range tbl.Metadata().Refs() {
		if name != table.MainBranch {
			tags++
			if !lake.IsKeepTag(name) || ref.SnapshotRefType != table.TagRef || ref.MaxRefAgeMs == nil || *ref.MaxRefAgeMs != p.Retain.Milliseconds() {
				t.Errorf("ref %s = %+v: want a keep tag with max-ref-age %d ms", name, ref, p.Retain.Milliseconds())
			}
		}
	}
	if tags != len(newestOfInterval) {
		t.Errorf("want one keep tag per interval beyond keep-all (%d), got %d", len(newestOfInterval), tags)
	}
	// The rows of the current snapshot are all there, and a second pass at
	// the same instant changes nothing.
	if n := countRows(t, cat, lake.TableTransactions); n != 180 {
		t.Fatalf("want 180 rows after expiry, got %d", n)
	}
	if rep2, err := Maintain(ctx, cat, lake.TableTransactions, opts); err != nil || rep2.SnapshotsExpired != 0 {
		t.Fatalf("a second pass at the same instant: %+v, %v; want nothing expired", rep2, err)
	}
}

func TestRetentionBoundsTheMetadataLogAndDeletesOldMetadataFiles(t *testing.T) {
	cat, _ := localLake(t)
	ctx := context.Background()
	w := testWriter(t, cat, lake.TableTransactions, contract.TransactionsProcessed)
	// A table created with a longer metadata log, as before this policy.
	tbl, _ := cat.LoadTable(ctx, w.ident())
	txn := tbl.NewTransaction()
	if err := txn.SetProperties(map[string]string{table.MetadataPreviousVersionsMaxKey: "50"}); err != nil {
		t.Fatal(err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	commitSpread(t, w, 30, 0)
	opts := DefaultMaintainOptions()
	opts.SkipCompact, opts.SkipOrphans = true, true
	if _, err := Maintain(ctx, cat, lake.TableTransactions, opts); err != nil {
		t.Fatal(err)
	}
	commitSpread(t, w, 1, 0) // a commit under the new bound trims the log
	tbl, _ = cat.LoadTable(ctx, w.ident())
	logged := 0
	for range tbl.Metadata().PreviousFiles() {
		logged++
	}
	if logged > lake.MetadataVersionsMax {
		t.Fatalf("metadata log holds %d previous files, want at most %d", logged, lake.MetadataVersionsMax)
	}
	files := metadataFiles(t, tbl.Location())
	if len(files) > lake.MetadataVersionsMax+1 {
		t.Fatalf("%d metadata.json files on disk, want at most %d (the log plus the current one): %s", len(files), lake.MetadataVersionsMax+1, strings.Join(files, " "))
	}
}

func metadataFiles(t testing.TB, location string) []string {
	t.Helper()
	dir := strings.TrimPrefix(location, "file://") + "/metadata"
	files, err := filepath.Glob(filepath.Join(dir, "*.metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}
