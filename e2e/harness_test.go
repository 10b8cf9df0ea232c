//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go/table"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/e2e/soak"
	"github.com/finlake/finlake/internal/testsupport"
	"github.com/finlake/finlake/lake"
	"github.com/finlake/finlake/stack"
	"github.com/finlake/finlake/stack/supervisor"
)

// pipeline is one `lakectl stack up` in the foreground, on its own data dir
// and free ports, with the generator left out so each test drives its input.
type pipeline struct {
	t    *testing.T
	root string
	bin  string
	data string
	// catalog is the lake's --catalog-uri: "" (SQLite in data) unless
	// FINLAKE_TEST_CATALOG names PostgreSQL (testsupport.CatalogURI).
	catalog string
	rules   string // the stack's rules file, a copy the test may edit
	ports   stack.Ports
	cmd     *exec.Cmd
	exited  chan struct{}
}

func repoRoot(t *testing.T) string { return testsupport.ModuleRoot(t) }

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// startPipeline brings the stack up and registers its graceful stop; extra
// is appended to `stack up`'s arguments (e.g. --proc-arg for the soak).
func startPipeline(t *testing.T, extra ...string) *pipeline {
	t.Helper()
	root := repoRoot(t)
	bin := os.Getenv("FINLAKE_BIN")
	if bin == "" {
		bin = filepath.Join(root, "bin", "lakectl")
	}
	jar := os.Getenv("FINLAKE_FLINK_JAR")
	if jar == "" {
		jar = filepath.Join(root, "flinkjob", "target", "finlake-flinkjob.jar")
	}
	for _, f := range []string{bin, jar} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%s is missing: run `just test-e2e`, which builds bin/lakectl and the Flink jar", f)
		}
	}
	work := t.TempDir()
	p := &pipeline{t: t, root: root, bin: bin, data: filepath.Join(work, "data"), catalog: testsupport.CatalogURI(t), exited: make(chan struct{})}
	rulesDir := filepath.Join(work, "config")
	if err := os.MkdirAll(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(root, "config", "rules.yaml"), filepath.Join(rulesDir, "rules.yaml"))
	copyFile(t, filepath.Join(root, "config", "fx_rates.yaml"), filepath.Join(rulesDir, "fx_rates.yaml"))
	p.rules = filepath.Join(rulesDir, "rules.yaml")
	p.ports = stack.Ports{Kafka: testsupport.FreePort(t), Flink: testsupport.FreePort(t), Flight: testsupport.FreePort(t), Generator: testsupport.FreePort(t),
		Ingest: testsupport.FreePort(t), FlightHTTP: testsupport.FreePort(t)}

	out, err := os.Create(filepath.Join(work, "stack-up.out"))
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, append(testsupport.LakeArgs(p.data, p.catalog), "stack", "up", "--skip", "generator",
		"--kafka-port", strconv.Itoa(p.ports.Kafka), "--flink-port", strconv.Itoa(p.ports.Flink),
		"--flight-port", strconv.Itoa(p.ports.Flight), "--flight-http-port", strconv.Itoa(p.ports.FlightHTTP),
		"--ingest-port", strconv.Itoa(p.ports.Ingest), "--generator-port", strconv.Itoa(p.ports.Generator),
		"--rules", p.rules, "--flink-jar", jar)...)
	p.cmd.Args = append(p.cmd.Args, extra...)
	p.cmd.Dir = root
	p.cmd.Stdout, p.cmd.Stderr = out, out
	start := time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); out.Close(); close(p.exited) }()
	t.Cleanup(func() { p.stop(out.Name()) })

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	if _, err := stack.WaitPhase(ctx, p.data, p.exited, stack.PhaseUp); err != nil {
		p.dumpLogs()
		t.Fatalf("stack did not come up: %v", err)
	}
	t.Logf("stack up in %s (data %s)", time.Since(start).Round(time.Second), p.data)
	return p
}

