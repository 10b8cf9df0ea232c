package ingest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/finlake/finlake/internal/testsupport"
	"github.com/finlake/finlake/lake"
)

// ingestProcess runs `lakectl ingest` as a child process.
type ingestProcess struct {
	cmd *exec.Cmd
	log *testsupport.SyncBuffer // read by the test while the child writes
}

// waitReady waits for the child's "ingest ready" log line.
func (p *ingestProcess) waitReady(t *testing.T) {
	t.Helper()
	waitFor(t, 90*time.Second, "lakectl ingest to be ready", func() bool {
		if p.cmd.ProcessState != nil {
			t.Fatalf("lakectl ingest exited: %s", tail(p.log.String(), 3000))
		}
		return strings.Contains(p.log.String(), "ingest ready")
	})
}

func startIngest(t *testing.T, bin string, tt testTopics, cfg lake.Config, extra ...string) *ingestProcess {
	t.Helper()
	args := append(testsupport.LakeArgs(cfg.DataDir, cfg.CatalogURI), "--log-format", "text", "ingest",
		"--brokers", strings.Join(tt.brokers, ","), "--transactions-topic", tt.transactions, "--alerts-topic", tt.alerts,
		"--group", "finlake-ingest-"+tt.transactions, "--http", "127.0.0.1:0",
		"--commit-interval", "300ms", "--commit-records", "700", "--runs-interval", "1s", "--maintain-interval", "0")
	args = append(args, extra...)
	cmd := exec.Command(bin, args...)
	log := &testsupport.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	p := &ingestProcess{cmd: cmd, log: log}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return p
}

func (p *ingestProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 ingest: %v", err)
	}
	_ = p.cmd.Wait()
}

