package ingest

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/lake"
)

// commitDay commits n transactions dated day (YYYY-MM-DD) at partition 0,
// offsets [from, from+n), as one ingest batch.
func commitDay(t *testing.T, w *tableWriter, day string, from, n int, base lake.Offsets) lake.Offsets {
	t.Helper()
	ctx := context.Background()
	tbl, err := w.cat.LoadTable(ctx, w.ident())
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.newBatch(ctx, tbl)
	if err != nil {
		t.Fatal(err)
	}
	for i := from; i < from+n; i++ {
		v := bytes.ReplaceAll(txJSON(i), []byte("2026-11-26"), []byte(day))
		if err := b.add(&kgo.Record{Partition: 0, Offset: int64(i), Timestamp: time.Now(), Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	files, err := b.finish()
	if err != nil {
		t.Fatal(err)
	}
	next := base.Clone()
	next[0] = int64(from + n)
	if _, err := w.commit(ctx, b, files, base, next); err != nil {
		t.Fatal(err)
	}
	b.release()
	return next
}

// dayFiles are the current data files of lake.transactions dated day.
func dayFiles(t *testing.T, cat catalog.Catalog, day string) (n int, size int64) {
	t.Helper()
	tbl, err := cat.LoadTable(context.Background(), lake.Ident(lake.TableTransactions))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := time.Parse(time.DateOnly, day)
	want := d.Unix() / 86400
	tasks, err := tbl.Scan().PlanFiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		_, order, _ := partitionOf(task.File)
		if order == want {
			n++
			size += task.File.FileSizeBytes()
		}
	}
	return n, size
}

// A day partition grows all day while maintenance runs every hour. Merging
// its small files with what is already compacted rewrote the whole day so
// far at each pass (over 16 passes, 8.5 times the day's size); size tiers
// rewrite each row a few times, and the day is merged whole once it is over.
func TestCompactionMergesAGrowingDayBySizeTierAndTheDayWholeOnceItIsOver(t *testing.T) {
	cat, _ := localLake(t)
	ctx := context.Background()
	w := testWriter(t, cat, lake.TableTransactions, contract.TransactionsProcessed)
	opts := DefaultMaintainOptions()
	opts.SkipExpire, opts.SkipOrphans = true, true
	// The proportions of a day at 10 tx/s and hourly maintenance: a commit's
	// file well under the tier base, an hour's rows a few times it.
	opts.TargetFileSize, opts.TierBase = 4<<20, 16<<10
	// Bloom filters would make every compacted file at least their size.
	tbl, _ := cat.LoadTable(ctx, w.ident())
	if _, _, err := cat.CommitTable(ctx, tbl.Identifier(), nil, []table.Update{table.NewSetPropertiesUpdate(
		iceberg.Properties{table.ParquetBloomFilterColumnEnabledKeyPrefix + ".transaction_id": "false"})}); err != nil {
		t.Fatal(err)
	}
	const day, next = "2026-11-26", "2026-11-27"
	off, rows := lake.Offsets{}, 0
	var written int64
	for hour := 0; hour < 16; hour++ {
		for c := 0; c < 12; c++ {
			off = commitDay(t, w, day, rows, 300, off)
			rows += 300
		}
		rep, err := Maintain(ctx, cat, lake.TableTransactions, opts)
		if err != nil {
			t.Fatal(err)
		}
		written += rep.BytesAfter
		if n, _ := dayFiles(t, cat, day); n > opts.CompactedFilesBound() {
			t.Fatalf("hour %d: %d files in the day after the pass, bound %d", hour, n, opts.CompactedFilesBound())
		}
	}
	_, size := dayFiles(t, cat, day)
	if ratio := float64(written) / float64(size); ratio > 3 {
		t.Errorf("16 passes wrote %.1f times the day's compacted size, want at most 3", ratio)
	}
	off = commitDay(t, w, next, rows, 200, off)
	if _, err := Maintain(ctx, cat, lake.TableTransactions, opts); err != nil {
		t.Fatal(err)
	}
	if n, _ := dayFiles(t, cat, day); n != 1 {
		t.Errorf("the day before the newest is in %d files after its pass, want 1", n)
	}
	if n := countRows(t, cat, lake.TableTransactions); n != int64(rows+200) {
		t.Fatalf("want %d rows, got %d", rows+200, n)
	}
}

// Point lookups read a row group only when its bloom filter may hold the
// value; ingest's per-commit files carry none (a filter costs its full size
// in a file of a few rows), compaction's do.
func TestCompactedFilesCarryBloomFiltersOnLookupColumnsAndIngestFilesNone(t *testing.T) {
	cat, _ := localLake(t)
	ctx := context.Background()
	w := testWriter(t, cat, lake.TableTransactions, contract.TransactionsProcessed)
	off := lake.Offsets{}
	for i := 0; i < 3; i++ {
		off = commitRecords(t, w, i*100, 100, off)
	}
	if got := filtered(t, cat); !equalCounts(got, map[bool]int{false: 3}) {
		t.Fatalf("ingest files with/without a transaction_id bloom filter: %v, want 3 without", got)
	}
	opts := DefaultMaintainOptions()
	opts.SkipExpire, opts.SkipOrphans = true, true
	if _, err := Maintain(ctx, cat, lake.TableTransactions, opts); err != nil {
		t.Fatal(err)
	}
	if got := filtered(t, cat); !equalCounts(got, map[bool]int{true: 1}) {
		t.Fatalf("compacted files with/without a transaction_id bloom filter: %v, want 1 with", got)
	}
}

// filtered counts lake.transactions' current data files by whether every
// row group carries a bloom filter on transaction_id.
func filtered(t *testing.T, cat catalog.Catalog) map[bool]int {
	t.Helper()
	tbl, err := cat.LoadTable(context.Background(), lake.Ident(lake.TableTransactions))
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := tbl.Scan().PlanFiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[bool]int{}
	for _, task := range tasks {
		r, err := file.OpenParquetFile(strings.TrimPrefix(task.File.FilePath(), "file://"), false)
		if err != nil {
			t.Fatal(err)
		}
		col := r.MetaData().Schema.ColumnIndexByName("transaction_id")
		all := r.NumRowGroups() > 0
		for i := 0; i < r.NumRowGroups(); i++ {
			cc, err := r.MetaData().RowGroup(i).ColumnChunk(col)
			if err != nil {
				t.Fatal(err)
			}
			all = all && cc.BloomFilterOffset() > 0
		}
		r.Close()
		got[all]++
	}
	return got
}

func equalCounts(a, b map[bool]int) bool { return a[true] == b[true] && a[false] == b[false] }
