//go:build duckdb_arrow

package flight_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-adbc/go/adbc"
	"github.com/apache/iceberg-go"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/flight"
	"github.com/finlake/finlake/lake"
)

func TestHostileQueriesAreRefusedAndTheServerKeepsAnswering(t *testing.T) {
	l, wh := newLakeWithFiveTransactions(t)
	if err := os.Symlink("/etc", filepath.Join(wh, "escape")); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(filepath.Dir(wh), "secret.csv") // next to the warehouse, outside it
	if err := os.WriteFile(secret, []byte("k,v\npassword,hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)
	out := filepath.Join(wh, "pwned.csv")

	corpus := []string{
		"SELECT * FROM read_csv('/etc/passwd')",
		"SELECT * FROM read_text('/etc/passwd')",
		"SELECT * FROM read_blob('/proc/self/environ')",
		"SELECT * FROM read_csv('" + filepath.Join(wh, "escape", "passwd") + "')",
		"SELECT * FROM read_csv('" + wh + "/../secret.csv')",
		"SELECT * FROM read_csv('" + secret + "')",
		"SELECT * FROM glob('/etc/*')",
		"SELECT * FROM read_json('http://127.0.0.1:1/x.json')",
		"SELECT * FROM query('SELECT * FROM read_csv(''/etc/passwd'')')",
		"SELECT * FROM query('COPY (SELECT 1) TO ''" + out + "''')",
		"COPY (SELECT 1) TO '" + out + "'",
		"COPY lake.transactions TO '" + out + "'",
		"EXPLAIN ANALYZE COPY (SELECT 1) TO '" + out + "'",
		"EXPLAIN (FORMAT json) SELECT 1",
		"  /* hi */ copy (select 1) to '" + out + "'",
		"EXPORT DATABASE '" + filepath.Join(wh, "export") + "'",
		"ATTACH '" + filepath.Join(wh, "x.db") + "' AS x",
		"ATTACH ':memory:' AS m",
		"INSTALL httpfs",
		"LOAD httpfs",
		"FORCE INSTALL httpfs",
		"PRAGMA enable_profiling",
		"PRAGMA version",
		"SET enable_external_access = true",
		"SET allowed_directories = ['/']",
		"RESET lock_configuration",
		"SELECT 1; COPY (SELECT 1) TO '" + out + "'",
		"SELECT 1; SELECT 2",
		"CREATE TABLE t AS SELECT 1",
		"CREATE TEMP MACRO m() AS 1",
		"INSERT INTO lake.transactions SELECT * FROM lake.transactions",
		"DELETE FROM lake.transactions",
		"DROP TABLE lake.transactions",
		"UPDATE lake.transactions SET amount = 0",
		"CALL pragma_version()",
		"CHECKPOINT",
		"ALTER TABLE lake.transactions DROP COLUMN amount",
		"ALTER TABLE lake.transactions RENAME TO x",
		"WITH x AS (SELECT 1) INSERT INTO lake.transactions SELECT * FROM x",
		"PIVOT lake.transactions ON currency USING sum(amount)",
		"DESCRIBE COPY (SELECT 1) TO '" + out + "'",
		"SELECT 'unterminated",
		"SELECT * FROM read_text('" + contract.DataDir{Root: filepath.Dir(wh)}.Catalog() + "')",
		"SELECT * FROM parquet_metadata('/etc/passwd')",
		"SELECT * FROM read_csv('file:///etc/passwd')",
		"SELECT 1\x00; COPY (SELECT 1) TO '" + out + "'",
		"SET VARIABLE x = 1",
		"SELECT * FROM lake.transactions FOR VERSION AS OF 99999999999999999999",
		"SELECT * FROM lake.transactions FOR VERSION AS OF 42",
		"SELECT * FROM lake.nope",
		" ; ",
	}
	for _, sql := range corpus {
		rows, _, err := c.query(sql)
		if err == nil {
			t.Errorf("%q was accepted: %v", sql, rows)
		} else {
			switch adbcStatus(err) {
			case adbc.StatusUnauthorized, adbc.StatusInvalidArgument, adbc.StatusNotFound:
			default:
				t.Errorf("%q: want a refusal (PermissionDenied, InvalidArgument or NotFound), got %v", sql, err)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "root:x:0:0") {
				t.Errorf("%q leaked file contents in its error: %v", sql, err)
			}
		}
		if got := c.one("SELECT count(*) FROM transactions"); got != "5" {
			t.Fatalf("after %q the server answers %s", sql, got)
		}
	}
	for _, p := range []string{out, filepath.Join(wh, "export"), filepath.Join(wh, "x.db")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was written", p)
		}
	}
	// Updates through the update path are refused too.
	if err := c.exec("DELETE FROM lake.transactions"); adbcStatus(err) != adbc.StatusUnauthorized {
		t.Errorf("DELETE via ExecuteUpdate: %v", err)
	}
}

func TestEndlessQueryIsStoppedByTheTimeout(t *testing.T) {
	l := newTestLake(t)
	r := startServer(t, l, func(c *flight.Config) { c.QueryTimeout = 2 * time.Second })
	c := dial(t, r.Addr(), nil)
	start := time.Now()
	_, _, err := c.query("SELECT count(*) FROM range(1000000000) a, range(1000000000) b WHERE a.range + b.range = -1")
	if adbcStatus(err) != adbc.StatusTimeout || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("endless query: %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("stopped only after %s", d)
	}
	if got := c.one("SELECT 42"); got != "42" {
		t.Fatalf("server after timeout: %s", got)
	}
}

func TestResultLimitsGiveResourceExhausted(t *testing.T) {
	l := newTestLake(t)
	r := startServer(t, l, func(c *flight.Config) { c.MaxResultRows = 100000; c.MaxResultBytes = 64 << 20 })
	c := dial(t, r.Addr(), nil)
	if _, _, err := c.query("SELECT * FROM range(1000000)"); adbcStatus(err) != adbc.StatusInternal && !strings.Contains(fmt.Sprint(err), "max-result-rows") {
		t.Fatalf("too many rows: %v", err)
	}
	if _, _, err := c.query("SELECT repeat('x', 1000) AS s FROM range(90000)"); !strings.Contains(fmt.Sprint(err), "max-result-bytes") {
		t.Fatalf("too many bytes: %v", err)
	}
	if got := c.one("SELECT count(*) FROM range(1000000)"); got != "1000000" {
		t.Fatalf("aggregate under the limits: %s", got)
	}
}

func TestSixteenClientsAtOnce(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	l.appendRows(t, "transactions", makeRows("a", 200, day1))
	r := startServer(t, l, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 16*10)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := dial(t, r.Addr(), nil)
			for j := 0; j < 10; j++ {
				acct := fmt.Sprintf("AC%04d", (i+j)%7)
				rows, _, err := c.query("SELECT count(*) FROM lake.transactions WHERE account_id = $1", acct)
				if err != nil {
					errs <- err
					return
				}
				want := 0
				for _, r := range makeRows("a", 200, day1) {
					if r.Account == acct {
						want++
					}
				}
				if rows[0][0] != fmt.Sprint(want) {
					errs <- fmt.Errorf("client %d: %s has %s rows, want %d", i, acct, rows[0][0], want)
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestPositionalDeletesAreApplied(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	before := l.appendRows(t, "transactions", makeRows("a", 20, day1)).CurrentSnapshot()
	ctx := context.Background()
	tbl, err := l.cat.LoadTable(ctx, lake.Ident("transactions"))
	if err != nil {
		t.Fatal(err)
	}
	// A merge-on-read delete writes a positional delete file instead of rewriting data.
	tx := tbl.NewTransaction()
	if err := tx.SetProperties(map[string]string{"write.delete.mode": "merge-on-read"}); err != nil {
		t.Fatal(err)
	}
	if tbl, err = tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if tbl, err = tbl.Delete(ctx, iceberg.NewOr(iceberg.EqualTo(iceberg.Reference("transaction_id"), "a-0003"),
		iceberg.EqualTo(iceberg.Reference("transaction_id"), "a-0017")), nil); err != nil {
		t.Fatal(err)
	}
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deleteFiles := 0
	for _, task := range tasks {
		deleteFiles += len(task.DeleteFiles)
	}
	if deleteFiles == 0 {
		t.Fatal("the delete wrote no positional delete file: this test would not test anything")
	}
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)
	if got := c.one("SELECT count(*) FROM transactions"); got != "18" {
		t.Fatalf("after deleting 2 of 20 rows: %s", got)
	}
	if got := c.one("SELECT count(*) FROM transactions WHERE transaction_id IN ('a-0003', 'a-0017')"); got != "0" {
		t.Fatalf("deleted rows still read: %s", got)
	}
	if got := c.one("SELECT count(DISTINCT transaction_id) FROM transactions WHERE transaction_id IN ('a-0002', 'a-0004', 'a-0016', 'a-0018')"); got != "4" {
		t.Fatalf("neighbours of deleted rows: %s", got)
	}
	if got := c.one(fmt.Sprintf("SELECT count(*) FROM transactions FOR VERSION AS OF %d", before.SnapshotID)); got != "20" {
		t.Fatalf("before the delete: %s", got)
	}
}

func TestMetricsAndStatusEndpoints(t *testing.T) {
	l := newTestLake(t)
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)
	c.mustQuery("SELECT * FROM range(10)")
	c.query("COPY (SELECT 1) TO '/tmp/x'")
	get := func(path string) string {
		resp, err := http.Get("http://" + r.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	m := get("/metrics")
	for _, want := range []string{`finlake_flight_queries_total{kind="query",outcome="ok"}`, `finlake_flight_errors_total{code="PermissionDenied"} 1`,
		"finlake_flight_bytes_sent_total", "finlake_flight_query_duration_seconds_bucket"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if s := get("/status"); !strings.Contains(s, `"queries": 1`) {
		t.Errorf("/status: %s", s)
	}
	get("/readyz")
	get("/healthz")
}

func TestDataFileSymlinkedOutOfTheWarehouseIsNotRead(t *testing.T) {
	l := newTestLake(t)
	tbl := l.createTx(t, "victim")
	tbl = l.appendRows(t, "victim", makeRows("a", 3, day1))
	tasks, err := tbl.Scan().PlanFiles(context.Background())
	if err != nil || len(tasks) == 0 {
		t.Fatalf("plan: %v", err)
	}
	path := strings.TrimPrefix(tasks[0].File.FilePath(), "file://")
	secret := filepath.Join(t.TempDir(), "secret.parquet")
	data, err := os.ReadFile(path) // a valid Parquet file, so only the sandbox can stop the read
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secret, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, path); err != nil {
		t.Fatal(err)
	}
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)
	_, _, err = c.query("SELECT * FROM lake.victim")
	if adbcStatus(err) != adbc.StatusUnauthorized || !strings.Contains(err.Error(), "Permission") {
		t.Fatalf("data file symlinked outside the warehouse: %v", err)
	}
	if got := c.one("SELECT 1"); got != "1" {
		t.Fatalf("server after refusal: %s", got)
	}
}
