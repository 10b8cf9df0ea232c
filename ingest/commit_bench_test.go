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
		lat := make([]time.Duration, 0, n)
		for range n {
			var took time.Duration
			off, took = commitRecordsTimed(b, w, int(off[0]), 3, off)
			lat = append(lat, took)
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "commit_p50_ms")
		b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "commit_p95_ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "commit_max_ms")
	}
}
