//go:build duckdb_arrow

// Command flightbench measures lakectl serve on transaction-like Iceberg
// tables of 1 and 10 million rows (built once with iceberg-go and kept in
// -dir): an aggregate through Flight SQL beside DuckDB reading the same files
// directly, a full scan into a Go ADBC client and into pyarrow, and the time
// to the first batch of a full scan. bench/flight_pyarrow_scan.py then sets
// the server beside DuckDB (Python, same version and threads) reading the same
// files into pyarrow: full scan, GROUP BY, count(*), and a point lookup on a
// second table, lake.snapheavy, built with -snapshots commits so its
// metadata.json is MBs like a table's after days of ingest.
//
//	go run -tags duckdb_arrow ./cmd/flightbench -rows 1000000,10000000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/apache/arrow-adbc/go/adbc"
	adbcfs "github.com/apache/arrow-adbc/go/adbc/driver/flightsql"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/finlake/finlake/flight"
	"github.com/finlake/finlake/flight/engine"
	"github.com/finlake/finlake/flight/lakeview"
	"github.com/finlake/finlake/flight/sqlrewrite"
	"github.com/finlake/finlake/lake"
)

const aggSQL = `SELECT merchant_category, currency, count(*) AS n, sum(amount_usd) AS usd, avg(amount) AS avg_amount
FROM %s WHERE status = 'completed' GROUP BY ALL ORDER BY ALL`

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "finlake-flightbench"), "where the benchmark lakes are built and kept")
	rowsFlag := flag.String("rows", "1000000,10000000", "table sizes")
	reps := flag.Int("reps", 5, "repetitions per measurement (the median is reported)")
	threads := flag.Int("threads", 0, "DuckDB threads (0: all cores)")
	python := flag.String("python", ".venv/bin/python", "Python with adbc_driver_flightsql and pyarrow for the pyarrow scan ('' to skip)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run")
	pyprofile := flag.String("pyprofile", "", "write a CPU profile of the server while the pyarrow client runs")
	mergeBytes := flag.Int64("merge-bytes", 0, "server's MergeBytes (0: its default)")
	batchBytes := flag.Int64("batch-bytes", 0, "server's BatchBytes (0: its default)")
	onlyPython := flag.Bool("only-python", false, "skip the Go client measurements")
	snapshots := flag.Int("snapshots", 2000, "commits building lake.snapheavy, the point-lookup table (0: none)")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fail(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ctx := context.Background()
	for _, s := range strings.Split(*rowsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fail(err)
		}
		cfg := lake.Config{DataDir: filepath.Join(*dir, fmt.Sprintf("rows-%d", n))}
		if err := ensureLake(ctx, cfg, n); err != nil {
			fail(err)
		}
		if *snapshots > 0 {
			if err := ensureHeavy(ctx, cfg, *snapshots); err != nil {
				fail(err)
			}
		}
		opts := flight.Options{QueryTimeout: 10 * time.Minute, MergeBytes: *mergeBytes, BatchBytes: *batchBytes}
		if err := run(ctx, cfg, opts, n, *reps, *threads, *python, *snapshots > 0, *pyprofile, *onlyPython); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "flightbench:", err)
	os.Exit(1)
}

