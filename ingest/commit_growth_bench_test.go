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
		off := lake.Offsets{}
		run := func(k int) []time.Duration {
			lat := make([]time.Duration, 0, k)
			for range k {
				var took time.Duration
				off, took = commitRecordsTimed(b, w, int(off[0]), 3, off)
				lat = append(lat, took)
			}
			return lat
		}
		start := time.Now()
		lat := run(n)
		report := func(name string, l []time.Duration) {
			l = slices.Clone(l)
			slices.Sort(l)
			b.ReportMetric(float64(l[len(l)/2].Microseconds())/1000, name+"_p50_ms")
			b.ReportMetric(float64(l[len(l)*95/100].Microseconds())/1000, name+"_p95_ms")
		}
		report("first", lat[:slice])
		report("last", lat[n-slice:])
		mstart := time.Now()
		rep, err := Maintain(ctx, cat, lake.TableTransactions, DefaultMaintainOptions())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(mstart).Seconds(), "maintain_s")
		report("aftermaint", run(slice))
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
