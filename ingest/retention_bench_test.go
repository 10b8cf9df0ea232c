package ingest

// BenchmarkRetentionWeek compares today's retention (every snapshot for 7
// days) with the policy (every snapshot for an hour, then one per hour for
// 7 days), side by side in one run, on real iceberg-go tables: real ingest
// commits (a small Parquet file each, offsets in the summary) paced one per
// tick, retention every simulated 5 minutes (the service's --expire-interval;
// today's code expired only in the hourly maintenance). The week is compressed by
// scaling: a simulated hour is FINLAKE_BENCH_HOUR_COMMITS commits (720, as
// at ingest's 5 s), the interval is one tick, so each snapshot beyond the
// last hour is its own interval and the 168 hourly snapshots of a week
// accrue in 168 commits; what a week's expired commits would add is already
// gone. The policy's state after 3 simulated hours is its state on day 7 at
// the same count of kept snapshots; today's policy keeps every snapshot, so
// its day-7 metadata is per_snapshot_bytes x 120,960 (reported).
//
//   go test -run '^$' -bench BenchmarkRetentionWeek -benchtime 1x -timeout 60m ./ingest/
//
// (2 x 2,160 commits: several minutes; today's side slows as its metadata
// grows. FINLAKE_BENCH_HOUR_COMMITS=120 is a quick look.)

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/lake"
)

func BenchmarkRetentionWeek(b *testing.B) {
	hour := envInt("FINLAKE_BENCH_HOUR_COMMITS", 720)
	tick := time.Duration(envInt("FINLAKE_BENCH_TICK_MS", 60)) * time.Millisecond
	scaled := lake.RetentionPolicy{KeepAll: time.Duration(hour) * tick, KeepEvery: tick,
		Retain: time.Duration(hour)*tick + 168*tick, MinKeep: 1}
	today := lake.RetentionPolicy{KeepAll: 7 * 24 * time.Hour, KeepEvery: time.Hour, Retain: 7 * 24 * time.Hour, MinKeep: 100}
	for _, c := range []struct {
		name        string
		policy      lake.RetentionPolicy
		versionsMax int
		every       int // commits between retention passes
	}{{"today", today, 50, hour}, {"policy", scaled, lake.MetadataVersionsMax, max(hour/12, 1)}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				r := runRetentionWeek(b, hour, c.every, tick, c.policy, c.versionsMax)
				b.ReportMetric(r.p50.Seconds()*1000, "commit_p50_ms")
				b.ReportMetric(r.p95.Seconds()*1000, "commit_p95_ms")
				b.ReportMetric(float64(r.metaMax)/1e6, "metadata_json_max_MB")
				b.ReportMetric(float64(r.metaLast)/1e6, "metadata_json_MB")
				b.ReportMetric(float64(r.metaDir)/1e6, "metadata_dir_MB")
				b.ReportMetric(float64(r.snapshots), "snapshots")
				b.ReportMetric(float64(r.metaLast)/float64(r.snapshots), "per_snapshot_bytes")
				b.Logf("%s: %d commits, %d snapshots kept, metadata.json %.2f MB (max %.2f), metadata dir %.1f MB, commit p50 %s p95 %s, maintenance passes %d (slowest %s)",
					c.name, r.commits, r.snapshots, float64(r.metaLast)/1e6, float64(r.metaMax)/1e6, float64(r.metaDir)/1e6,
					r.p50.Round(time.Millisecond), r.p95.Round(time.Millisecond), r.passes, r.slowestPass.Round(time.Millisecond))
			}
		})
	}
}

type weekResult struct {
	commits, snapshots, passes int
	p50, p95, slowestPass      time.Duration
	metaLast, metaMax, metaDir int64
}

func runRetentionWeek(b *testing.B, hour, every int, tick time.Duration, p lake.RetentionPolicy, versionsMax int) weekResult {
	cat, _ := localLake(b)
	ctx := context.Background()
	w := testWriter(b, cat, lake.TableTransactions, contract.TransactionsProcessed)
	opts := DefaultMaintainOptions()
	opts.SkipCompact, opts.SkipOrphans = true, true
	opts.Retention, opts.MetadataVersionsMax = p, versionsMax
	tbl, err := cat.LoadTable(ctx, w.ident())
	if err != nil {
		b.Fatal(err)
	}
	txn := tbl.NewTransaction()
	if err := txn.SetProperties(map[string]string{table.MetadataPreviousVersionsMaxKey: strconv.Itoa(versionsMax)}); err != nil {
		b.Fatal(err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	var r weekResult
	r.commits = 3 * hour
	var lat []time.Duration
	off := lake.Offsets{}
	next := time.Now()
	for i := 0; i < r.commits; i++ {
		// No catching up after a slow commit: the windows are wall time, so
		// commits bunched together would crowd them. Pick FINLAKE_BENCH_TICK_MS
		// above the commit time (snapshots reports what the windows held).
		time.Sleep(time.Until(next))
		next = time.Now().Add(tick)
		start := time.Now()
		off = commitRecords(b, w, i*3, 3, off)
		if i >= 2*hour { // the third hour: the policy is in its steady state
			lat = append(lat, time.Since(start))
		}
		if (i+1)%every == 0 {
			r.metaMax = max(r.metaMax, metadataSize(b, w))
			start := time.Now()
			if _, err := Maintain(ctx, cat, lake.TableTransactions, opts); err != nil {
				b.Fatal(err)
			}
			r.passes++
			r.slowestPass = max(r.slowestPass, time.Since(start))
		}
	}
	slices.Sort(lat)
	r.p50, r.p95 = lat[len(lat)/2], lat[len(lat)*95/100]
	if tbl, err = cat.LoadTable(ctx, w.ident()); err != nil {
		b.Fatal(err)
	}
	r.snapshots = len(tbl.Metadata().Snapshots())
	r.metaLast = metadataSize(b, w)
	r.metaMax = max(r.metaMax, r.metaLast)
	for _, f := range metadataFiles(b, tbl.Location()) {
		if st, err := os.Stat(f); err == nil {
			r.metaDir += st.Size()
		}
	}
	return r
}

func metadataSize(b *testing.B, w *tableWriter) int64 {
	tbl, err := w.cat.LoadTable(context.Background(), w.ident())
	if err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(filepath.Clean(trimFileScheme(tbl.MetadataLocation())))
	if err != nil {
		b.Fatal(fmt.Errorf("stat metadata.json: %w", err))
	}
	return st.Size()
}

func trimFileScheme(p string) string {
	if len(p) > 7 && p[:7] == "file://" {
		return p[7:]
	}
	return p
}
