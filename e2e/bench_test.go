//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/stack"
)

// Benchmarks of the whole stack, run by `just bench` (bench/run.sh), which
// sets FINLAKE_BENCH_OUT to the results directory. They measure and report;
// they assert only that nothing was lost, never a timing.

type latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
}

func latencyOf(ms []float64) latency {
	if len(ms) == 0 {
		return latency{}
	}
	s := append([]float64(nil), ms...)
	sort.Float64s(s)
	q := func(p float64) float64 { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return latency{N: len(s), P50: q(.5), P95: q(.95), P99: q(.99)}
}

type rateStep struct {
	TargetTPS    float64 `json:"target_tx_per_s"`        // new transactions/s asked of the generator
	ProducedTPS  float64 `json:"produced_records_per_s"` // records/s, lifecycle events included
	Produced     int64   `json:"produced"`
	Landed       int64   `json:"landed"`
	DrainSeconds float64 `json:"drain_s"` // generator stop → last row in the lake
	Sustained    bool    `json:"sustained"`
	// What each stage delivered during the window (records/s): a stage at its
	// ceiling stays there while the one before it goes faster, so the step
	// where a stage falls behind its input shows that stage's ceiling.
	// JobRPS counts transactions-processed offsets (a transaction marker per
	// partition and checkpoint included: ~1.5/s).
	JobRPS     float64 `json:"job_records_per_s"`
	IngestRPS  float64 `json:"ingest_rows_per_s"`
	Bottleneck string  `json:"bottleneck"` // generator, job, ingest, drain, or "" when sustained
	Alert      latency `json:"alert_latency"`
	Storage    latency `json:"storage_latency"`
}

type benchResult struct {
	Date              string           `json:"date"`
	Host              string           `json:"host"`
	CPUs              int              `json:"cpus"`
	GeneratorFileTPS  float64          `json:"generator_file_records_per_s"`
	GeneratorKafkaTPS float64          `json:"generator_kafka_records_per_s"`
	At10              rateStep         `json:"at_10_tx_per_s"`
	RSSAt10MiB        int64            `json:"stack_rss_at_10_tx_per_s_mib"`
	RSSByProcess      map[string]int64 `json:"rss_by_process_mib"`
	Steps             []rateStep       `json:"rate_steps"`
	MaxSustainedTPS   float64          `json:"max_sustained_tx_per_s"`
	MaxSustainedRPS   float64          `json:"max_sustained_records_per_s"`
	// The highest rate each stage delivered in any step: its ceiling when it
	// was the bottleneck of some step, else a lower bound.
	CeilingGeneratorRPS float64            `json:"ceiling_generator_records_per_s"`
	CeilingJobRPS       float64            `json:"ceiling_job_records_per_s"`
	CeilingIngestRPS    float64            `json:"ceiling_ingest_rows_per_s"`
	Flight              map[string]float64 `json:"flight"`
	LakeRows            int64              `json:"lake_rows"`
	// The machine is shared: its load average beside the figures says how
	// much of the wall time was this stack's.
	LoadAvgStart string `json:"loadavg_start"`
	LoadAvgEnd   string `json:"loadavg_end"`
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func TestBench(t *testing.T) {
	outDir := os.Getenv("FINLAKE_BENCH_OUT")
	if outDir == "" {
		t.Skip("FINLAKE_BENCH_OUT not set: run `just bench`")
	}
	p := startPipeline(t)
	host, _ := os.Hostname()
	res := benchResult{Date: time.Now().UTC().Format(time.RFC3339), Host: host, CPUs: numCPU(), Flight: map[string]float64{}, LoadAvgStart: loadAvg()}
	work := t.TempDir()
	ctx := context.Background()

	// Generator alone (to a file), then into the broker as fast as it takes it.
	// No malformed records: every raw record must land, which is how the
	// steps below tell that the pipeline kept up.
	const genCount = 100000
	genArgs := []string{"generate", "--seed", "1", "--start", "2026-01-01T00:00:00Z", "--backfill", "24h", "--rate", "10",
		"--count", strconv.Itoa(genCount), "--malformed-rate", "0", "--progress=false"}
	start := time.Now()
	if out, err := p.lakectl(ctx, append(genArgs, "--output", filepath.Join(work, "gen.jsonl"))...).CombinedOutput(); err != nil {
		t.Fatalf("generate: %v\n%s", err, out)
	}
	res.GeneratorFileTPS = genCount / time.Since(start).Seconds()
	before := rawEnd(t, p)
	start = time.Now()
	if out, err := p.lakectl(ctx, append(genArgs, "--http", "off")...).CombinedOutput(); err != nil {
		t.Fatalf("generate to Kafka: %v\n%s", err, out)
	}
	res.GeneratorKafkaTPS = float64(rawEnd(t, p)-before) / time.Since(start).Seconds()
	t.Logf("generator: %.0f records/s to a file, %.0f records/s into Kafka", res.GeneratorFileTPS, res.GeneratorKafkaTPS)
	waitLanded(t, p, rawEnd(t, p), 10*time.Minute)

	// 10 tx/s, the default: latency and the stack's memory.
	res.At10 = runRate(t, p, 10, 60*time.Second)
	st, _ := stack.ReadState(p.data)
	res.RSSAt10MiB = st.TotalRSS() >> 20
	res.RSSByProcess = map[string]int64{}
	for _, pr := range st.Processes {
		res.RSSByProcess[pr.Name] = pr.RSSBytes >> 20
	}

	searchRate(t, p, &res)

	// Flight SQL over what the runs left in the lake.
	uri := fmt.Sprintf("grpc://127.0.0.1:%d", p.ports.Flight)
	res.LakeRows = flightCount(t, uri, "SELECT count(*) FROM lake.transactions")
	timeQuery := func(name, q string) {
		var best time.Duration
		for i := 0; i < 3; i++ {
			s := time.Now()
			flightCount(t, uri, q)
			if d := time.Since(s); i == 0 || d < best {
				best = d
			}
		}
		res.Flight[name+"_ms"] = float64(best.Microseconds()) / 1000
	}
	timeQuery("count", "SELECT count(*) FROM lake.transactions")
	timeQuery("group_by_category", "SELECT count(*) FROM (SELECT merchant_category, count(*), sum(amount_usd) FROM lake.transactions GROUP BY 1)")
	timeQuery("point_lookup", "SELECT count(*) FROM lake.transactions WHERE account_id = 'AC0000042'")
	s := time.Now()
	rows := flightScan(t, uri, "SELECT * FROM lake.transactions")
	scan := time.Since(s)
	res.Flight["scan_rows"] = float64(rows)
	res.Flight["scan_rows_per_s"] = float64(rows) / scan.Seconds()

	res.LoadAvgEnd = loadAvg()
	writeBench(t, outDir, res)
}

// searchRate finds the highest sustained rate: doubling from 1,000 tx/s
// until a step is not sustained (or 64,000 tx/s is), then bisecting between
// the highest sustained and the lowest failed rate until they are within 10%
// (at most 4 more steps). Every step is recorded, in the order run.
func searchRate(t *testing.T, p *pipeline, res *benchResult) {
	var lo, hi float64 // highest sustained, lowest not sustained (0: none yet)
	try := func(rate float64) bool {
		s := runRate(t, p, rate, 45*time.Second)
		res.Steps = append(res.Steps, s)
		res.CeilingGeneratorRPS = max(res.CeilingGeneratorRPS, s.ProducedTPS)
		res.CeilingJobRPS = max(res.CeilingJobRPS, s.JobRPS)
		res.CeilingIngestRPS = max(res.CeilingIngestRPS, s.IngestRPS)
		if s.Sustained && rate > lo {
			lo = rate
			res.MaxSustainedTPS, res.MaxSustainedRPS = s.TargetTPS, s.ProducedTPS
		}
		if !s.Sustained && (hi == 0 || rate < hi) {
			hi = rate
		}
		return s.Sustained
	}
	for rate := 1000.0; rate <= 64000 && try(rate); rate *= 2 {
	}
	for i := 0; i < 4 && hi > 0 && hi-lo > 0.1*max(lo, 100); i++ {
		try(math.Round((lo+hi)/2/100) * 100)
	}
}

// bottleneck names the first stage that delivered less than 90% of what it
// was given during the window, "drain" when all kept up but the lake caught up
// late, "" when the step was sustained.
func bottleneck(s rateStep) string {
	switch {
	case s.Sustained:
		return ""
	case s.ProducedTPS < 0.9*s.TargetTPS:
		return "generator"
	case s.JobRPS < 0.9*s.ProducedTPS:
		return "job"
	case s.IngestRPS < 0.9*s.JobRPS:
		return "ingest"
	default:
		return "drain"
	}
}

// runRate runs the live generator at rate for d, then measures how long the
// lake takes to hold every produced record, and the latencies of that window.
func runRate(t *testing.T, p *pipeline, rate float64, d time.Duration) rateStep {
	t.Helper()
	startOffsets := rawEndOffsets(t, p)
	startCount := sumOffsets(startOffsets)
	alerts := followFrom(t, p.brokers(), contract.Alerts, endOffsets(t, p, contract.Alerts))
	jobStart := sumOffsets(endOffsets(t, p, contract.TransactionsProcessed))
	lakeStart := lakeRows(t, p)
	windowStart := time.Now()
	gen := p.lakectl(context.Background(), "generate", "--rate", fmt.Sprint(rate), "--http", "off",
		"--malformed-rate", "0", "--fraud-rate", "0.05", "--progress=false")
	if err := gen.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	_ = gen.Process.Signal(syscall.SIGINT)
	_ = gen.Wait()
	stopped := time.Now()
	window := stopped.Sub(windowStart).Seconds()
	jobRPS := float64(sumOffsets(endOffsets(t, p, contract.TransactionsProcessed))-jobStart) / window
	ingestRPS := float64(lakeRows(t, p)-lakeStart) / window
	produced := rawEnd(t, p) - startCount
	landedAt := waitLanded(t, p, rawEnd(t, p), 5*time.Minute)
	step := rateStep{TargetTPS: rate, Produced: produced, ProducedTPS: float64(produced) / stopped.Sub(windowStart).Seconds(),
		DrainSeconds: max(0, landedAt.Sub(stopped).Seconds())}
	step.Landed = lakeRows(t, p) // all rows: earlier phases included
	// Kept up: the lake held everything within 15 s of the generator's stop,
	// and the generator reached at least 90% of the asked rate.
	step.Sustained = !landedAt.IsZero() && step.DrainSeconds <= 15 && step.ProducedTPS >= 0.9*rate
	step.JobRPS, step.IngestRPS = jobRPS, ingestRPS
	step.Bottleneck = bottleneck(step)

	var alertMS []float64
	for _, s := range alerts.take() {
		if !s.rec.Timestamp.Before(windowStart) {
			alertMS = append(alertMS, float64(s.at.Sub(s.rec.Timestamp).Milliseconds()))
		}
	}
	alerts.close()
	step.Alert = latencyOf(alertMS)
	genTimes := map[string]int64{}
	drainFrom(t, p.brokers(), contract.RawTransactions, startOffsets, func(r *kgo.Record) {
		var ev event
		if json.Unmarshal(r.Value, &ev) == nil {
			if _, ok := genTimes[ev.TransactionID+"/"+ev.Status]; !ok {
				genTimes[ev.TransactionID+"/"+ev.Status] = r.Timestamp.UnixMilli()
			}
		}
	})
	step.Storage = latencyOf(snapshotLatenciesSince(t, loadTable(t, p.lake(), "transactions"), genTimes, windowStart.UnixMilli()))
	t.Logf("rate %.0f: produced %.0f records/s, job %.0f/s, ingest %.0f/s, drain %.1fs, sustained %v (bottleneck %q), alert %+v, storage %+v",
		rate, step.ProducedTPS, step.JobRPS, step.IngestRPS, step.DrainSeconds, step.Sustained, step.Bottleneck, step.Alert, step.Storage)
	return step
}

func rawEndOffsets(t *testing.T, p *pipeline) map[int32]int64 {
	t.Helper()
	return endOffsets(t, p, contract.RawTransactions)
}

func endOffsets(t *testing.T, p *pipeline, topic string) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.brokers()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

func sumOffsets(m map[int32]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func rawEnd(t *testing.T, p *pipeline) int64 { return sumOffsets(rawEndOffsets(t, p)) }

func lakeRows(t *testing.T, p *pipeline) int64 {
	t.Helper()
	snap := loadTable(t, p.lake(), "transactions").CurrentSnapshot()
	if snap == nil || snap.Summary == nil {
		return 0
	}
	n, _ := strconv.ParseInt(snap.Summary.Properties["total-records"], 10, 64)
	return n
}

// waitLanded waits until lake.transactions holds at least want rows (every
// raw record is a valid event in these runs) and says when; zero on timeout.
func waitLanded(t *testing.T, p *pipeline, want int64, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if lakeRows(t, p) >= want {
			return time.Now()
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Errorf("lake.transactions holds %d rows after %s, want %d: records lost or the pipeline stalled", lakeRows(t, p), within, want)
	return time.Time{}
}

func drainFrom(t *testing.T, brokers, topic string, from map[int32]int64, fn func(*kgo.Record)) {
	t.Helper()
	offs := map[int32]kgo.Offset{}
	for part, o := range from {
		offs[part] = kgo.NewOffset().At(o)
	}
	drainWith(t, brokers, 3*time.Second, fn, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offs}))
}

// snapshotLatenciesSince is snapshotLatencies restricted to snapshots
// committed at or after sinceMS.
func snapshotLatenciesSince(t *testing.T, tbl *table.Table, gen map[string]int64, sinceMS int64) []float64 {
	t.Helper()
	return snapshotLatenciesFiltered(t, tbl, gen, func(s table.Snapshot) bool { return s.TimestampMs >= sinceMS })
}

func writeBench(t *testing.T, dir string, r benchResult) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, time.Now().UTC().Format("2006-01-02"))
	b, _ := json.MarshalIndent(r, "", "  ")
	if err := os.WriteFile(base+".json", append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# finlake stack benchmark, %s (%s, %d CPUs, load average %s at the start, %s at the end)\n\n",
		r.Date, r.Host, r.CPUs, r.LoadAvgStart, r.LoadAvgEnd)
	fmt.Fprintf(&md, "Rates in records/s count every record (new transactions and their lifecycle events); tx/s counts new transactions.\n\n")
	fmt.Fprintf(&md, "| figure | value | target |\n| --- | --- | --- |\n")
	fmt.Fprintf(&md, "| generator, to a file | %.0f records/s | |\n", r.GeneratorFileTPS)
	fmt.Fprintf(&md, "| generator, into Kafka | %.0f records/s | |\n", r.GeneratorKafkaTPS)
	fmt.Fprintf(&md, "| highest sustained pipeline rate, zero loss | %.0f tx/s (%.0f records/s) | 20,000 tx/s |\n", r.MaxSustainedTPS, r.MaxSustainedRPS)
	fmt.Fprintf(&md, "| highest rate delivered in a step: generator into Kafka / job / ingest | %.0f / %.0f / %.0f records/s | |\n",
		r.CeilingGeneratorRPS, r.CeilingJobRPS, r.CeilingIngestRPS)
	lat := func(name string, l latency, target string) {
		fmt.Fprintf(&md, "| %s | p50 %.0f ms, p95 %.0f ms, p99 %.0f ms (n=%d) | %s |\n", name, l.P50, l.P95, l.P99, l.N, target)
	}
	lat("alert latency at 10 tx/s", r.At10.Alert, "p95 < 2 s")
	lat("storage latency at 10 tx/s", r.At10.Storage, "p95 < 10 s")
	if n := len(r.Steps); n > 0 {
		best := r.Steps[0]
		for _, s := range r.Steps {
			if s.Sustained && (!best.Sustained || s.TargetTPS > best.TargetTPS) {
				best = s
			}
		}
		lat(fmt.Sprintf("alert latency at %.0f tx/s", best.TargetTPS), best.Alert, "p95 < 2 s")
		lat(fmt.Sprintf("storage latency at %.0f tx/s", best.TargetTPS), best.Storage, "p95 < 10 s")
	}
	fmt.Fprintf(&md, "| stack RSS at 10 tx/s | %d MiB | < 3 GiB |\n", r.RSSAt10MiB)
	for _, k := range []string{"count_ms", "group_by_category_ms", "point_lookup_ms"} {
		fmt.Fprintf(&md, "| Flight SQL %s over %d rows | %.1f ms | |\n", strings.TrimSuffix(k, "_ms"), r.LakeRows, r.Flight[k])
	}
	fmt.Fprintf(&md, "| Flight SQL full scan (SELECT *) | %.0f rows/s (%.0f rows) | |\n", r.Flight["scan_rows_per_s"], r.Flight["scan_rows"])
	fmt.Fprintf(&md, "\nRate search, in the order run (doubling from 1,000 tx/s, then bisecting; 45 s each; sustained = the lake held everything within 15 s of the generator's stop; bottleneck = the first stage delivering under 90%% of its input):\n\n")
	fmt.Fprintf(&md, "| target tx/s | generator records/s | job records/s | ingest rows/s | drain s | sustained | bottleneck | alert p95 ms | storage p95 ms |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, s := range r.Steps {
		fmt.Fprintf(&md, "| %.0f | %.0f | %.0f | %.0f | %.1f | %v | %s | %.0f | %.0f |\n", s.TargetTPS, s.ProducedTPS, s.JobRPS, s.IngestRPS,
			s.DrainSeconds, s.Sustained, s.Bottleneck, s.Alert.P95, s.Storage.P95)
	}
	names := make([]string, 0, len(r.RSSByProcess))
	for n := range r.RSSByProcess {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(&md, "\nRSS at 10 tx/s by process (MiB):")
	for _, n := range names {
		fmt.Fprintf(&md, " %s %d;", n, r.RSSByProcess[n])
	}
	fmt.Fprintln(&md)
	if err := os.WriteFile(base+".md", []byte(md.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s.json and %s.md:\n%s", base, base, md.String())
}

func numCPU() int { return runtime.NumCPU() }
