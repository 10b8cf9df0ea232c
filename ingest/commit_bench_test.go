package ingest

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/lake"
)

// BenchmarkCommitOnLake measures ingest's commit latency on an existing lake,
// e.g. a copy of a soak's data directory taken on its last simulated day:
// what a commit costs with that day's metadata.json, manifests and snapshot
// history (the soak's own commits are fewer and larger than a real week's,
// so its metadata is what a real week's retention keeps, not its cadence).
// FINLAKE_BENCH_COMMITS small commits (3 rows each, as at 10 tx/s with
// ingest's 1 s minimum batch) go to lake.transactions one after another, on
// partition 0 past the offsets the table holds; p50/p95 are of w.commit
// alone (the data file is written before it, as in ingest's loop).
//
//	cp -a <soak data> /tmp/lake7 && FINLAKE_BENCH_LAKE=/tmp/lake7 \
//	  go test -run '^$' -bench BenchmarkCommitOnLake -benchtime 1x ./ingest/
//
// It writes to the lake it is given: never point it at a live one.
func BenchmarkCommitOnLake(b *testing.B) {
	dir := os.Getenv("FINLAKE_BENCH_LAKE")
	if dir == "" {
		b.Skip("FINLAKE_BENCH_LAKE is not set (a copy of a lake's data directory)")
	}
	n := envInt("FINLAKE_BENCH_COMMITS", 200)
	ctx := context.Background()
	cat, closeCat, err := lake.OpenCatalog(ctx, lake.Config{DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer closeCat()
	if err := lake.EnsureTables(ctx, cat); err != nil { // an empty directory: a fresh lake
		b.Fatal(err)
	}
	w := testWriter(b, cat, lake.TableTransactions, contract.TransactionsProcessed)
	for range b.N {
		tbl, err := cat.LoadTable(ctx, w.ident())
		if err != nil {
			b.Fatal(err)
		}
		off, _, err := lake.LatestOffsets(tbl, contract.TransactionsProcessed)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("lake.transactions: %d snapshots, metadata %s", len(tbl.Metadata().Snapshots()), tbl.MetadataLocation())
		var lat []time.Duration
		off, lat = commitMany(b, w, off, n)
		reportLatency(b, "commit", lat)
		b.ReportMetric(float64(slices.Max(lat).Microseconds())/1000, "commit_max_ms")
	}
}

// commitMany makes n small commits (3 rows each, as at 10 tx/s) on
// partition 0 past off, and returns the offsets after them and how long
// each w.commit took.
func commitMany(b *testing.B, w *tableWriter, off lake.Offsets, n int) (lake.Offsets, []time.Duration) {
	lat := make([]time.Duration, 0, n)
	for range n {
		var took time.Duration
		off, took = commitRecordsTimed(b, w, int(off[0]), 3, off)
		lat = append(lat, took)
	}
	return off, lat
}

// reportLatency reports the p50 and p95 of lat as name_p50_ms, name_p95_ms.
func reportLatency(b *testing.B, name string, lat []time.Duration) {
	l := slices.Sorted(slices.Values(lat))
	b.ReportMetric(float64(l[len(l)/2].Microseconds())/1000, name+"_p50_ms")
	b.ReportMetric(float64(l[len(l)*95/100].Microseconds())/1000, name+"_p95_ms")
}

// BenchmarkCommitGrowth shows how ingest's commit latency grows with the
// commits made since the last maintenance, on a fresh lake of its own (no
// soak lake needed): FINLAKE_BENCH_COMMITS small commits (3 rows each, as
// at 10 tx/s) with no maintenance in between (720 is an hour at the 5 s
// commit interval, the maintenance interval), then one Maintain pass with
// the service's defaults, then FINLAKE_BENCH_SLICE more commits. It reports
// p50/p95 of w.commit for the first and the last FINLAKE_BENCH_SLICE
// commits and for those after maintenance, and the table's snapshot count,
// metadata.json size and manifests in the current manifest list at the end.
// It runs the commit path twice, each on a lake of its own: path=reload
// loads the table again before committing (the old path), path=held commits
// on the table the batch was built on; FINLAKE_BENCH_COMMIT_PATH=held|reload
// runs one.
//
//	go test -tags duckdb_arrow -run '^$' -bench BenchmarkCommitGrowth -benchtime 1x ./ingest/
func BenchmarkCommitGrowth(b *testing.B) {
	n := envInt("FINLAKE_BENCH_COMMITS", 720)
	slice := min(envInt("FINLAKE_BENCH_SLICE", 50), n)
	paths := []string{"reload", "held"}
	if p := os.Getenv("FINLAKE_BENCH_COMMIT_PATH"); p != "" {
		paths = []string{p}
	}
	for _, p := range paths {
		b.Run("path="+p, func(b *testing.B) { benchCommitGrowth(b, n, slice, p == "reload") })
	}
}

func benchCommitGrowth(b *testing.B, n, slice int, reload bool) {
	ctx := context.Background()
	for range b.N {
		dir := b.TempDir()
		cat, closeCat, err := lake.OpenCatalog(ctx, lake.Config{DataDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if err := lake.EnsureTables(ctx, cat); err != nil {
			b.Fatal(err)
		}
		w := testWriter(b, cat, lake.TableTransactions, contract.TransactionsProcessed)
		w.reloadEachCommit = reload
		start := time.Now()
		off, lat := commitMany(b, w, lake.Offsets{}, n)
		reportLatency(b, "first", lat[:slice])
		reportLatency(b, "last", lat[n-slice:])
		mstart := time.Now()
		rep, err := Maintain(ctx, cat, lake.TableTransactions, DefaultMaintainOptions())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(mstart).Seconds(), "maintain_s")
		_, after := commitMany(b, w, off, slice)
		reportLatency(b, "aftermaint", after)
		b.ReportMetric(time.Since(start).Seconds(), "wall_s")
		tbl, err := cat.LoadTable(ctx, w.ident())
		if err != nil {
			b.Fatal(err)
		}
		fs, err := tbl.FS(ctx)
		if err != nil {
			b.Fatal(err)
		}
		mans, err := tbl.CurrentSnapshot().Manifests(fs)
		if err != nil {
			b.Fatal(err)
		}
		st, err := os.Stat(trimFileScheme(tbl.MetadataLocation()))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(tbl.Metadata().Snapshots())), "snapshots")
		b.ReportMetric(float64(st.Size())/1024, "metadata_KiB")
		b.ReportMetric(float64(len(mans)), "manifests")
		b.Logf("maintenance: %+v", rep)
		_ = closeCat()
	}
}