// stop is `down`: SIGTERM to the foreground supervisor, which must finish
// within a minute.
func (p *pipeline) stop(outFile string) {
	select {
	case <-p.exited:
		return
	default:
	}
	start := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		p.t.Logf("stack stopped in %s", time.Since(start).Round(100*time.Millisecond))
	case <-time.After(75 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		p.t.Errorf("stack did not stop within 75s of SIGTERM")
	}
	if p.t.Failed() {
		p.dumpLogs()
		if b, err := os.ReadFile(outFile); err == nil {
			p.t.Logf("stack up output:\n%s", tail(b, 4000))
		}
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// dumpLogs prints the end of every process log, for a failed run.
func (p *pipeline) dumpLogs() {
	names, _ := stack.LogNames(p.data)
	for _, n := range names {
		b, err := os.ReadFile(stack.LogPath(p.data, n))
		if err == nil {
			p.t.Logf("---- %s.log (tail) ----\n%s", n, tail(b, 3000))
		}
	}
}

func (p *pipeline) brokers() string { return fmt.Sprintf("127.0.0.1:%d", p.ports.Kafka) }

func (p *pipeline) status(name string) supervisor.Status {
	st, err := stack.ReadState(p.data)
	if err != nil {
		p.t.Fatalf("read stack state: %v", err)
	}
	for _, s := range st.Processes {
		if s.Name == name {
			return s
		}
	}
	p.t.Fatalf("no process %q in the stack state", name)
	return supervisor.Status{}
}

// lakectl runs the binary with the stack's environment.
func (p *pipeline) lakectl(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, p.bin, args...)
	c.Dir = p.root
	c.Env = append(os.Environ(), "FINLAKE_DATA="+p.data, "FINLAKE_CATALOG_URI="+p.catalog, "FINLAKE_BROKERS="+p.brokers())
	return c
}

// startGenerator runs `lakectl generate ARGS...` in the background with its output in logPath. stop
// sends SIGINT and waits up to a minute for a clean exit; a failed or stuck generator fails the test.
func (p *pipeline) startGenerator(t *testing.T, logPath string, args ...string) (gen *exec.Cmd, stop func()) {
	t.Helper()
	gen = p.lakectl(context.Background(), append([]string{"generate"}, args...)...)
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	gen.Stdout, gen.Stderr = out, out
	if err := gen.Start(); err != nil {
		out.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- gen.Wait(); out.Close() }()
	return gen, func() {
		t.Helper()
		_ = gen.Process.Signal(syscall.SIGINT)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("generator exited with %v (see %s)", err, logPath)
			}
		case <-time.After(60 * time.Second):
			_ = gen.Process.Kill()
			t.Errorf("generator did not stop within 60s of SIGINT (see %s)", logPath)
		}
	}
}

// killAndAwaitRecovery SIGKILLs the named process (for a wrapper such as
// `lakectl kafka run`, the JVM under it) and returns how long the supervisor
// took to have it healthy again.
func (p *pipeline) killAndAwaitRecovery(name string) time.Duration {
	p.t.Helper()
	before := p.status(name)
	if before.PID == 0 || before.State != supervisor.Running {
		p.t.Fatalf("%s is %s (pid %d) before the fault", name, before.State, before.PID)
	}
	victim := before.PID
	if jvm := soak.JavaUnder(before.PID); jvm > 0 {
		victim = jvm
	}
	start := time.Now()
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		p.t.Fatalf("SIGKILL %s (pid %d): %v", name, victim, err)
	}
	deadline := start.Add(3 * time.Minute)
	for {
		st := p.status(name)
		if st.Restarts > before.Restarts && st.State == supervisor.Running && st.PID != before.PID {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			p.dumpLogs()
			p.t.Fatalf("%s not healthy again 3 min after SIGKILL: %+v", name, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---- Kafka ----

// drain reads topic from the beginning (read_committed) until no record
// arrives for idle, calling fn for each.
func drain(t *testing.T, brokers, topic string, idle time.Duration, fn func(*kgo.Record)) {
	t.Helper()
	drainWith(t, brokers, idle, fn, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
}

// drainWith reads (read_committed) what opts select until no record arrives
// for idle, calling fn for each.
func drainWith(t *testing.T, brokers string, idle time.Duration, fn func(*kgo.Record), opts ...kgo.Opt) {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers), kgo.FetchIsolationLevel(kgo.ReadCommitted())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), idle)
		fs := cl.PollFetches(ctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) { n++; fn(r) })
		if n == 0 {
			return
		}
	}
}

// follower consumes a topic (read_committed) in the background, noting when
// each record became visible. follow starts at the beginning, which leaves no
// race with records produced right after; followFrom starts at given offsets
// so that a busy topic's history does not delay what is measured. Records
// are kept in a slice, never a bounded channel, so the consumer never stalls.
type follower struct {
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	mu     sync.Mutex
	recs   []seen
}

type seen struct {
	rec *kgo.Record
	at  time.Time
}

func follow(t *testing.T, brokers, topic string) *follower {
	t.Helper()
	return startFollower(t, brokers, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
}

func followFrom(t *testing.T, brokers, topic string, from map[int32]int64) *follower {
	t.Helper()
	offs := map[int32]kgo.Offset{}
	for part, o := range from {
		offs[part] = kgo.NewOffset().At(o)
	}
	return startFollower(t, brokers, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offs}))
}

func startFollower(t *testing.T, brokers string, opts ...kgo.Opt) *follower {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(100 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &follower{cl: cl, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			now := time.Now()
			f.mu.Lock()
			fs.EachRecord(func(r *kgo.Record) { f.recs = append(f.recs, seen{r, now}) })
			f.mu.Unlock()
		}
	}()
	t.Cleanup(f.close)
	return f
}

