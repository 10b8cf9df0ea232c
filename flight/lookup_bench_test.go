//go:build duckdb_arrow

package flight_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/finlake/finlake/flight"
	"github.com/finlake/finlake/lake"
)

// BenchmarkPointLookup times `WHERE transaction_id = …` through Flight SQL on
// two lakes of the same rows, as compaction leaves a week of them (a file
// per day of 1/7 of the rows, random UUIDs): one written with the lookup
// layout lake.transactions has (bloom filters on transaction_id in 128
// Ki-row row groups), one without. Alternating, each lookup a different id;
// medians, p95s and their ratio are reported.
//
//	FINLAKE_BENCH_ROWS=11000000 go test -tags duckdb_arrow -run - -bench PointLookup -benchtime 50x ./flight/
func BenchmarkPointLookup(b *testing.B) {
	n := benchRows(b)
	layout := lake.TableDef{Lookups: []string{"transaction_id"}}.Properties()
	rng := rand.New(rand.NewPCG(3, 4))
	var ids []string
	plain, filtered := newTestLake(b), newTestLake(b)
	plain.createTx(b, "transactions")
	filtered.createTxWith(b, "transactions", layout)
	for d := 0; d < 7; d++ {
		rows := makeRows("", n/7, day1.Add(time.Duration(d)*24*time.Hour))
		for i := range rows {
			rows[i].ID = fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff, rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff)
			rows[i].TS = day1.Add(time.Duration(d)*24*time.Hour + time.Duration(i)*time.Second*86400/time.Duration(len(rows)))
			if i%(len(rows)/20+1) == 0 {
				ids = append(ids, rows[i].ID)
			}
		}
		plain.appendRows(b, "transactions", rows)
		filtered.appendRows(b, "transactions", rows)
	}
	noAudit := func(c *flight.Config) { c.AuditLog = "off" }
	pc := dial(b, startServer(b, plain, noAudit).Addr(), nil)
	fc := dial(b, startServer(b, filtered, noAudit).Addr(), nil)
	lookup := func(c *client, id string) time.Duration {
		t0 := time.Now()
		if rows := c.mustQuery("SELECT * FROM transactions WHERE transaction_id = '" + id + "'"); len(rows) != 1 {
			b.Fatalf("lookup of %s: %d rows, want 1", id, len(rows))
		}
		return time.Since(t0)
	}
	lookup(pc, ids[0]) // footers into DuckDB's metadata cache, as a running server has them
	lookup(fc, ids[0])
	var tp, tf []time.Duration
	i := 0
	for b.Loop() {
		id := ids[i%len(ids)]
		i++
		tp = append(tp, lookup(pc, id))
		tf = append(tf, lookup(fc, id))
	}
	mp, mf := median(tp), median(tf)
	b.ReportMetric(float64(mp.Microseconds())/1000, "plain_ms")
	b.ReportMetric(float64(mf.Microseconds())/1000, "bloom_ms")
	b.ReportMetric(float64(percentile(tp, 0.95).Microseconds())/1000, "plain_p95_ms")
	b.ReportMetric(float64(percentile(tf, 0.95).Microseconds())/1000, "bloom_p95_ms")
	b.ReportMetric(float64(mp)/float64(mf), "plain/bloom")
}
