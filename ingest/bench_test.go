package ingest

// Benchmarks, not timed tests (bench/ingest.sh runs them):
//   BenchmarkIngestThroughput          rows/s from Kafka into lake.transactions with the default
//                                      commit settings, records produced beforehand (FINLAKE_BENCH_ROWS).
//   BenchmarkStorageLatencyAt10PerSec  storage latency percentiles (Kafka timestamp → visible in
//                                      Iceberg) at 10 records/s with the defaults, over
//                                      FINLAKE_BENCH_SECONDS, as lake.pipeline_runs reports it.

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/internal/testsupport"
	"github.com/finlake/finlake/lake"
	"github.com/finlake/finlake/stack/kafkalocal"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchBroker is a full-speed broker (no QuickStart) of the benchmark's own.
func benchBroker(b *testing.B) testTopics {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	br, err := kafkalocal.Start(ctx, kafkalocal.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = br.Stop() })
	tt := testTopics{brokers: []string{br.Bootstrap()}, transactions: contract.TransactionsProcessed, alerts: contract.Alerts}
	testsupport.CreateTopics(b, tt.brokers, 3, nil, tt.transactions, tt.alerts)
	return tt
}

func BenchmarkIngestThroughput(b *testing.B) {
	rows := envInt("FINLAKE_BENCH_ROWS", 500_000)
	if os.Getenv("FINLAKE_BENCH_DEBUG") != "" { // per-commit timings
		prev := slog.Default()
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
		b.Cleanup(func() { slog.SetDefault(prev) })
	}
	tt := benchBroker(b)
	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(tt.brokers...), kgo.TransactionalID("bench-"+uuid.NewString()),
		kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	for sent := 0; sent < rows; {
		if err := cl.BeginTransaction(); err != nil {
			b.Fatal(err)
		}
		n := min(20_000, rows-sent)
		for i := 0; i < n; i++ {
			idx := sent + i
			cl.Produce(ctx, &kgo.Record{Topic: tt.transactions, Key: fmt.Appendf(nil, "AC%07d", idx%997),
				Value: enrichedTx(uuid.NewString(), idx, "")}, func(_ *kgo.Record, err error) {
				if err != nil {
					b.Error(err)
				}
			})
		}
		if err := cl.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	cfg := DefaultConfig()
	cfg.Lake = lake.Config{DataDir: b.TempDir()}
	cfg.Brokers = tt.brokers
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.MaintainInterval = 0
	// The clock starts once the service is up (catalog open, tables
	// created, partitions assigned): this measures the stream, not startup.
	ready := make(chan time.Time, 1)
	cfg.OnReady = func(string) { ready <- time.Now() }
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- Run(runCtx, cfg) }()
	start := <-ready
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for {
		if n := benchRowCount(b, cfg.Lake, lake.TableTransactions); n >= int64(rows) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	cpu := cpuSeconds() - cpu0
	b.StopTimer()
	// Load-independent: the CPU the ingest process spent per row (user+sys),
	// so figures from a busy shared machine can be compared.
	b.ReportMetric(float64(rows)/cpu, "rows/cpu_s")
	cancel()
	<-done
	b.ReportMetric(float64(rows)/took.Seconds(), "rows/s")
	b.ReportMetric(took.Seconds(), "s_total")

	// Steady state: rows after the first commit over the time between the
	// first and the last commit (excludes the consumer's first fetch).
	cat, closeFn, err := lake.OpenCatalog(ctx, cfg.Lake)
	if err != nil {
		b.Fatal(err)
	}
	defer closeFn()
	tbl, err := cat.LoadTable(ctx, lake.Ident(lake.TableTransactions))
	if err != nil {
		b.Fatal(err)
	}
	snaps := tbl.Metadata().Snapshots()
	if len(snaps) >= 2 {
		first, last := snaps[0], snaps[len(snaps)-1]
		firstRows, _ := strconv.ParseInt(first.Summary.Properties["added-records"], 10, 64)
		secs := float64(last.TimestampMs-first.TimestampMs) / 1000
		b.ReportMetric(float64(int64(rows)-firstRows)/secs, "rows/s_steady")
	}
}

func benchRowCount(b *testing.B, cfg lake.Config, name string) int64 {
	ctx := context.Background()
	cat, closeFn, err := lake.OpenCatalog(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer closeFn()
	tbl, err := cat.LoadTable(ctx, lake.Ident(name))
	if err != nil {
		return 0 // not created yet
	}
	s := tbl.CurrentSnapshot()
	if s == nil {
		return 0
	}
	n, _ := strconv.ParseInt(s.Summary.Properties["total-records"], 10, 64)
	return n
}

func BenchmarkStorageLatencyAt10PerSec(b *testing.B) {
	secs := envInt("FINLAKE_BENCH_SECONDS", 60)
	tt := benchBroker(b)
	ctx := context.Background()
	cfg := DefaultConfig() // commit every 5 s or 50,000 records
	cfg.Lake = lake.Config{DataDir: b.TempDir()}
	cfg.Brokers = tt.brokers
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.MaintainInterval = 0
	cfg.RunsInterval = time.Hour // one pipeline_runs row, written at shutdown, covering the run
	runCtx, cancel := context.WithCancel(ctx)
	ready := make(chan string, 1)
	cfg.OnReady = func(a string) { ready <- a }
	done := make(chan error, 1)
	go func() { done <- Run(runCtx, cfg) }()
	<-ready

	cl, err := kgo.NewClient(kgo.SeedBrokers(tt.brokers...), kgo.TransactionalID("bench-"+uuid.NewString()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	b.ResetTimer()
	tick := time.NewTicker(100 * time.Millisecond)
	total := secs * 10
	for i := 0; i < total; i++ {
		<-tick.C
		// One record per Kafka transaction, as an exactly-once job with
		// frequent checkpoints would deliver it at this rate.
		if err := cl.BeginTransaction(); err != nil {
			b.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: tt.transactions, Key: []byte("k"),
			Value: enrichedTx(uuid.NewString(), i, "")}).FirstErr(); err != nil {
			b.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			b.Fatal(err)
		}
	}
	tick.Stop()
	for benchRowCount(b, cfg.Lake, lake.TableTransactions) < int64(total) {
		time.Sleep(200 * time.Millisecond)
	}
	b.StopTimer()
	cancel()
	<-done

	cat, closeFn, err := lake.OpenCatalog(ctx, cfg.Lake)
	if err != nil {
		b.Fatal(err)
	}
	defer closeFn()
	tbl, err := cat.LoadTable(ctx, lake.Ident(lake.TablePipelineRuns))
	if err != nil {
		b.Fatal(err)
	}
	at, err := tbl.Scan().ToArrowTable(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer at.Release()
	rdr := newTableReader(at)
	defer rdr.Release()
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			get := func(col string) string { return rec.Column(rec.Schema().FieldIndices(col)[0]).ValueStr(i) }
			if get("transactions_written") == "0" {
				continue
			}
			for _, q := range []string{"p50", "p95", "p99"} {
				v, _ := strconv.ParseFloat(get("storage_latency_"+q+"_ms"), 64)
				b.ReportMetric(v/1000, "s_latency_"+q)
			}
			b.Logf("pipeline_runs: %s rows written, latency p50 %s ms, p95 %s ms, p99 %s ms, max %s ms",
				get("transactions_written"), get("storage_latency_p50_ms"), get("storage_latency_p95_ms"),
				get("storage_latency_p99_ms"), get("storage_latency_max_ms"))
		}
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