var schema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "transaction_id", Type: iceberg.PrimitiveTypes.String, Required: true},
	iceberg.NestedField{ID: 2, Name: "timestamp", Type: iceberg.PrimitiveTypes.TimestampTz, Required: true},
	iceberg.NestedField{ID: 3, Name: "account_id", Type: iceberg.PrimitiveTypes.String, Required: true},
	iceberg.NestedField{ID: 4, Name: "amount", Type: iceberg.DecimalTypeOf(18, 2), Required: true},
	iceberg.NestedField{ID: 5, Name: "currency", Type: iceberg.PrimitiveTypes.String, Required: true},
	iceberg.NestedField{ID: 6, Name: "merchant_name", Type: iceberg.PrimitiveTypes.String, Required: true},
	iceberg.NestedField{ID: 7, Name: "merchant_category", Type: iceberg.PrimitiveTypes.String, Required: true},
	iceberg.NestedField{ID: 8, Name: "transaction_type", Type: iceberg.PrimitiveTypes.String, Required: true},
	iceberg.NestedField{ID: 9, Name: "location_country", Type: iceberg.PrimitiveTypes.String, Required: true},
	iceberg.NestedField{ID: 10, Name: "status", Type: iceberg.PrimitiveTypes.String, Required: true},
	iceberg.NestedField{ID: 11, Name: "amount_usd", Type: iceberg.DecimalTypeOf(18, 2), Required: true},
	iceberg.NestedField{ID: 12, Name: "processing_timestamp", Type: iceberg.PrimitiveTypes.TimestampTz, Required: true},
	iceberg.NestedField{ID: 13, Name: "is_flagged", Type: iceberg.PrimitiveTypes.Bool, Required: true},
)

// ensureLake builds lake.transactions with n rows over 30 days unless it exists.
func ensureLake(ctx context.Context, cfg lake.Config, n int) error {
	cat, closeCat, err := lake.OpenCatalog(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeCat()
	if tbl, err := cat.LoadTable(ctx, lake.Ident("transactions")); err == nil {
		if s := tbl.CurrentSnapshot(); s != nil && s.Summary != nil && s.Summary.Properties["total-records"] == strconv.Itoa(n) {
			return nil
		}
		return fmt.Errorf("%s holds another table: remove it", cfg.DataDir)
	}
	_ = cat.CreateNamespace(ctx, catalog.ToIdentifier(lake.Namespace), nil)
	spec := iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "timestamp_day", Transform: iceberg.DayTransform{}})
	tbl, err := cat.CreateTable(ctx, lake.Ident("transactions"), schema, catalog.WithPartitionSpec(&spec))
	if err != nil {
		return err
	}
	sc, err := table.SchemaToArrowSchema(schema, nil, true, false)
	if err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "building %d rows in %s ...\n", n, cfg.DataDir)
	gen := &genReader{schema: sc, n: n, rng: rand.New(rand.NewPCG(1, uint64(n)))}
	if _, err := tbl.Append(ctx, gen, nil); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "built %d rows in %s\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}

func median(ds []time.Duration) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