func (p *ingestProcess) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ingest exited with %v; log:\n%s", err, tail(p.log.String(), 3000))
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatalf("ingest did not stop on SIGTERM within 30s; log:\n%s", tail(p.log.String(), 3000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func TestSIGKILLAtRandomMomentsKeepsExactlyOnce(t *testing.T) {
	bin := testsupport.LakectlBin(t)
	tt := newTopics(t)
	ctx := context.Background()
	p := newProducer(t, tt)
	dataDir := t.TempDir()
	cfg := lake.Config{DataDir: dataDir, CatalogURI: testsupport.CatalogURI(t)}

	produceDone := make(chan struct{})
	go func() {
		defer close(produceDone)
		for i := 0; i < 60; i++ {
			p.send(ctx, 250, true)
			time.Sleep(120 * time.Millisecond)
		}
	}()
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	t.Logf("kill schedule seed %d", seed)
	kills := 0
	// Retention at its most aggressive, in the service (so a kill may land
	// mid-expiry) and from `lakectl maintain` between the runs: expiry must
	// never take the resume point away.
	aggressive := []string{"--snapshot-keep-all", "300ms", "--snapshot-keep-every", "200ms", "--retain", "1s"}
	for kills < 5 {
		proc := startIngest(t, bin, tt, cfg, append([]string{"--maintain-interval", "700ms"}, aggressive...)...)
		// Random moments once consuming (a loaded machine may take seconds
		// to start the binary): mid-batch, mid-write, mid-commit.
		proc.waitReady(t)
		time.Sleep(time.Duration(50+rng.IntN(1500)) * time.Millisecond)
		proc.kill(t)
		kills++
		t.Logf("kill %d: %d transaction rows so far", kills, rowCount(t, cfg, lake.TableTransactions))
		out, err := exec.Command(bin, append(testsupport.LakeArgs(dataDir, cfg.CatalogURI), append([]string{"maintain", "--no-compact"}, aggressive...)...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("lakectl maintain between kills: %v\n%s", err, out)
		}
		t.Logf("lakectl maintain between kills: %s", strings.SplitN(string(out), "\n", 2)[0])
	}
	<-produceDone
	wantTx, wantAl := int(p.txSent.Load()), int(p.alSent.Load())
	proc := startIngest(t, bin, tt, cfg)
	waitFor(t, 120*time.Second, fmt.Sprintf("%d transactions and %d alerts", wantTx, wantAl), func() bool {
		return rowCount(t, cfg, lake.TableTransactions) >= int64(wantTx) &&
			rowCount(t, cfg, lake.TableAlerts) >= int64(wantAl)
	})
	time.Sleep(time.Second) // a duplicate would show up in the next commit
	proc.stop(t)

	// The kills left files of uncommitted batches: `lakectl maintain` removes
	// them (and compacts, and expires) without touching live data.
	out, err := exec.Command(bin, append(testsupport.LakeArgs(dataDir, cfg.CatalogURI), "maintain", "--snapshot-keep-all", "0s", "--retain", "0s", "--retain-last", "1",
		"--orphan-older-than", "0s")...).CombinedOutput()
	if err != nil {
		t.Fatalf("lakectl maintain: %v\n%s", err, out)
	}
	t.Logf("lakectl maintain: %s", out)

	tx := countTable(t, cfg, lake.TableTransactions, "transaction_id")
	al := countTable(t, cfg, lake.TableAlerts, "alert_id")
	if tx.rows != wantTx || tx.distinctKeys != wantTx || tx.distinctOffsets != wantTx {
		t.Errorf("transactions after %d kills: want %d rows/keys/offsets, got %+v", kills, wantTx, tx)
	}
	if al.rows != wantAl || al.distinctKeys != wantAl || al.distinctOffsets != wantAl {
		t.Errorf("alerts after %d kills: want %d rows/keys/offsets, got %+v", kills, wantAl, al)
	}
}

func TestMaintenanceBetweenRestartsKeepsCountsExact(t *testing.T) {
	tt := newTopics(t)
	ctx := context.Background()
	p := newProducer(t, tt)
	cfg := testConfig(t, tt, t.TempDir())
	cfg.CommitInterval = 100 * time.Millisecond

	_, stop := runService(t, cfg)
	for i := 0; i < 12; i++ {
		p.send(ctx, 100, true)
		time.Sleep(150 * time.Millisecond) // many small commits, many small files
	}
	first := int(p.txSent.Load())
	waitFor(t, 60*time.Second, "first rows", func() bool {
		return rowCount(t, cfg.Lake, lake.TableTransactions) >= int64(first)
	})
	stop()

	cat, closeFn, err := lake.OpenCatalog(ctx, cfg.Lake)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	opts := DefaultMaintainOptions()
	opts.Retention, opts.OrphanOlderThan = keepNewest(1), 0
	rep, err := Maintain(ctx, cat, lake.TableTransactions, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.FilesRewritten < 2 || rep.SnapshotsExpired < 1 {
		t.Fatalf("maintenance did too little to test anything: %+v", rep)
	}
	if _, err := Maintain(ctx, cat, lake.TableAlerts, opts); err != nil {
		t.Fatal(err)
	}

	p.send(ctx, 700, true)
	_, stop = runService(t, cfg)
	want := int(p.txSent.Load())
	waitFor(t, 60*time.Second, "all rows", func() bool { // alerts too: on a loaded machine they may trail
		return rowCount(t, cfg.Lake, lake.TableTransactions) >= int64(want) && rowCount(t, cfg.Lake, lake.TableAlerts) >= p.alSent.Load()
	})
	time.Sleep(500 * time.Millisecond)
	stop()
	c := countTable(t, cfg.Lake, lake.TableTransactions, "transaction_id")
	if c.rows != want || c.distinctKeys != want || c.distinctOffsets != want {
		t.Fatalf("after compaction+expiry and a restart: want %d rows/keys/offsets, got %+v (maintenance %+v)", want, c, rep)
	}
	a := countTable(t, cfg.Lake, lake.TableAlerts, "alert_id")
	if a.rows != int(p.alSent.Load()) || a.distinctKeys != a.rows {
		t.Fatalf("alerts: want %d, got %+v", p.alSent.Load(), a)
	}
}

func TestMaintenanceRacingIngestKeepsCountsExact(t *testing.T) {
	tt := newTopics(t)
	ctx := context.Background()
	p := newProducer(t, tt)
	cfg := testConfig(t, tt, t.TempDir())
	cfg.CommitInterval = 300 * time.Millisecond
	httpAddr, stop := runService(t, cfg)

	cat, closeFn, err := lake.OpenCatalog(ctx, cfg.Lake)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	produceDone := make(chan struct{})
	go func() {
		defer close(produceDone)
		for i := 0; i < 25; i++ {
			p.send(ctx, 120, true)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	// An external `lakectl maintain` hammering the table while ingest commits:
	// both sides lose races; compaction must never publish stale offsets and
	// ingest must never write a batch twice.
	opts := DefaultMaintainOptions()
	opts.SkipOrphans = true
	opts.Retention = keepNewest(3)
	var compactions, failures int
	deadline := time.Now().Add(90 * time.Second)
	for produced := false; !produced || compactions == 0; {
		select {
		case <-produceDone:
			produced = true
		default:
		}
		if time.Now().After(deadline) {
			break
		}
		rep, err := Maintain(ctx, cat, lake.TableTransactions, opts)
		if err != nil {
			failures++
		} else if rep.FilesRewritten > 0 {
			compactions++
		}
	}
	want := int(p.txSent.Load())
	waitFor(t, 60*time.Second, "all rows", func() bool {
		return rowCount(t, cfg.Lake, lake.TableTransactions) >= int64(want)
	})
	time.Sleep(500 * time.Millisecond)
	_, metrics := getText(t, "http://"+httpAddr+"/metrics")
	stop()
	t.Logf("compactions committed during ingest: %d, maintenance passes failed on races: %d", compactions, failures)
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, "finlake_ingest_commit_retries_total") || strings.HasPrefix(line, "finlake_ingest_batches_already") {
			t.Log(line)
		}
	}
	if compactions == 0 {
		t.Fatal("no compaction landed during ingest: the race was not exercised")
	}
	c := countTable(t, cfg.Lake, lake.TableTransactions, "transaction_id")
	if c.rows != want || c.distinctKeys != want || c.distinctOffsets != want {
		t.Fatalf("want %d rows/keys/offsets, got %+v", want, c)
	}
}
