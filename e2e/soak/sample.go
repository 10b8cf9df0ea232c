package soak

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/apache/iceberg-go/table"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/flight/client"
	"github.com/finlake/finlake/lake"
	"github.com/finlake/finlake/stack"
)

// Sample is what the soak records once per sample interval.
type Sample struct {
	WallSeconds float64 `json:"wall_s"`    // since generation started
	SimHours    float64 `json:"sim_hours"` // the generator's event time since the run's start (wall × speed)
	// JobHours is the event time the job has reached, in hours since the
	// run's start: the rules engine's output watermark, lowest over its
	// subtasks; 0 before it has one. The job lags the generator on a slow
	// machine, and what it holds follows its own event time, not the
	// generator's.
	JobHours float64   `json:"job_event_hours"`
	Taken    time.Time `json:"taken"`
	// RawRecords is the end offset sum of raw-transactions; IngestLag the
	// records of transactions-processed and alerts not yet in the lake.
	RawRecords int64 `json:"raw_records"`
	IngestLag  int64 `json:"ingest_lag_records"`

	FlinkStateBytes int64 `json:"flink_state_bytes"`
	// FlinkLiveStateBytes is RocksDB's estimate of the live bytes of keyed
	// state and timers (rocksdb.estimate-live-data-size, summed over column
	// families and subtasks): FlinkStateBytes less the dead versions and
	// tombstones universal compaction has not merged away yet.
	FlinkLiveStateBytes int64 `json:"flink_live_state_bytes"`
	FlinkSSTBytes       int64 `json:"flink_sst_bytes"` // rocksdb.total-sst-files-size, summed likewise
	// FlinkCounters are the job's own counters (metric group finlake:
	// valid, late_events, duplicates, invalid_<rule>, alerts_<rule>),
	// summed over subtasks and operators.
	FlinkCounters map[string]int64 `json:"flink_counters,omitempty"`
	// JobRecordsPerSec is the records the job decided (valid or dead-lettered)
	// per wall second since the previous sample: how fast it catches up.
	JobRecordsPerSec       float64 `json:"job_records_per_s"`
	FlinkCheckpointedBytes int64   `json:"flink_checkpointed_bytes"` // of the latest checkpoint (incremental: the delta)
	FlinkCheckpointMS      int64   `json:"flink_checkpoint_ms"`
	FlinkCheckpointBPS     float64 `json:"flink_checkpoint_bytes_per_s"`
	FlinkCheckpointsFailed int64   `json:"flink_checkpoints_failed"`
	FlinkWriteBPS          float64 `json:"flink_write_bytes_per_s"` // /proc/<pid>/io write_bytes

	LiveHeapBytes map[string]int64 `json:"live_heap_bytes"` // after a full GC: flink, kafka
	RSSBytes      map[string]int64 `json:"rss_bytes"`       // per process, with its children
	Restarts      map[string]int   `json:"restarts"`

	Tables map[string]TableSample `json:"tables"`
	// Commits is ingest's commits per table since the previous sample;
	// StorageP50/P95 the storage latency over that interval, and
	// CommitP50/P95 how long lake.transactions' commits took in it (ingest
	// /metrics; 0 when the ingest has no commit histogram).
	Commits    map[string]float64 `json:"commits"`
	StorageP50 float64            `json:"storage_latency_p50_s"`
	StorageP95 float64            `json:"storage_latency_p95_s"`
	CommitP50  float64            `json:"commit_p50_s"`
	CommitP95  float64            `json:"commit_p95_s"`

	DiskBytes map[string]int64   `json:"disk_bytes"` // kafka, checkpoints, warehouse
	QueryMS   map[string]float64 `json:"query_ms"`
	Problems  []string           `json:"problems,omitempty"`
}

// TableSample is one table's metadata as the catalog has it.
type TableSample struct {
	MetadataBytes        int64 `json:"metadata_json_bytes"`
	Snapshots            int   `json:"snapshots"`
	Rows                 int64 `json:"rows"`
	DataFiles            int   `json:"data_files"`
	Partitions           int   `json:"partitions"`
	MaxFilesPerPartition int   `json:"max_files_per_partition"`
}

// Target is the running stack the sampler reads.
type Target struct {
	Data       string // the stack's --data
	CatalogURI string // the stack's --catalog-uri ("": SQLite in Data)
	FlinkURL   string // http://127.0.0.1:<flink port>
	IngestURL  string // http://127.0.0.1:<ingest port>
	FlightURI  string // grpc://127.0.0.1:<flight port>
	Brokers    string
}