func (f *follower) close() {
	f.once.Do(func() {
		f.cancel()
		<-f.done
		f.cl.Close()
	})
}

// take returns what arrived since the last take.
func (f *follower) take() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.recs
	f.recs = nil
	return out
}

func produce(t *testing.T, brokers, topic string, key, value []byte) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: key, Value: value}).FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

// ---- the lake, read with iceberg-go (independent of the Flight server) ----

// lake is the pipeline's lake, for reading it with iceberg-go.
func (p *pipeline) lake() lake.Config { return lake.Config{DataDir: p.data, CatalogURI: p.catalog} }

func loadTable(t *testing.T, lk lake.Config, name string) *table.Table {
	t.Helper()
	ctx := context.Background()
	cat, closeCat, err := lake.OpenCatalog(ctx, lk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeCat() })
	tbl, err := cat.LoadTable(ctx, lake.Ident(name))
	if err != nil {
		t.Fatalf("load lake.%s: %v", name, err)
	}
	return tbl
}

// scanStrings streams the named string columns of the table's current
// snapshot and calls fn per row.
func scanStrings(t *testing.T, tbl *table.Table, cols []string, fn func(vals []string)) {
	t.Helper()
	if tbl.CurrentSnapshot() == nil {
		return
	}
	_, it, err := tbl.Scan(table.WithSelectedFields(cols...)).ToArrowRecords(context.Background())
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	for rec, err := range it {
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		eachRow(rec, cols, fn)
		rec.Release()
	}
}

func eachRow(rec arrow.RecordBatch, cols []string, fn func(vals []string)) {
	arrs := make([]arrow.Array, len(cols))
	for i, c := range cols {
		idx := rec.Schema().FieldIndices(c)
		if len(idx) == 0 {
			panic("no column " + c)
		}
		arrs[i] = rec.Column(idx[0])
	}
	vals := make([]string, len(cols))
	for r := 0; r < int(rec.NumRows()); r++ {
		for i, a := range arrs {
			vals[i] = a.ValueStr(r)
		}
		fn(vals)
	}
}

// snapshotLatencies gives, for every row added by an append snapshot, the
// snapshot's commit time minus the generation time gen gives for the row's
// (transaction_id, status), in milliseconds.
func snapshotLatencies(t *testing.T, tbl *table.Table, gen map[string]int64) []float64 {
	t.Helper()
	return snapshotLatenciesFiltered(t, tbl, gen, func(table.Snapshot) bool { return true })
}

func snapshotLatenciesFiltered(t *testing.T, tbl *table.Table, gen map[string]int64, use func(table.Snapshot) bool) []float64 {
	t.Helper()
	ctx := context.Background()
	snaps := append([]table.Snapshot(nil), tbl.Metadata().Snapshots()...)
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].SequenceNumber < snaps[j].SequenceNumber })
	seenFiles := map[string]bool{}
	var out []float64
	for _, s := range snaps {
		tasks, err := tbl.Scan(table.WithSnapshotID(s.SnapshotID)).PlanFiles(ctx)
		if err != nil {
			t.Fatalf("plan files of snapshot %d: %v", s.SnapshotID, err)
		}
		isAppend := s.Summary != nil && s.Summary.Operation == table.OpAppend
		for _, task := range tasks {
			path := task.File.FilePath()
			if seenFiles[path] {
				continue
			}
			seenFiles[path] = true
			if !isAppend || !use(s) {
				continue // compaction rewrites rows that were stored earlier
			}
			readParquet(t, strings.TrimPrefix(path, "file://"), []string{"transaction_id", "status"}, func(v []string) {
				if g, ok := gen[v[0]+"/"+v[1]]; ok {
					out = append(out, float64(s.TimestampMs-g))
				}
			})
		}
	}
	return out
}

func readParquet(t *testing.T, path string, cols []string, fn func([]string)) {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 8192}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	for rr.Next() {
		eachRow(rr.RecordBatch(), cols, fn)
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
}

// ---- figures ----

func percentiles(ms []float64) string {
	if len(ms) == 0 {
		return "no samples"
	}
	s := append([]float64(nil), ms...)
	sort.Float64s(s)
	q := func(p float64) float64 { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return fmt.Sprintf("n=%d p50=%.0fms p95=%.0fms p99=%.0fms max=%.0fms", len(s), q(0.50), q(0.95), q(0.99), s[len(s)-1])
}

// readLines reads a JSON-lines file as raw lines.
func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("parse %q: %v", tail(b, 300), err)
	}
}

// TestMain stops the PostgreSQL cluster a FINLAKE_TEST_CATALOG=postgres run started.
func TestMain(m *testing.M) { testsupport.Main(m) }