func run(ctx context.Context, cfg lake.Config, opts flight.Options, n, reps, threads int, python string, heavy bool, pyprofile string, onlyPython bool) error {
	srv, err := flight.Start(ctx, flight.Config{Lake: cfg, Listen: "127.0.0.1:0", Threads: threads, MemoryLimit: "2GB", Options: opts})
	if err != nil {
		return err
	}
	defer srv.Stop()
	db, err := adbcfs.NewDriver(memory.DefaultAllocator).NewDatabase(map[string]string{adbc.OptionKeyURI: "grpc://" + srv.Addr()})
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Open(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()

	query := func(sql string, stopAfterFirst bool) (rows int64, bytes int64, first time.Duration, total time.Duration, err error) {
		start := time.Now()
		st, err := conn.NewStatement()
		if err != nil {
			return
		}
		defer st.Close()
		if err = st.SetSqlQuery(sql); err != nil {
			return
		}
		qctx, cancel := context.WithCancel(ctx)
		defer cancel()
		rdr, _, err := st.ExecuteQuery(qctx)
		if err != nil {
			return
		}
		defer rdr.Release()
		for rdr.Next() {
			if first == 0 {
				first = time.Since(start)
				if stopAfterFirst {
					cancel()
					return rdr.RecordBatch().NumRows(), 0, first, time.Since(start), nil
				}
			}
			rec := rdr.RecordBatch()
			rows += rec.NumRows()
			for _, c := range rec.Columns() {
				for _, b := range c.Data().Buffers() {
					if b != nil {
						bytes += int64(b.Len())
					}
				}
			}
		}
		return rows, bytes, first, time.Since(start), rdr.Err()
	}

	// DuckDB alone on the same files, same version, same threads: the baseline.
	cat, closeCat, err := lake.OpenCatalog(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeCat()
	wh, _ := cfg.WarehouseDir()
	lk := lakeview.New(cat, lake.CatalogName, lake.Namespace, wh)
	tbl, err := lk.Load(ctx, "transactions")
	if err != nil {
		return err
	}
	pin, err := lakeview.PinAt(tbl, "transactions", sqlrewrite.AsOf{})
	if err != nil {
		return err
	}
	files, err := lk.Files(ctx, pin)
	if err != nil {
		return err
	}
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = sqlrewrite.QuoteString(f.Path)
	}
	direct := fmt.Sprintf("read_parquet([%s], hive_partitioning=false)", strings.Join(quoted, ","))
	edb, err := engine.Open(engine.Options{AllowedDirs: []string{wh}, Threads: threads, MemoryLimit: "2GB"})
	if err != nil {
		return err
	}
	defer edb.Close()
	mapped, err := lk.TableSQL(ctx, pin)
	if err != nil {
		return err
	}
	directAggOf := func(from string) (time.Duration, error) {
		start := time.Now()
		c, err := edb.Connect()
		if err != nil {
			return 0, err
		}
		defer c.Close()
		st, err := c.Prepare(ctx, fmt.Sprintf(aggSQL, from))
		if err != nil {
			return 0, err
		}
		defer st.Close()
		err = st.Stream(ctx, engine.Limits{}, func(r arrow.RecordBatch) error { r.Release(); return nil })
		return time.Since(start), err
	}
	directAgg := func() (time.Duration, error) { return directAggOf(direct) }

	directScan := func() (time.Duration, int64, error) {
		start := time.Now()
		c, err := edb.Connect()
		if err != nil {
			return 0, 0, err
		}
		defer c.Close()
		st, err := c.Prepare(ctx, "SELECT * FROM "+direct)
		if err != nil {
			return 0, 0, err
		}
		defer st.Close()
		var rows int64
		err = st.Stream(ctx, engine.Limits{BatchBytes: 4 << 20}, func(r arrow.RecordBatch) error { rows += r.NumRows(); r.Release(); return nil })
		return time.Since(start), rows, err
	}

	// The Go ADBC client and DuckDB in-process (skipped with -only-python).
	goClients := func() error {
		var flightAgg, duckAgg, scanT, ttfb, dscan, flightAggCPU, duckAggCPU, scanCPU, dscanCPU []time.Duration
		var mappedAggCPU []time.Duration
		var scanRows, scanBytes int64
		for i := 0; i < reps+1; i++ { // the first round warms caches and is dropped
			fa, faCPU, err := measure(func() error {
				_, _, _, _, err := query(fmt.Sprintf(aggSQL, "lake.transactions"), false)
				return err
			})
			if err != nil {
				return fmt.Errorf("flight aggregate: %w", err)
			}
			var da time.Duration
			_, daCPU, err := measure(func() (err error) { da, err = directAgg(); return err })
			if err != nil {
				return fmt.Errorf("direct aggregate: %w", err)
			}
			_, _, first, _, err := query("SELECT * FROM lake.transactions", true)
			if err != nil {
				return fmt.Errorf("first batch: %w", err)
			}
			_, maCPU, err := measure(func() error { _, err := directAggOf(mapped); return err })
			if err != nil {
				return fmt.Errorf("mapped aggregate: %w", err)
			}
			if i > 0 {
				mappedAggCPU = append(mappedAggCPU, maCPU)
				flightAgg, duckAgg, ttfb = append(flightAgg, fa), append(duckAgg, da), append(ttfb, first)
				flightAggCPU, duckAggCPU = append(flightAggCPU, faCPU), append(duckAggCPU, daCPU)
			}
		}
		for i := 0; i < max(1, reps/2); i++ {
			var rows, bytes int64
			var total time.Duration
			_, sCPU, err := measure(func() (err error) {
				rows, bytes, _, total, err = query("SELECT * FROM lake.transactions", false)
				return err
			})
			if err != nil {
				return fmt.Errorf("scan: %w", err)
			}
			scanCPU = append(scanCPU, sCPU)
			if rows != int64(n) {
				return fmt.Errorf("scan returned %d rows, want %d", rows, n)
			}
			scanRows, scanBytes = rows, bytes
			scanT = append(scanT, total)
			var d time.Duration
			_, dCPU, err := measure(func() (err error) { d, _, err = directScan(); return err })
			if err != nil {
				return fmt.Errorf("direct scan: %w", err)
			}
			dscan = append(dscan, d)
			dscanCPU = append(dscanCPU, dCPU)
		}
		fa, da, st, tf := median(flightAgg), median(duckAgg), median(scanT), median(ttfb)
		fac, dac, sc, dsc := median(flightAggCPU), median(duckAggCPU), median(scanCPU), median(dscanCPU)
		load, _ := os.ReadFile("/proc/loadavg")
		fmt.Printf("\n== %d rows, %d data files (load average %s) ==\n", n, len(files), strings.Join(strings.Fields(string(load))[:3], " "))
		fmt.Printf("aggregate via Flight SQL (ADBC Go):   wall %8.1f ms  cpu %8.1f ms\n", ms(fa), ms(fac))
		fmt.Printf("aggregate DuckDB direct:              wall %8.1f ms  cpu %8.1f ms   ratio wall %.2fx cpu %.2fx\n", ms(da), ms(dac), float64(fa)/float64(da), float64(fac)/float64(dac))
		fmt.Printf("aggregate DuckDB direct, by field id:                    cpu %8.1f ms   (the Iceberg-correct read the server does)\n", ms(median(mappedAggCPU)))
		fmt.Printf("full scan into Go ADBC client:        wall %8.1f ms  cpu %8.1f ms   %.2f M rows/s (%.2f M rows per cpu-s), %.0f MB/s\n", ms(st), ms(sc), float64(scanRows)/st.Seconds()/1e6, float64(scanRows)/sc.Seconds()/1e6, float64(scanBytes)/st.Seconds()/1e6)
		fmt.Printf("full scan DuckDB to Arrow in-process: wall %8.1f ms  cpu %8.1f ms   %.2f M rows/s (no Flight, no client)\n", ms(median(dscan)), ms(dsc), float64(scanRows)/median(dscan).Seconds()/1e6)
		fmt.Printf("time to first batch (full scan):    %8.1f ms\n", ms(tf))
		return nil
	}
	if !onlyPython {
		if err := goClients(); err != nil {
			return err
		}
	}
	if python != "" {
		if _, err := os.Stat(python); err == nil {
			// The server runs in this process: its pid lets the script add the server's CPU time.
			setup := map[string]any{"threads": threads, "reps": reps, "files": paths(files), "server_pid": os.Getpid()}
			if threads == 0 {
				setup["threads"] = runtime.NumCPU()
			}
			if heavy {
				hfiles, id, size, nsnap, err := heavyFacts(ctx, lk, edb)
				if err != nil {
					return err
				}
				fmt.Printf("lake.snapheavy: %d snapshots, metadata.json %.1f MB, %d data files in the current snapshot\n", nsnap, float64(size)/1e6, len(hfiles))
				setup["lookup_table"], setup["lookup_files"], setup["lookup_id"] = "snapheavy", paths(hfiles), id
			}
			js, _ := json.Marshal(setup)
			sf := filepath.Join(os.TempDir(), fmt.Sprintf("flightbench-setup-%d.json", os.Getpid()))
			if err := os.WriteFile(sf, js, 0o644); err != nil {
				return err
			}
			defer os.Remove(sf)
			if pyprofile != "" {
				f, err := os.Create(pyprofile)
				if err != nil {
					return err
				}
				defer f.Close()
				pprof.StartCPUProfile(f)
				defer pprof.StopCPUProfile()
			}
			out, err := exec.Command(python, "bench/flight_pyarrow_scan.py", "grpc://"+srv.Addr(), strconv.Itoa(n), sf).CombinedOutput()
			fmt.Print(string(out))
			if err != nil {
				return fmt.Errorf("pyarrow scan: %w", err)
			}
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// cpuTime is the process's user+system CPU time: on a loaded machine wall
// times inflate, CPU times much less, so both are reported.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs f and returns its wall and CPU time.
func measure(f func() error) (wall, cpu time.Duration, err error) {
	c0, t0 := cpuTime(), time.Now()
	err = f()
	return time.Since(t0), cpuTime() - c0, err
}

// genReader generates the rows batch by batch, so building a large table
// never holds it in memory.
type genReader struct {
	schema *arrow.Schema
	n      int
	done   int
	rng    *rand.Rand
	cur    arrow.RecordBatch
}

func (g *genReader) Retain()                        {}
func (g *genReader) Release()                       { g.release() }
func (g *genReader) Schema() *arrow.Schema          { return g.schema }
func (g *genReader) Err() error                     { return nil }
func (g *genReader) RecordBatch() arrow.RecordBatch { return g.cur }
func (g *genReader) Record() arrow.RecordBatch      { return g.cur }

func (g *genReader) release() {
	if g.cur != nil {
		g.cur.Release()
		g.cur = nil
	}
}

var (
	cats      = []string{"retail", "dining", "travel", "online", "groceries", "entertainment", "utilities"}
	curs      = []string{"USD", "EUR", "GBP", "JPY"}
	fx        = []float64{1, 1.08, 1.27, 0.0067}
	types     = []string{"purchase", "withdrawal", "transfer", "refund"}
	stats     = []string{"pending", "completed", "completed", "failed", "reversed"}
	countries = []string{"US", "FR", "DE", "GB", "JP", "ES", "IT", "NL"}
	base      = time.Date(2026, 10, 27, 0, 0, 0, 0, time.UTC)
)

func (g *genReader) Next() bool {
	g.release()
	if g.done >= g.n {
		return false
	}
	m := min(250_000, g.n-g.done)
	rng := g.rng
	b := array.NewRecordBuilder(memory.DefaultAllocator, g.schema)
	defer b.Release()
	for i := 0; i < m; i++ {
		k := g.done + i
		ts := base.Add(time.Duration(float64(k) / float64(g.n) * float64(30*24*time.Hour)))
		cur := rng.IntN(4)
		cents := int64(rng.IntN(200000) + 1)
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("%08x-6a8e-4c39-9a55-%012x", k, rng.Int64()&0xffffffffffff))
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
		b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("AC%07d", rng.IntN(50000)))
		b.Field(3).(*array.Decimal128Builder).Append(decimal128.FromI64(cents))
		b.Field(4).(*array.StringBuilder).Append(curs[cur])
		b.Field(5).(*array.StringBuilder).Append(fmt.Sprintf("Merchant %d", rng.IntN(2000)))
		b.Field(6).(*array.StringBuilder).Append(cats[rng.IntN(len(cats))])
		b.Field(7).(*array.StringBuilder).Append(types[rng.IntN(len(types))])
		b.Field(8).(*array.StringBuilder).Append(countries[rng.IntN(len(countries))])
		b.Field(9).(*array.StringBuilder).Append(stats[rng.IntN(len(stats))])
		b.Field(10).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(float64(cents) * fx[cur])))
		b.Field(11).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.Add(800 * time.Millisecond).UnixMicro()))
		b.Field(12).(*array.BooleanBuilder).Append(rng.IntN(100) == 0)
	}
	g.done += m
	g.cur = b.NewRecordBatch()
	return true
}

