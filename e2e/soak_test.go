//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/stack"
)

type soakResult struct {
	Date             string           `json:"date"`
	SimulatedDay     string           `json:"simulated_day"`
	RawRecords       int64            `json:"raw_records"`
	LakeRows         int64            `json:"lake_rows"`
	Alerts           int64            `json:"alert_rows"`
	GenerateSeconds  float64          `json:"generate_s"`
	LandedSeconds    float64          `json:"landed_s"` // generator start → last row in the lake
	ThroughputTPS    float64          `json:"end_to_end_tx_per_s"`
	LiveDataBytes    int64            `json:"live_data_bytes"` // data files of the current snapshots
	WarehouseBytes   int64            `json:"warehouse_bytes"` // everything under the warehouse dir
	FilesBefore      int              `json:"transactions_files_before_compaction"`
	FilesAfter       int              `json:"transactions_files_after_compaction"`
	RSSMiB           map[string]int64 `json:"rss_mib"` // start, middle, end
	RSSGrowthPercent float64          `json:"rss_growth_percent"`
}

// TestSoak runs one simulated day (864,000 new transactions at the default
// density of 10/s, plus their lifecycle events) through the whole stack as
// fast as it goes, then compacts. Run by `just soak`, which sets
// FINLAKE_SOAK_OUT. It asserts only that nothing is lost.
func TestSoak(t *testing.T) {
	outDir := os.Getenv("FINLAKE_SOAK_OUT")
	if outDir == "" {
		t.Skip("FINLAKE_SOAK_OUT not set: run `just soak`")
	}
	p := startPipeline(t)
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(-48 * time.Hour)
	res := soakResult{Date: time.Now().UTC().Format(time.RFC3339), SimulatedDay: day.Format("2006-01-02"), RSSMiB: map[string]int64{}}
	rss := func() int64 {
		st, err := stack.ReadState(p.data)
		if err != nil {
			t.Fatal(err)
		}
		return st.TotalRSS() >> 20
	}
	time.Sleep(10 * time.Second) // let the JVMs finish starting
	res.RSSMiB["start"] = rss()

	start := time.Now()
	gen := p.lakectl(context.Background(), "generate", "--seed", "864000", "--start", day.Format(time.RFC3339),
		"--backfill", "24h", "--rate", "10", "--malformed-rate", "0", "--http", "off", "--progress=false")
	out, _ := os.Create(filepath.Join(t.TempDir(), "generate.log"))
	gen.Stdout, gen.Stderr = out, out
	if err := gen.Start(); err != nil {
		t.Fatal(err)
	}
	genDone := make(chan error, 1)
	go func() { genDone <- gen.Wait() }()

	// Sample RSS while the day flows; "middle" is when half the expected
	// rows (one simulated day ≈ 1.4 records per transaction, 1.2M in all) have landed.
	var mu sync.Mutex
	var peak int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(5 * time.Second):
			}
			r := rss()
			mu.Lock()
			peak = max(peak, r)
			if _, ok := res.RSSMiB["middle"]; !ok && lakeRows(t, p) >= 600_000 {
				res.RSSMiB["middle"] = r
			}
			mu.Unlock()
		}
	}()
	if err := <-genDone; err != nil {
		t.Fatalf("generator: %v (see %s)", err, out.Name())
	}
	res.GenerateSeconds = time.Since(start).Seconds()
	res.RawRecords = rawEnd(t, p)
	landed := waitLanded(t, p, res.RawRecords, 30*time.Minute)
	close(stopSampling)
	<-sampled
	if landed.IsZero() {
		t.FailNow()
	}
	res.LandedSeconds = landed.Sub(start).Seconds()
	res.ThroughputTPS = float64(res.RawRecords) / res.LandedSeconds
	time.Sleep(15 * time.Second) // the rest of the alerts and a few idle commits
	res.RSSMiB["end"] = rss()
	res.RSSMiB["peak"] = peak
	res.LakeRows = lakeRows(t, p)
	if res.LakeRows != res.RawRecords {
		t.Errorf("lake.transactions holds %d rows, raw-transactions %d valid records", res.LakeRows, res.RawRecords)
	}

	res.FilesBefore = liveFiles(t, loadTable(t, p.data, "transactions"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if out, err := p.lakectl(ctx, "maintain", "--json").CombinedOutput(); err != nil {
		t.Fatalf("lakectl maintain: %v\n%s", err, tail(out, 3000))
	}
	var live int64
	res.FilesAfter = liveFiles(t, loadTable(t, p.data, "transactions"), &live)
	liveFiles(t, loadTable(t, p.data, "alerts"), &live)
	res.LiveDataBytes = live
	res.WarehouseBytes = duBytes(contract.DataDir{Root: p.data}.Warehouse())
	if snap := loadTable(t, p.data, "alerts").CurrentSnapshot(); snap != nil && snap.Summary != nil {
		fmt.Sscan(snap.Summary.Properties["total-records"], &res.Alerts)
	}
	if res.RSSMiB["start"] > 0 {
		mid := res.RSSMiB["middle"]
		if mid == 0 {
			mid = res.RSSMiB["start"]
		}
		res.RSSGrowthPercent = 100 * float64(res.RSSMiB["end"]-mid) / float64(mid)
	}

	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(outDir, "soak-"+time.Now().UTC().Format("2006-01-02"))
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(base+".json", append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# finlake soak: one simulated day (%s), %s\n\n| figure | value | target |\n| --- | --- | --- |\n", res.SimulatedDay, res.Date)
	fmt.Fprintf(&md, "| raw records (transactions and lifecycle events) | %d | |\n", res.RawRecords)
	fmt.Fprintf(&md, "| rows in lake.transactions / lake.alerts | %d / %d | all |\n", res.LakeRows, res.Alerts)
	fmt.Fprintf(&md, "| generator run / all landed | %.0f s / %.0f s (%.0f records/s end to end) | |\n", res.GenerateSeconds, res.LandedSeconds, res.ThroughputTPS)
	fmt.Fprintf(&md, "| lake size: live data files / whole warehouse dir | %.1f MiB / %.1f MiB | < 512 MiB |\n", float64(res.LiveDataBytes)/(1<<20), float64(res.WarehouseBytes)/(1<<20))
	fmt.Fprintf(&md, "| lake.transactions data files before / after compaction | %d / %d | |\n", res.FilesBefore, res.FilesAfter)
	fmt.Fprintf(&md, "| stack RSS start / middle / end / peak | %d / %d / %d / %d MiB | flat, < 10%% growth |\n",
		res.RSSMiB["start"], res.RSSMiB["middle"], res.RSSMiB["end"], res.RSSMiB["peak"])
	fmt.Fprintf(&md, "| RSS growth middle → end | %.1f%% | < 10%% |\n", res.RSSGrowthPercent)
	if err := os.WriteFile(base+".md", []byte(md.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s.json and %s.md:\n%s", base, base, md.String())
}

// liveFiles counts the data files of the table's current snapshot and adds
// their sizes to *bytes when given.
func liveFiles(t *testing.T, tbl *table.Table, bytes *int64) int {
	t.Helper()
	if tbl.CurrentSnapshot() == nil {
		return 0
	}
	tasks, err := tbl.Scan().PlanFiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		if bytes != nil {
			*bytes += task.File.FileSizeBytes()
		}
	}
	return len(tasks)
}

func duBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