// Sampler takes Samples; it keeps the counters it needs for rates between
// two samples.
type Sampler struct {
	T     Target
	Plan  Plan
	start time.Time
	prev  struct {
		at       time.Time
		ioWrite  int64
		ioPID    int
		commits  map[string]float64
		hists    map[string]map[float64]float64 // histogram name → cumulative buckets (le → count)
		asOfFrom time.Time
		// decided is the job's decided records at decidedAt, the last sample
		// whose counters were read.
		decided   int64
		decidedAt time.Time
	}
	lookupID string
	dayStart time.Time
}

// NewSampler starts the clock of the run at start (the generator's start).
func NewSampler(t Target, p Plan, start time.Time) *Sampler {
	return &Sampler{T: t, Plan: p, start: start}
}

// Take records one sample. Failures of single probes become Problems, so
// one slow endpoint does not lose the sample.
func (s *Sampler) Take(ctx context.Context, rawRecords int64) Sample {
	now := time.Now()
	wall := now.Sub(s.start)
	sm := Sample{WallSeconds: wall.Seconds(), SimHours: wall.Hours() * s.Plan.Speed, Taken: now.UTC(), RawRecords: rawRecords,
		LiveHeapBytes: map[string]int64{}, RSSBytes: map[string]int64{}, Restarts: map[string]int{},
		Tables: map[string]TableSample{}, Commits: map[string]float64{}, DiskBytes: map[string]int64{}, QueryMS: map[string]float64{}}
	problem := func(what string, err error) {
		if err != nil {
			sm.Problems = append(sm.Problems, what+": "+err.Error())
		}
	}
	st, err := stack.ReadState(s.T.Data)
	problem("stack state", err)
	pids := map[string]int{}
	for _, p := range st.Processes {
		sm.Restarts[p.Name] = p.Restarts
		if p.PID > 0 {
			pids[p.Name] = p.PID
			sm.RSSBytes[p.Name] = treeRSS(p.PID)
		}
	}
	if err := s.flink(ctx, &sm); err != nil {
		problem("flink checkpoints", err)
	} else {
		s.jobRate(&sm, now)
	}
	if pid := pids[stack.Flink]; pid > 0 {
		w := procWriteBytes(pid)
		if s.prev.ioPID == pid && !s.prev.at.IsZero() && w >= s.prev.ioWrite {
			sm.FlinkWriteBPS = float64(w-s.prev.ioWrite) / now.Sub(s.prev.at).Seconds()
		}
		s.prev.ioPID, s.prev.ioWrite = pid, w
		heap, err := liveHeap(ctx, pid)
		problem("flink heap", err)
		sm.LiveHeapBytes["flink"] = heap
	}
	if pid := JavaUnder(pids[stack.Kafka]); pid > 0 {
		heap, err := liveHeap(ctx, pid)
		problem("kafka heap", err)
		sm.LiveHeapBytes["kafka"] = heap
	}
	problem("ingest metrics", s.ingest(ctx, &sm, now))
	problem("tables", s.tables(ctx, &sm))
	dd := contract.DataDir{Root: s.T.Data}
	sm.DiskBytes["kafka"] = duBytes(dd.Kafka())
	sm.DiskBytes["checkpoints"] = duBytes(dd.FlinkCheckpoints())
	sm.DiskBytes["warehouse"] = duBytes(dd.Warehouse())
	problem("queries", s.queries(ctx, &sm, now))
	s.prev.at = now
	return sm
}

