//go:build duckdb_arrow

package flight_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	adbcfs "github.com/apache/arrow-adbc/go/adbc/driver/flightsql"

	"github.com/finlake/finlake/flight"
)

func TestAuditLogHasOneLinePerStatementWithWhoWhatAndOutcome(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	l.appendRows(t, "transactions", makeRows("a", 20, day1))
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	r := startServer(t, l, func(c *flight.Config) {
		c.AuditLog = path
		c.Auth = &flight.Auth{ReaderToken: "r", AdminToken: "a", ShareToken: "s"}
	})
	reader := dial(t, r.Addr(), map[string]string{adbcfs.OptionAuthorizationHeader: "Bearer r"})
	admin := dial(t, r.Addr(), map[string]string{adbcfs.OptionAuthorizationHeader: "Bearer a"})
	sharer := dial(t, r.Addr(), map[string]string{adbcfs.OptionAuthorizationHeader: "Bearer s"})

	matched := reader.mustQuery("SELECT * FROM transactions WHERE amount > $1", int64(5))
	sharer.mustQuery("SELECT account_id, count(*) FROM lake.transactions GROUP BY 1")
	if _, _, err := sharer.query("SELECT * FROM read_parquet('x.parquet')"); err == nil {
		t.Fatal("a share session read a file")
	}
	if err := reader.exec("ALTER TABLE lake.transactions ADD COLUMN note VARCHAR"); err == nil {
		t.Fatal("a reader altered a table")
	}
	if err := admin.exec("ALTER TABLE lake.transactions ADD COLUMN note VARCHAR"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := reader.query("SELECT nope FROM transactions"); err == nil {
		t.Fatal("a bad column was accepted")
	}
	r.Stop() // flushes and closes the audit file

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("audit line is not JSON: %s", sc.Text())
		}
		lines = append(lines, m)
	}
	type want struct{ role, sql, outcome, level string }
	wants := []want{
		{"reader", "SELECT * FROM transactions WHERE amount > $1", "ok", "INFO"},
		{"share", "SELECT account_id, count(*) FROM lake.transactions GROUP BY 1", "ok", "INFO"},
		{"share", "SELECT * FROM read_parquet('x.parquet')", "refused", "WARN"},
		{"reader", "ALTER TABLE lake.transactions ADD COLUMN note VARCHAR", "refused", "WARN"},
		{"admin", "ALTER TABLE lake.transactions ADD COLUMN note VARCHAR", "ok", "WARN"},
		{"reader", "SELECT nope FROM transactions", "error", "INFO"},
	}
	if len(lines) != len(wants) {
		t.Fatalf("%d audit lines for %d statements:\n%v", len(lines), len(wants), lines)
	}
	for i, w := range wants {
		m := lines[i]
		if m["role"] != w.role || m["sql"] != w.sql || m["outcome"] != w.outcome || m["level"] != w.level {
			t.Errorf("line %d: got role=%v sql=%q outcome=%v level=%v, want %+v", i, m["role"], m["sql"], m["outcome"], m["level"], w)
		}
		if _, ok := m["duration_ms"]; !ok {
			t.Errorf("line %d has no duration_ms: %v", i, m)
		}
	}
	first := lines[0]
	if len(matched) == 0 || first["rows"] != float64(len(matched)) || first["bytes"].(float64) <= 0 {
		t.Errorf("rows/bytes of the first query: %v %v", first["rows"], first["bytes"])
	}
	if pt, _ := first["param_types"].([]any); len(pt) != 1 || pt[0] != "BIGINT" {
		t.Errorf("param_types: %v", first["param_types"])
	}
	if snaps, _ := first["snapshots"].(map[string]any); snaps["transactions"] == nil || snaps["transactions"] == "none" {
		t.Errorf("snapshots: %v", first["snapshots"])
	}
	if lines[2]["reason"] == "" || lines[2]["code"] != "PermissionDenied" {
		t.Errorf("refusal without reason: %v", lines[2])
	}
}
