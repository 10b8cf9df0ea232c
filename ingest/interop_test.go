package ingest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/finlake/finlake/internal/testsupport"
	"github.com/finlake/finlake/lake"
)

func TestPyIcebergReadsTheSameTables(t *testing.T) {
	root := testsupport.ModuleRoot(t)
	python := filepath.Join(root, ".venv", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		t.Skipf("no Python venv at %s (python -m venv .venv && .venv/bin/pip install -r e2e/python/requirements.txt): %v", python, err)
	}
	tt := newTopics(t)
	ctx := context.Background()
	p := newProducer(t, tt)
	dataDir := t.TempDir()
	cfg := testConfig(t, tt, dataDir)
	cfg.CommitInterval = 150 * time.Millisecond
	_, stop := runService(t, cfg)
	for i := 0; i < 8; i++ {
		p.send(ctx, 150, true)
		time.Sleep(200 * time.Millisecond)
	}
	wantTx, wantAl := int(p.txSent.Load()), int(p.alSent.Load())
	waitFor(t, 60*time.Second, "all rows", func() bool {
		return rowCount(t, cfg.Lake, lake.TableTransactions) >= int64(wantTx) &&
			rowCount(t, cfg.Lake, lake.TableAlerts) >= int64(wantAl)
	})
	time.Sleep(1500 * time.Millisecond)
	stop()

	// Compacted, so PyIceberg also reads a replace snapshot and its offsets.
	cat, closeFn, err := lake.OpenCatalog(ctx, cfg.Lake)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	opts := DefaultMaintainOptions()
	opts.SkipOrphans = true
	offsets := map[string]map[string]string{}
	for _, name := range []string{lake.TableTransactions, lake.TableAlerts} {
		if _, err := Maintain(ctx, cat, name, opts); err != nil {
			t.Fatal(err)
		}
		tbl, err := cat.LoadTable(ctx, lake.Ident(name))
		if err != nil {
			t.Fatal(err)
		}
		offsets[name] = lake.CarriedOffsetProperties(tbl)
		if len(offsets[name]) == 0 {
			t.Fatalf("%s: no offsets on the current snapshot", name)
		}
	}
	expect, _ := json.Marshal(map[string]any{
		"transactions": wantTx, "alerts": wantAl, "pipeline_runs_min": 1, "offsets": offsets,
	})
	cmd := exec.Command(python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
		filepath.Join(root, "e2e", "python", "test_pyiceberg_interop.py"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "FINLAKE_INTEROP_DATA="+dataDir, "FINLAKE_INTEROP_CATALOG_URI="+cfg.Lake.CatalogURI, "FINLAKE_INTEROP_EXPECT="+string(expect))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("PyIceberg interop tests failed: %v\n%s", err, out)
	}
	t.Logf("pytest: %s", lastLine(string(out)))
}

func lastLine(s string) string {
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			return s[i+1:]
		}
	}
	return s
}
