package kafkalocal_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/internal/testsupport"
	"github.com/finlake/finlake/stack/kafkalocal"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("KAFKALOCAL_TEST_ORPHAN_DIR"); dir != "" {
		orphanParent(dir)
		return
	}
	testsupport.Main(m)
}

// createTopic makes a one-partition topic, so the log order is total.
func createTopic(t *testing.T, bootstrap, name string) {
	t.Helper()
	testsupport.CreateTopics(t, []string{bootstrap}, 1, nil, name)
}

// consumeUntil reads topic from the start with the given isolation until
// stop returns true for a record or the deadline passes; it returns the
// values in log order.
func consumeUntil(t *testing.T, bootstrap, topic string, iso kgo.IsolationLevel, stop func(*kgo.Record) bool) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(iso))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got []string
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consume %s: no stop record within the deadline; got %d records: %v", topic, len(got), got)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			t.Fatalf("consume %s: %v", topic, errs)
		}
		done := false
		fs.EachRecord(func(r *kgo.Record) {
			if done {
				return
			}
			got = append(got, string(r.Value))
			done = stop(r)
		})
		if done {
			return got
		}
	}
}

func TestTransactionalProduceIsReadCommittedOnOneBroker(t *testing.T) {
	b := kafkalocal.SharedT(t)
	topic := "eos-" + fmt.Sprint(time.Now().UnixNano())
	createTopic(t, b.Bootstrap(), topic)

	p, err := kgo.NewClient(kgo.SeedBrokers(b.Bootstrap()), kgo.DefaultProduceTopic(topic),
		kgo.TransactionalID("kafkalocal-test-"+topic))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	txn := func(commit kgo.TransactionEndTry, values ...string) {
		t.Helper()
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			if err := p.ProduceSync(ctx, kgo.StringRecord(v)).FirstErr(); err != nil {
				t.Fatalf("produce %s: %v\n%s", v, err, b.LogTail(3000))
			}
		}
		if err := p.EndTransaction(ctx, commit); err != nil {
			t.Fatalf("end transaction: %v\n%s", err, b.LogTail(3000))
		}
	}
	txn(kgo.TryCommit, "c1", "c2", "c3")
	txn(kgo.TryAbort, "a1", "a2")
	txn(kgo.TryCommit, "c4", "end")

	got := consumeUntil(t, b.Bootstrap(), topic, kgo.ReadCommitted(), func(r *kgo.Record) bool { return string(r.Value) == "end" })
	want := []string{"c1", "c2", "c3", "c4", "end"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("read_committed saw %v, want %v (aborted records must be invisible)", got, want)
	}
}

