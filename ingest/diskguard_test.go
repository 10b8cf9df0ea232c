package ingest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/finlake/finlake/lake"
)

// mountTmpfs mounts a small real filesystem so the disk guard sees genuine
// fullness; CI runs as root.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a tmpfs for the disk guard test (needs root or CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fillTo writes a file of real (allocated) bytes until the filesystem of dir
// is pct percent used.
func fillTo(t *testing.T, dir, name string, pct float64) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	total := float64(st.Blocks) * float64(st.Bsize)
	used := float64(st.Blocks-st.Bfree) * float64(st.Bsize)
	need := int64(pct/100*total - used)
	if need <= 0 {
		return
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for i := range buf {
		buf[i] = byte(i)
	}
	for need > 0 {
		n := min(int64(len(buf)), need)
		if _, err := f.Write(buf[:n]); err != nil {
			t.Fatalf("fill %s: %v", name, err)
		}
		need -= n
	}
}

func diskState(t *testing.T, httpAddr string) string {
	st := getJSON(t, "http://"+httpAddr+"/status")
	d, _ := st["disk"].(map[string]any)
	s, _ := d["state"].(string)
	return s
}

func TestDiskGuardWarnsStopsWithoutLossAndResumes(t *testing.T) {
	mnt := mountTmpfs(t, "32m")
	tt := newTopics(t)
	ctx := context.Background()
	p := newProducer(t, tt)
	cfg := testConfig(t, tt, filepath.Join(mnt, "data"))
	cfg.DiskCheckEvery = 100 * time.Millisecond
	cfg.DiskWarnPercent, cfg.DiskStopPercent = 80, 95
	httpAddr, stop := runService(t, cfg)

	p.send(ctx, 500, true)
	waitFor(t, 60*time.Second, "500 rows", func() bool {
		return rowCount(t, cfg.Lake, lake.TableTransactions) >= 500
	})

	fillTo(t, mnt, "filler-warn", 85)
	waitFor(t, 10*time.Second, "disk warning", func() bool { return diskState(t, httpAddr) == "warning" })
	if _, m := getText(t, "http://"+httpAddr+"/metrics"); !strings.Contains(m, "finlake_ingest_disk_state 1") {
		t.Error("/metrics should show finlake_ingest_disk_state 1 at the warning threshold")
	}
	p.send(ctx, 100, true)
	waitFor(t, 30*time.Second, "ingest going on under a warning", func() bool {
		return rowCount(t, cfg.Lake, lake.TableTransactions) >= 600
	})

	fillTo(t, mnt, "filler-stop", 97)
	waitFor(t, 10*time.Second, "disk critical", func() bool { return diskState(t, httpAddr) == "critical" })
	// Readiness is re-evaluated on its own tick (200 ms), so it follows the
	// guard's state shortly after /status does.
	waitFor(t, 5*time.Second, "/readyz 503 naming the disk", func() bool {
		code, body := getText(t, "http://"+httpAddr+"/readyz")
		return code == 503 && strings.Contains(body, "disk")
	})
	cat, closeFn, err := lake.OpenCatalog(ctx, cfg.Lake)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	offsetsNow := func() string {
		tbl, err := cat.LoadTable(ctx, lake.Ident(lake.TableTransactions))
		if err != nil {
			t.Fatal(err)
		}
		o, _, err := lake.LatestOffsets(tbl, tt.transactions)
		if err != nil {
			t.Fatal(err)
		}
		return o.Encode()
	}
	before, rowsBefore := offsetsNow(), rowCount(t, cfg.Lake, lake.TableTransactions)
	p.send(ctx, 400, true)
	time.Sleep(3 * time.Second)
	if after := offsetsNow(); after != before {
		t.Fatalf("offsets advanced while the disk was full: %s → %s", before, after)
	}
	if n := rowCount(t, cfg.Lake, lake.TableTransactions); n != rowsBefore {
		t.Fatalf("rows committed while the disk was full: %d → %d", rowsBefore, n)
	}
	st := getJSON(t, "http://"+httpAddr+"/status")
	txSt := st["tables"].(map[string]any)[lake.TableTransactions].(map[string]any)
	if txSt["state"] != "paused" || !strings.Contains(fmt.Sprint(txSt["error"]), "free space") {
		t.Errorf("/status should show the writer paused with a clear error, got state=%v error=%v", txSt["state"], txSt["error"])
	}

	for _, f := range []string{"filler-warn", "filler-stop"} {
		if err := os.Remove(filepath.Join(mnt, f)); err != nil {
			t.Fatal(err)
		}
	}
	want := int(p.txSent.Load())
	waitFor(t, 60*time.Second, "ingest resuming after space returned", func() bool {
		return rowCount(t, cfg.Lake, lake.TableTransactions) >= int64(want)
	})
	time.Sleep(500 * time.Millisecond)
	stop()
	c := countTable(t, cfg.Lake, lake.TableTransactions, "transaction_id")
	if c.rows != want || c.distinctKeys != want {
		t.Fatalf("after the disk filled and emptied: want %d rows and keys, got %+v", want, c)
	}
}