func paths(files []lakeview.FileInfo) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Path
	}
	return out
}

// ensureHeavy builds lake.snapheavy unless it exists: commits-1 appends of 50
// rows, then one overwrite with 100k rows, so the current snapshot has a
// data file per day but the table's history (its metadata.json) holds every
// commit, as after days of ingest with compaction.
func ensureHeavy(ctx context.Context, cfg lake.Config, commits int) error {
	cat, closeCat, err := lake.OpenCatalog(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeCat()
	if tbl, err := cat.LoadTable(ctx, lake.Ident("snapheavy")); err == nil {
		if len(tbl.Metadata().Snapshots()) == commits {
			return nil
		}
		return fmt.Errorf("%s holds lake.snapheavy with %d snapshots, not %d: remove the directory", cfg.DataDir, len(tbl.Metadata().Snapshots()), commits)
	}
	spec := iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "timestamp_day", Transform: iceberg.DayTransform{}})
	tbl, err := cat.CreateTable(ctx, lake.Ident("snapheavy"), schema, catalog.WithPartitionSpec(&spec))
	if err != nil {
		return err
	}
	sc, err := table.SchemaToArrowSchema(schema, nil, true, false)
	if err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "building lake.snapheavy with %d commits ...\n", commits)
	for i := 0; i < commits-1; i++ {
		gen := &genReader{schema: sc, n: 50, rng: rand.New(rand.NewPCG(2, uint64(i)))}
		if tbl, err = tbl.Append(ctx, gen, nil); err != nil {
			return err
		}
		if i%500 == 499 {
			fmt.Fprintf(os.Stderr, "  %d commits, %s\n", i+1, time.Since(start).Round(time.Second))
		}
	}
	gen := &genReader{schema: sc, n: 100_000, rng: rand.New(rand.NewPCG(3, 3))}
	if _, err := tbl.Overwrite(ctx, gen, nil); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "built lake.snapheavy in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// heavyFacts are lake.snapheavy's current data files, a transaction id to look