func getJSON(ctx context.Context, url string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// EngineVertex is the rules engine's operator name (flinkjob's
// Pipeline.build names it "rules-engine"). Flink names a vertex after the
// operators chained in it ("rules-engine -> Sink: ..."), and the REST API
// lists an operator's metrics as "<operator name>.<metric>".
const EngineVertex = "rules-engine"

// watermarkSuffix ends the id of an operator's output watermark gauge. The
// engine's input watermark is useless here: it is the minimum with the rules
// broadcast input, which carries no event time (Long.MIN_VALUE).
const watermarkSuffix = ".currentOutputWatermark"

// metricsSettle is how long a sample waits for the fetch its first metrics
// request started (samples are further apart than the update interval, so
// that request always starts one; it lands in milliseconds here).
const metricsSettle = 1500 * time.Millisecond

// noWatermark bounds the gauge's Long.MIN_VALUE (no watermark yet) and
// Long.MAX_VALUE (end of input) as the REST API's float64 gives them.
const noWatermark = 9e18

// jobMetrics sums the job's RocksDB size gauges (Flink's native metrics,
// enabled by the job) over every vertex, column family and subtask, and
// the job's own counters likewise; and reads the engine's output
// watermark, lowest over its subtasks, as the job's event time.
func (s *Sampler) jobMetrics(ctx context.Context, jid string, sm *Sample) error {
	var job struct {
		Vertices []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"vertices"`
	}
	if err := getJSON(ctx, s.T.FlinkURL+"/jobs/"+jid, &job); err != nil {
		return err
	}
	// The REST API answers from a store its metric fetcher refreshes in the
	// background when a request finds it older than
	// metrics.fetcher.update-interval (1 s in compressed runs): read at once,
	// a sample got whatever the previous sample's requests had left, and the
	// job's rate swung between 0 and twice its mean. So a request starts the
	// fetch, and the values are read once it has had time to land.
	if len(job.Vertices) > 0 {
		var prime []struct{}
		if err := getJSON(ctx, s.T.FlinkURL+"/jobs/"+jid+"/vertices/"+job.Vertices[0].ID+"/subtasks/metrics", &prime); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(metricsSettle):
		}
	}
	type metric struct {
		ID  string  `json:"id"`
		Sum float64 `json:"sum"`
		Min float64 `json:"min"`
	}
	for _, v := range job.Vertices {
		base := s.T.FlinkURL + "/jobs/" + jid + "/vertices/" + v.ID + "/subtasks/metrics"
		var avail []metric
		if err := getJSON(ctx, base, &avail); err != nil {
			return err
		}
		var ids []string
		watermark := ""
		for _, m := range avail {
			switch {
			case strings.Contains(v.Name, EngineVertex) && strings.HasPrefix(m.ID, EngineVertex+".") && strings.HasSuffix(m.ID, watermarkSuffix):
				watermark = m.ID
				ids = append(ids, m.ID)
			case strings.HasSuffix(m.ID, ".rocksdb_estimate-live-data-size") || strings.HasSuffix(m.ID, ".rocksdb_total-sst-files-size") ||
				strings.Contains(m.ID, ".finlake."):
				ids = append(ids, m.ID)
			}
		}
		if len(ids) == 0 {
			continue
		}
		// The sums for the sizes and counters, the minimum for the watermark:
		// the job has reached the event time its slowest subtask has.
		var got []metric
		if err := getJSON(ctx, base+"?agg=min,sum&get="+url.QueryEscape(strings.Join(ids, ",")), &got); err != nil {
			return err
		}
		for _, m := range got {
			if m.ID == watermark {
				if m.Min > -noWatermark && m.Min < noWatermark {
					sm.JobHours = (m.Min - float64(s.Plan.Start.UnixMilli())) / float64(time.Hour/time.Millisecond)
				}
				continue
			}
			if _, name, ok := strings.Cut(m.ID, ".finlake."); ok {
				if sm.FlinkCounters == nil {
					sm.FlinkCounters = map[string]int64{}
				}
				sm.FlinkCounters[name] += int64(m.Sum)
				continue
			}
			if strings.HasSuffix(m.ID, "live-data-size") {
				sm.FlinkLiveStateBytes += int64(m.Sum)
			} else {
				sm.FlinkSSTBytes += int64(m.Sum)
			}
		}
	}
	return nil
}

// jobRate sets JobRecordsPerSec from the job's counters. Counters start
// from zero when the job restarts: that interval has no rate.
func (s *Sampler) jobRate(sm *Sample, now time.Time) {
	n, ok := decided(sm.FlinkCounters)
	if !ok {
		return
	}
	if !s.prev.decidedAt.IsZero() && n >= s.prev.decided {
		sm.JobRecordsPerSec = float64(n-s.prev.decided) / now.Sub(s.prev.decidedAt).Seconds()
	}
	s.prev.decided, s.prev.decidedAt = n, now
}

// decided is the records the job has decided on: processed (valid) and
// dead-lettered (invalid_*). The invalid counters count failed checks, so a
// record failing two counts twice, and the validator's invalid_records
// repeats its per-check counters; the soak's generator makes no malformed
// records, so neither moves the rate.
func decided(counters map[string]int64) (int64, bool) {
	valid, ok := counters["valid"]
	if !ok {
		return 0, false
	}
	n := valid
	for name, v := range counters {
		if strings.HasPrefix(name, "invalid_") {
			n += v
		}
	}
	return n, true
}

// flink reads the running job's checkpoint statistics (REST
// /jobs/<id>/checkpoints): the latest completed one, and bytes per second
// over the history Flink keeps.
func (s *Sampler) flink(ctx context.Context, sm *Sample) error {
	var ov struct {
		Jobs []struct {
			JID   string `json:"jid"`
			State string `json:"state"`
		} `json:"jobs"`
	}
	if err := getJSON(ctx, s.T.FlinkURL+"/jobs/overview", &ov); err != nil {
		return err
	}
	jid := ""
	for _, j := range ov.Jobs {
		if j.State == "RUNNING" {
			jid = j.JID
		}
	}
	if jid == "" {
		return fmt.Errorf("no RUNNING job")
	}
	type ckpt struct {
		Status           string `json:"status"`
		StateSize        int64  `json:"state_size"`
		CheckpointedSize int64  `json:"checkpointed_size"`
		Duration         int64  `json:"end_to_end_duration"`
		Trigger          int64  `json:"trigger_timestamp"`
		LatestAck        int64  `json:"latest_ack_timestamp"`
	}
	var cp struct {
		Counts struct {
			Failed int64 `json:"failed"`
		} `json:"counts"`
		Latest struct {
			Completed *ckpt `json:"completed"`
		} `json:"latest"`
		History []ckpt `json:"history"`
	}
	if err := getJSON(ctx, s.T.FlinkURL+"/jobs/"+jid+"/checkpoints", &cp); err != nil {
		return err
	}
	sm.FlinkCheckpointsFailed = cp.Counts.Failed
	if c := cp.Latest.Completed; c != nil {
		sm.FlinkStateBytes, sm.FlinkCheckpointedBytes, sm.FlinkCheckpointMS = c.StateSize, c.CheckpointedSize, c.Duration
	}
	if err := s.jobMetrics(ctx, jid, sm); err != nil {
		return err
	}
	var bytes, from, to int64
	for _, c := range cp.History {
		if c.Status != "COMPLETED" {
			continue
		}
		bytes += c.CheckpointedSize
		if from == 0 || c.Trigger < from {
			from = c.Trigger
		}
		to = max(to, c.LatestAck)
	}
	if to > from {
		sm.FlinkCheckpointBPS = float64(bytes) / (float64(to-from) / 1000)
	}
	return nil
}

// ingest reads commits and the storage and commit latency histograms from
// /metrics, as differences since the previous sample.
func (s *Sampler) ingest(ctx context.Context, sm *Sample, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.T.IngestURL+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	commits := map[string]float64{}
	const storage, commit = "finlake_ingest_storage_latency_seconds_bucket", "finlake_ingest_commit_seconds_bucket"
	hists := map[string]map[float64]float64{storage: {}, commit: {}}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		name, labels, v, ok := promLine(sc.Text())
		if !ok {
			continue
		}
		switch name {
		case "finlake_ingest_commits_total":
			commits[labels["table"]] = v
		case "finlake_ingest_partition_lag_records":
			sm.IngestLag += int64(v)
		case storage, commit:
			if labels["table"] != "transactions" {
				continue
			}
			le := math.Inf(1)
			if labels["le"] != "+Inf" {
				le, _ = strconv.ParseFloat(labels["le"], 64)
			}
			hists[name][le] = v
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	for t, v := range commits {
		sm.Commits[t] = v - s.prev.commits[t]
	}
	delta := func(name string) map[float64]float64 {
		d := map[float64]float64{}
		for le, v := range hists[name] {
			d[le] = v - s.prev.hists[name][le]
		}
		return d
	}
	st, cm := delta(storage), delta(commit)
	sm.StorageP50, sm.StorageP95 = histQuantile(st, 0.5), histQuantile(st, 0.95)
	sm.CommitP50, sm.CommitP95 = histQuantile(cm, 0.5), histQuantile(cm, 0.95)
	s.prev.commits, s.prev.hists = commits, hists
	return nil
}

var promRe = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)`)

// promLine parses one line of the Prometheus text format.
func promLine(line string) (string, map[string]string, float64, bool) {
	if strings.HasPrefix(line, "#") {
		return "", nil, 0, false
	}
	m := promRe.FindStringSubmatch(line)
	if m == nil {
		return "", nil, 0, false
	}
	v, err := strconv.ParseFloat(m[4], 64)
	if err != nil {
		return "", nil, 0, false
	}
	labels := map[string]string{}
	for _, kv := range strings.Split(m[3], ",") {
		if k, val, ok := strings.Cut(kv, "="); ok {
			labels[strings.TrimSpace(k)] = strings.Trim(val, `"`)
		}
	}
	return m[1], labels, v, true
}

// histQuantile is the q-quantile of cumulative buckets (le → count), by
// linear interpolation inside the bucket, as Prometheus does; 0 when empty.
func histQuantile(b map[float64]float64, q float64) float64 {
	les := make([]float64, 0, len(b))
	for le := range b {
		les = append(les, le)
	}
	sort.Float64s(les)
	if len(les) == 0 || b[les[len(les)-1]] <= 0 {
		return 0
	}
	rank := q * b[les[len(les)-1]]
	lo, prev := 0.0, 0.0
	for _, le := range les {
		if b[le] >= rank {
			if math.IsInf(le, 1) {
				return lo
			}
			if b[le] == prev {
				return le
			}
			return lo + (le-lo)*(rank-prev)/(b[le]-prev)
		}
		lo, prev = le, b[le]
	}
	return lo
}

// tables reads each table's metadata.json (its size, snapshots) and the
// data files per partition of its current snapshot.
func (s *Sampler) tables(ctx context.Context, sm *Sample) error {
	cat, closeCat, err := lake.OpenCatalog(ctx, lake.Config{DataDir: s.T.Data, CatalogURI: s.T.CatalogURI})
	if err != nil {
		return err
	}
	defer closeCat()
	var errs []string
	for _, name := range []string{lake.TableTransactions, lake.TableAlerts} {
		tbl, err := cat.LoadTable(ctx, lake.Ident(name))
		if err != nil {
			errs = append(errs, name+": "+err.Error())
			continue
		}
		ts := TableSample{Snapshots: len(tbl.Metadata().Snapshots())}
		if fi, err := os.Stat(strings.TrimPrefix(tbl.MetadataLocation(), "file://")); err == nil {
			ts.MetadataBytes = fi.Size()
		}
		if snap := tbl.CurrentSnapshot(); snap != nil {
			if snap.Summary != nil {
				ts.Rows, _ = strconv.ParseInt(snap.Summary.Properties["total-records"], 10, 64)
			}
			tasks, err := tbl.Scan().PlanFiles(ctx)
			if err != nil {
				errs = append(errs, name+" files: "+err.Error())
			}
			per := map[string]int{}
			for _, task := range tasks {
				per[partitionKey(task)]++
			}
			ts.DataFiles, ts.Partitions = len(tasks), len(per)
			for _, n := range per {
				ts.MaxFilesPerPartition = max(ts.MaxFilesPerPartition, n)
			}
		}
		sm.Tables[name] = ts
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func partitionKey(task table.FileScanTask) string {
	return fmt.Sprint(task.File.Partition())
}

// Query names, in report order.
var QueryNames = []string{"count", "group_by", "point_lookup", "day_scan", "as_of"}

// queries times the fixed query set through the Flight SQL server, each
// over one connection opened beforehand (the latency of the query, not of
// the connection).
func (s *Sampler) queries(ctx context.Context, sm *Sample, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cl, err := client.Open(ctx, client.Config{URI: s.T.FlightURI})
	if err != nil {
		return err
	}
	defer cl.Close()
	if s.lookupID == "" {
		_, rows, err := cl.TextRows(ctx, "SELECT transaction_id, \"timestamp\" FROM lake.transactions LIMIT 1")
		if err != nil || len(rows) == 0 {
			return fmt.Errorf("no transaction to look up yet (%v)", err)
		}
		s.lookupID = rows[0][0]
		s.dayStart = s.Plan.Start.Truncate(Day)
		if s.Plan.Mode == ModeReal {
			s.dayStart = now.UTC().Truncate(Day)
		}
	}
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") + "+00" }
	set := []struct{ name, sql string }{
		{"count", "SELECT count(*) FROM lake.transactions"},
		{"group_by", "SELECT status, count(*), sum(amount_usd) FROM lake.transactions GROUP BY status"},
		{"point_lookup", "SELECT * FROM lake.transactions WHERE transaction_id = '" + s.lookupID + "'"},
		{"day_scan", "SELECT merchant_category, count(*), sum(amount_usd) FROM lake.transactions WHERE \"timestamp\" >= TIMESTAMPTZ '" +
			day(s.dayStart) + "' AND \"timestamp\" < TIMESTAMPTZ '" + day(s.dayStart.Add(Day)) + "' GROUP BY 1"},
	}
	var errs []string
	for _, q := range set {
		t0 := time.Now()
		if _, _, err := cl.TextRows(ctx, q.sql); err != nil {
			errs = append(errs, q.name+": "+err.Error())
			continue
		}
		sm.QueryMS[q.name] = float64(time.Since(t0).Microseconds()) / 1000
	}
	// As of half a sample interval ago: a snapshot that retention keeps.
	// (From the second sample on: before it the table may have no snapshot yet.)
	asOf := now.Add(-s.Plan.Wall(s.Plan.SampleEvery) / 2)
	if !s.prev.at.IsZero() {
		acl, err := client.Open(ctx, client.Config{URI: s.T.FlightURI, AsOf: asOf.UTC().Format(time.RFC3339Nano)})
		if err == nil {
			t0 := time.Now()
			_, _, err = acl.TextRows(ctx, "SELECT count(*) FROM lake.transactions")
			if err == nil {
				sm.QueryMS["as_of"] = float64(time.Since(t0).Microseconds()) / 1000
			}
			acl.Close()
		}
		if err != nil {
			errs = append(errs, "as_of: "+err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// ---- /proc and jcmd ----

var heapRe = regexp.MustCompile(`(?m)^\s*(def new generation|tenured generation|garbage-first heap|PSYoungGen|ParOldGen|ZHeap|Shenandoah)\b.*?used (\d+)K`)

// liveHeap runs a full GC in the JVM (jcmd GC.run) and returns the heap in
// use after it (GC.heap_info): the live set, not what the collector has not
// yet reclaimed.
func liveHeap(ctx context.Context, pid int) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	p := strconv.Itoa(pid)
	if out, err := exec.CommandContext(ctx, "jcmd", p, "GC.run").CombinedOutput(); err != nil {
		return 0, fmt.Errorf("jcmd %s GC.run: %v: %s", p, err, bytes.TrimSpace(out))
	}
	out, err := exec.CommandContext(ctx, "jcmd", p, "GC.heap_info").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("jcmd %s GC.heap_info: %v: %s", p, err, bytes.TrimSpace(out))
	}
	return parseHeapInfo(string(out))
}

// parseHeapInfo sums the "used" of every heap generation jcmd GC.heap_info
// lists (Metaspace is not heap).
func parseHeapInfo(s string) (int64, error) {
	var kb int64
	ms := heapRe.FindAllStringSubmatch(s, -1)
	for _, m := range ms {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		kb += n
	}
	if len(ms) == 0 {
		return 0, fmt.Errorf("no heap generation in GC.heap_info output: %.200q", s)
	}
	return kb << 10, nil
}

// children maps a pid to its child pids (Linux /proc).
func children() map[int][]int {
	out := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		f := bytes.Fields(stat[i+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(string(f[1]))
		out[ppid] = append(out[ppid], pid)
	}
	return out
}

// Tree is pid and all its descendants (Linux /proc), parents first.
func Tree(pid int) []int { return tree(pid) }

func tree(pid int) []int {
	kids := children()
	all := []int{pid}
	for i := 0; i < len(all); i++ {
		all = append(all, kids[all[i]]...)
	}
	return all
}

// treeRSS is the resident memory of pid and its descendants (a wrapper
// such as `lakectl kafka run` and the JVM it starts).
func treeRSS(pid int) int64 {
	var n int64
	for _, p := range tree(pid) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "VmRSS:") {
				f := strings.Fields(line)
				if len(f) >= 2 {
					kb, _ := strconv.ParseInt(f[1], 10, 64)
					n += kb << 10
				}
			}
		}
	}
	return n
}

// JavaUnder is the java process at or under pid (Linux /proc), 0 if none:
// the JVM behind a wrapper such as `lakectl kafka run`.
func JavaUnder(pid int) int {
	if pid <= 0 {
		return 0
	}
	for _, p := range tree(pid) {
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p)); err == nil && strings.HasSuffix(exe, "/java") {
			return p
		}
	}
	return 0
}

// procWriteBytes is write_bytes of /proc/<pid>/io: bytes the process caused
// to be written to storage.
func procWriteBytes(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// duBytes is the disk a directory takes, as du counts it: allocated
// blocks, so Kafka's preallocated, sparse index files count for what they
// hold rather than their 10 MiB length.
func duBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				if st, ok := info.Sys().(*syscall.Stat_t); ok {
					n += st.Blocks * 512
				} else {
					n += info.Size()
				}
			}
		}
		return nil
	})
	return n
}