func TestKillThenRestartKeepsAcknowledgedRecords(t *testing.T) {
	t0 := time.Now()
	b := kafkalocal.StartT(t)
	t.Logf("broker with topics up in %s", time.Since(t0).Round(time.Millisecond))
	const n = 200
	p, err := kgo.NewClient(kgo.SeedBrokers(b.Bootstrap()), kgo.DefaultProduceTopic(contract.RawTransactions))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range n {
		p.Produce(ctx, kgo.StringRecord(fmt.Sprintf("r%03d", i)), func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	p.Close()
	oldPid, cluster, addr := b.Pid(), b.ClusterID(), b.Bootstrap()

	if err := b.Kill(); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	if err := b.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted after SIGKILL in %s", time.Since(t1).Round(time.Millisecond))
	if b.Pid() == oldPid || b.ClusterID() != cluster || b.Bootstrap() != addr {
		t.Fatalf("restart: pid %d->%d, cluster %s->%s, addr %s->%s; want a new process on the same cluster and address",
			oldPid, b.Pid(), cluster, b.ClusterID(), addr, b.Bootstrap())
	}
	seen := map[string]bool{}
	consumeUntil(t, b.Bootstrap(), contract.RawTransactions, kgo.ReadUncommitted(), func(r *kgo.Record) bool {
		seen[string(r.Value)] = true
		return len(seen) == n
	})
	for i := range n {
		if v := fmt.Sprintf("r%03d", i); !seen[v] {
			t.Fatalf("record %s lost across kill and restart", v)
		}
	}
}

func TestProducerPerfTestRunsKafkasOwnBenchmark(t *testing.T) {
	b := kafkalocal.SharedT(t)
	topic := "perf-" + fmt.Sprint(time.Now().UnixNano())
	createTopic(t, b.Bootstrap(), topic)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const n = 20000
	rps, raw, err := kafkalocal.ProducerPerfTest(ctx, b.Classpath(), b.Bootstrap(), topic, n, 200)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kafka-producer-perf-test: %.0f records/s\n%s", rps, raw)
	sum, err := kafkalocal.ParsePerfSummary(raw)
	if err != nil || sum.RecordsPerSec != rps || sum.Records != n {
		t.Fatalf("ParsePerfSummary: %+v, %v; want %d records at %.0f/s", sum, err, n, rps)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Bootstrap()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	if total != n || rps <= 0 {
		t.Fatalf("perf test reported %.0f records/s and the topic holds %d records, want %d", rps, total, n)
	}
}

func TestStartOnATakenPortFailsWithTheBrokerLog(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err = kafkalocal.Start(ctx, kafkalocal.Options{Dir: t.TempDir(), QuickStart: true,
		ControllerPort: l.Addr().(*net.TCPAddr).Port})
	if err == nil || !strings.Contains(err.Error(), "Address already in use") {
		t.Fatalf("Start on a taken port returned %v, want an error quoting the broker log", err)
	}
}

// The race is in our lock-and-rename, not in Maven: a stand-in mvn on PATH
// counts its runs and copies the real jars, slowly enough that the two
// callers overlap.
func TestEnsureJarsConcurrentCallersFetchOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := kafkalocal.EnsureJars(ctx, ""); err != nil {
		t.Fatal(err)
	}
	bin, runs := t.TempDir(), filepath.Join(t.TempDir(), "runs")
	script := `#!/bin/sh
echo run >> "$FAKE_MVN_RUNS"
for a in "$@"; do case "$a" in -DoutputDirectory=*) out="${a#-DoutputDirectory=}";; esac; done
sleep 1
cp "$FAKE_MVN_JARS"/*.jar "$out"/
`
	if err := os.WriteFile(filepath.Join(bin, "mvn"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKE_MVN_RUNS", runs)
	t.Setenv("FAKE_MVN_JARS", kafkalocal.LibsDir(""))

	cache := t.TempDir()
	type res struct {
		cp  string
		err error
	}
	results := make(chan res, 2)
	for range 2 {
		go func() {
			cp, err := kafkalocal.EnsureJars(ctx, cache)
			results <- res{cp, err}
		}()
	}
	a, b := <-results, <-results
	c, errC := kafkalocal.EnsureJars(ctx, cache)
	ran, _ := os.ReadFile(runs)
	leftovers, _ := filepath.Glob(filepath.Join(cache, "kafka-*", "libs.tmp-*"))
	if a.err != nil || b.err != nil || errC != nil || a.cp != b.cp || c != a.cp || strings.Count(string(ran), "run") != 1 ||
		!strings.Contains(a.cp, "kafka_2.13-"+kafkalocal.KafkaVersion+".jar") || len(leftovers) > 0 {
		t.Fatalf("errors %v / %v / %v; same classpath %v %v; mvn ran %d times (want 1); temp dirs left %v",
			a.err, b.err, errC, a.cp == b.cp, c == a.cp, strings.Count(string(ran), "run"), leftovers)
	}
}

// orphanParent is the child process of TestBrokerDiesWithItsParent: it
// starts a broker, reports the JVM's pid and waits to be killed.
func orphanParent(dir string) {
	b, err := kafkalocal.Start(context.Background(), kafkalocal.Options{Dir: dir, QuickStart: true})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	fmt.Println("PID", b.Pid())
	select {}
}

// alive tells whether pid runs (a zombie awaiting its reaper is dead).
func alive(pid int) bool {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func TestBrokerDiesWithItsParent(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig is Linux-only")
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "KAFKALOCAL_TEST_ORPHAN_DIR="+t.TempDir())
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var pid int
	if _, scanErr := fmt.Sscanf(line, "PID %d", &pid); err != nil || scanErr != nil || pid <= 0 {
		t.Fatalf("child did not report a broker pid: %q, %v", line, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })

	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if alive(pid) {
		t.Fatalf("broker JVM %d still runs 30 s after its parent was SIGKILLed", pid)
	}
}

func TestEnsureJarsWithoutMavenSaysHowToInstallIt(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := kafkalocal.EnsureJars(context.Background(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "apt-get install maven") || !strings.Contains(err.Error(), "brew install maven") {
		t.Fatalf("EnsureJars without mvn on PATH returned %v, want an error saying how to install Maven", err)
	}
}