// up, its metadata.json size and its number of snapshots.
func heavyFacts(ctx context.Context, lk *lakeview.Lake, edb *engine.DB) ([]lakeview.FileInfo, string, int64, int, error) {
	tbl, err := lk.Load(ctx, "snapheavy")
	if err != nil {
		return nil, "", 0, 0, err
	}
	pin, err := lakeview.PinAt(tbl, "snapheavy", sqlrewrite.AsOf{})
	if err != nil {
		return nil, "", 0, 0, err
	}
	files, err := lk.Files(ctx, pin)
	if err != nil {
		return nil, "", 0, 0, err
	}
	st, err := os.Stat(strings.TrimPrefix(tbl.MetadataLocation(), "file://"))
	if err != nil {
		return nil, "", 0, 0, err
	}
	c, err := edb.Connect()
	if err != nil {
		return nil, "", 0, 0, err
	}
	defer c.Close()
	q, err := c.Prepare(ctx, fmt.Sprintf("SELECT transaction_id FROM read_parquet([%s]) ORDER BY transaction_id LIMIT 1 OFFSET 1000",
		sqlrewrite.QuoteString(files[len(files)/2].Path)))
	if err != nil {
		return nil, "", 0, 0, err
	}
	defer q.Close()
	var id string
	err = q.Stream(ctx, engine.Limits{}, func(r arrow.RecordBatch) error {
		defer r.Release()
		if r.NumRows() > 0 {
			id = strings.Clone(r.Column(0).(*array.String).Value(0))
		}
		return nil
	})
	if err == nil && id == "" {
		err = fmt.Errorf("no transaction id to look up in lake.snapheavy")
	}
	return files, id, st.Size(), len(tbl.Metadata().Snapshots()), err
}
