//go:build duckdb_arrow

package ingest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/finlake/finlake/internal/testsupport"
	"github.com/finlake/finlake/lake"
)

// TestSparkReadsTheLakeAsTheFlightServerAnswers runs
// e2e/python/test_spark_interop.py: PySpark with Iceberg's Spark runtime and
// its JdbcCatalog on finlake's own catalog (SQLite, or PostgreSQL under
// FINLAKE_TEST_CATALOG=postgres), every answer held against `lakectl serve`
// over the same lake. The lake is written by ingest's append path in several
// commits over three days, evolved by `lakectl evolve add-column` through the
// server, appended to with the new column, and expired by `lakectl maintain`
// keeping one snapshot per 2 s interval (by tags, as the hourly retention
// does), so the snapshot log Spark's timestamp travel reads no longer reaches
// the oldest kept snapshot; then two more commits. 200 rows carry risk_score.
func TestSparkReadsTheLakeAsTheFlightServerAnswers(t *testing.T) {
	bin := testsupport.LakectlBin(t)
	testsupport.VenvPython(t) // skip before building a lake no Python can read
	ctx := context.Background()
	cfg := lake.Config{DataDir: t.TempDir(), CatalogURI: testsupport.CatalogURI(t)}
	load := func(n int, extra string, commits int) {
		t.Helper()
		dir := t.TempDir()
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.Write(enrichedTx(uuid.NewString(), i, extra))
			b.WriteByte('\n')
		}
		if err := os.WriteFile(filepath.Join(dir, "transactions-processed.jsonl"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "alerts.jsonl"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadReplay(ctx, ReplayOptions{Lake: cfg, Dir: dir, Commits: commits, Version: "spark-test"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // distinct commit milliseconds for timestamp travel
	}
	// Three rounds of commits in three 2 s retention intervals.
	const every = 2 * time.Second
	pause := func() { time.Sleep(every + 100*time.Millisecond) }
	load(600, "", 4)
	pause()

	flight := startServe(t, bin, cfg)
	env := append(os.Environ(), "FINLAKE_FLIGHT=grpc://"+flight, "FINLAKE_TOKEN=")
	evolve := exec.Command(bin, "evolve", "add-column", "transactions", "risk_score", "double", "--comment", "model score")
	evolve.Env = env
	if out, err := evolve.CombinedOutput(); err != nil {
		t.Fatalf("lakectl evolve add-column: %v\n%s", err, out)
	}
	load(100, `,"risk_score":0.25`, 2)
	pause()
	load(50, `,"risk_score":0.25`, 2)
	maintain := exec.Command(bin, append(testsupport.LakeArgs(cfg.DataDir, cfg.CatalogURI), "maintain", "--no-compact",
		"--snapshot-keep-all", "0s", "--snapshot-keep-every", every.String(), "--retain", "1h", "--retain-last", "1")...)
	if out, err := maintain.CombinedOutput(); err != nil {
		t.Fatalf("lakectl maintain: %v\n%s", err, out)
	}
	// Commits after the expiry: the part of history the snapshot log still covers.
	load(50, `,"risk_score":0.25`, 2)

	testsupport.Pytest(t, "test_spark_interop.py", "FINLAKE_FLIGHT=grpc://"+flight, "FINLAKE_TOKEN=",
		"FINLAKE_INTEROP_DATA="+cfg.DataDir, "FINLAKE_INTEROP_CATALOG_URI="+cfg.CatalogURI, "FINLAKE_BIN="+bin)
}

// startServe runs `lakectl serve` over cfg until the test ends; it returns
// the Flight SQL address.
func startServe(t *testing.T, bin string, cfg lake.Config) string {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "ready")
	cmd := exec.Command(bin, append(testsupport.LakeArgs(cfg.DataDir, cfg.CatalogURI), "--log-format", "text", "serve",
		"--listen", "127.0.0.1:0", "--http", "off", "--ready-file", ready, "--threads", "2", "--memory-limit", "512MB")...)
	log := &testsupport.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var addr string
	waitFor(t, 60*time.Second, "lakectl serve ready", func() bool {
		b, err := os.ReadFile(ready)
		addr = strings.TrimSpace(string(b))
		return err == nil && addr != ""
	})
	return addr
}
