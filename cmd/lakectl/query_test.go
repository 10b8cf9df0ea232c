//go:build duckdb_arrow

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/internal/testsupport"
	"github.com/finlake/finlake/lake"
)

const (
	readerToken = "reader-secret"
	adminToken  = "admin-secret"
)

// testServer is a real Flight SQL server over a lake built in the test with
// two transaction snapshots, alerts and pipeline runs.
type testServer struct {
	env         []string // FINLAKE_FLIGHT and the reader token
	snap1       int64    // first transactions snapshot
	snap1Millis int64
}

func appendJSON(t *testing.T, cat interface {
	LoadTable(context.Context, table.Identifier) (*table.Table, error)
}, name string, props map[string]string, rows ...map[string]any) *table.Table {
	t.Helper()
	ctx := context.Background()
	tbl, err := cat.LoadTable(ctx, lake.Ident(name))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := table.SchemaToArrowSchema(tbl.Schema(), nil, true, false)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(rows)
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, sc, strings.NewReader(string(js)))
	if err != nil {
		t.Fatalf("records for %s: %v", name, err)
	}
	defer rec.Release()
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	tbl, err = tbl.Append(ctx, rdr, props)
	if err != nil {
		t.Fatalf("append %s: %v", name, err)
	}
	return tbl
}

// serveLake runs `lakectl serve` over dataDir until the test ends and gives
// its Flight SQL address; httpAddr "" leaves the HTTP port off.
func serveLake(t *testing.T, dataDir, httpAddr string, args ...string) string {
	t.Helper()
	return serveLakeOf(t, lake.Config{DataDir: dataDir}, httpAddr, args...)
}

// serveLakeOf is serveLake over cfg's data directory and catalog.
func serveLakeOf(t *testing.T, cfg lake.Config, httpAddr string, args ...string) string {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "ready")
	var env []string
	if cfg.CatalogURI != "" {
		env = append(env, "FINLAKE_CATALOG_URI="+cfg.CatalogURI)
	}
	startLakectl(t, env, append([]string{"serve", "--data", cfg.DataDir, "--listen", "127.0.0.1:0", "--http", httpAddr,
		"--ready-file", ready, "--memory-limit", "512MB", "--threads", "1"}, args...)...)
	deadline := time.Now().Add(time.Minute)
	for {
		if b, err := os.ReadFile(ready); err == nil {
			return strings.TrimSpace(string(b))
		}
		if time.Now().After(deadline) {
			t.Fatal("lakectl serve wrote no ready file within a minute")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func startTestServer(t *testing.T) testServer {
	t.Helper()
	ctx := context.Background()
	cfg := lake.Config{DataDir: t.TempDir(), CatalogURI: testsupport.CatalogURI(t)}
	cat, closeCat, err := lake.OpenCatalog(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeCat()
	if err := lake.EnsureTables(ctx, cat); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	ts := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }
	day := now.Format("2006-01-02")
	n := 0
	tx := func(id, acct, amount, cur, usd, cat, typ, country, status string, at, gen time.Duration, flagged bool) map[string]any {
		n++
		return map[string]any{"transaction_id": id, "timestamp": ts(at), "account_id": acct, "amount": amount, "currency": cur,
			"merchant_name": "M " + cat, "merchant_category": cat, "transaction_type": typ, "location_country": country,
			"status": status, "amount_usd": usd, "processing_timestamp": ts(gen + time.Second), "partition_date": day,
			"is_flagged": flagged, "kafka_partition": 0, "kafka_offset": n - 1, "kafka_timestamp": ts(gen)}
	}
	// Snapshot 1: T1 and T3 pending, T2 completed at once.
	tbl := appendJSON(t, cat, lake.TableTransactions, map[string]string{lake.OffsetsProperty(contract.TransactionsProcessed): `{"0":3}`},
		tx("T1", "AC1", "100.00", "EUR", "108.00", "dining", "purchase", "FR", "pending", -3*time.Hour, -3*time.Hour, false),
		tx("T2", "AC2", "12000.00", "USD", "12000.00", "travel", "purchase", "US", "completed", -3*time.Hour, -3*time.Hour, true),
		tx("T3", "AC1", "50.00", "GBP", "63.50", "retail", "purchase", "GB", "pending", -3*time.Hour, -3*time.Hour, true))
	s := testServer{snap1: tbl.CurrentSnapshot().SnapshotID, snap1Millis: tbl.CurrentSnapshot().TimestampMs}
	time.Sleep(20 * time.Millisecond) // distinct commit instants for --as-of
	// Snapshot 2: T1 completes after 30s, T3 fails after 60s, T4 arrives.
	appendJSON(t, cat, lake.TableTransactions, map[string]string{lake.OffsetsProperty(contract.TransactionsProcessed): `{"0":6}`},
		tx("T1", "AC1", "100.00", "EUR", "108.00", "dining", "purchase", "FR", "completed", -3*time.Hour, -3*time.Hour+30*time.Second, false),
		tx("T3", "AC1", "50.00", "GBP", "63.50", "retail", "purchase", "GB", "failed", -3*time.Hour, -3*time.Hour+60*time.Second, true),
		tx("T4", "AC3", "5000", "JPY", "33.50", "online", "purchase", "JP", "pending", -time.Hour, -time.Hour, false))
	alert := func(id, txn, acct, rule, typ, sev, amount, cur, country string) map[string]any {
		return map[string]any{"alert_id": id, "transaction_id": txn, "account_id": acct, "rule_name": rule, "rule_type": typ,
			"rule_version": 1, "severity": sev, "alert_timestamp": ts(-3*time.Hour + time.Second), "description": rule + " fired",
			"transaction_timestamp": ts(-3 * time.Hour), "amount": amount, "currency": cur, "merchant_name": "M",
			"location_country": country, "kafka_partition": 0, "kafka_offset": 0, "kafka_timestamp": ts(-3 * time.Hour)}
	}
	appendJSON(t, cat, lake.TableAlerts, nil,
		alert("A1", "T2", "AC2", "high_value", "threshold", "high", "12000.00", "USD", "US"),
		alert("A2", "T3", "AC1", "unusual_location", "new_country", "medium", "50.00", "GBP", "GB"),
		alert("A3", "T2", "AC2", "quiet_hours", "time_of_day", "low", "12000.00", "USD", "US"))
	appendJSON(t, cat, lake.TablePipelineRuns, nil, map[string]any{"session_id": "S1", "session_start": ts(-4 * time.Hour),
		"window_start": ts(-2 * time.Hour), "window_end": ts(-2*time.Hour + time.Minute), "transactions_written": 6, "alerts_written": 3,
		"rows_per_second": 0.15, "storage_latency_p50_ms": 800.0, "storage_latency_p95_ms": 1500.0, "storage_latency_p99_ms": 2100.0,
		"storage_latency_max_ms": 2500.0, "commits": 2, "commit_retries": 0})

	// The real `lakectl serve`, as a user starts it.
	addr := serveLakeOf(t, cfg, "", "--reader-token", readerToken, "--admin-token", adminToken)
	s.env = []string{"FINLAKE_FLIGHT=grpc://" + addr, "FINLAKE_TOKEN=" + readerToken}
	return s
}

func TestQueryCommands(t *testing.T) {
	s := startTestServer(t)
	env := s.env

	t.Run("csv streams the rows", func(t *testing.T) {
		out := lakectl(t, env, "", "query", "--format", "csv",
			"SELECT transaction_id, status, amount FROM lake.transactions ORDER BY kafka_offset").mustOK(t).stdout
		want := "transaction_id,status,amount\nT1,pending,100.00\nT2,completed,12000.00\nT3,pending,50.00\nT1,completed,100.00\nT3,failed,50.00\nT4,pending,5000.00\n"
		if out != want {
			t.Fatalf("got\n%s\nwant\n%s", out, want)
		}
	})
	t.Run("snapshot and as-of pin the query", func(t *testing.T) {
		asOf := time.UnixMilli(s.snap1Millis).UTC().Format(time.RFC3339Nano)
		for _, args := range [][]string{
			{"--snapshot", strconv.FormatInt(s.snap1, 10)},
			{"--as-of", asOf},
			{},
		} {
			argv := append(append([]string{"query", "--format", "jsonl"}, args...), "SELECT count(*) AS n FROM transactions")
			out := strings.TrimSpace(lakectl(t, env, "", argv...).mustOK(t).stdout)
			want := `{"n":3}`
			if len(args) == 0 {
				want = `{"n":6}`
			}
			if out != want {
				t.Errorf("%v: got %s want %s", args, out, want)
			}
		}
	})
	t.Run("as-of names on stderr the snapshot that answered", func(t *testing.T) {
		// An instant between the two commits answers from the first, which
		// the user did not name: stderr says which it was.
		between := time.UnixMilli(s.snap1Millis + 5).UTC().Format(time.RFC3339Nano)
		r := lakectl(t, env, "", "query", "--format", "csv", "--as-of", between, "SELECT count(*) AS n FROM transactions").mustOK(t)
		want := fmt.Sprintf("as of %s: transactions answered from snapshot %d committed %s", between, s.snap1, lake.FormatMs(s.snap1Millis))
		if r.stdout != "n\n3\n" || !strings.Contains(r.stderr, want) {
			t.Fatalf("got stdout %q, stderr %q; want n=3 and %q", r.stdout, r.stderr, want)
		}
	})
	t.Run("mask asks the server for pseudonyms", func(t *testing.T) {
		out := lakectl(t, env, "", "query", "--mask", "--format", "csv",
			"SELECT account_id, count(*) AS n FROM lake.alerts GROUP BY 1 ORDER BY n").mustOK(t).stdout
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[1], "acc_") || !strings.HasSuffix(lines[1], ",1") ||
			!strings.HasPrefix(lines[2], "acc_") || !strings.HasSuffix(lines[2], ",2") {
			t.Fatalf("masked alerts per account: %q", out)
		}
	})
	t.Run("sql from stdin and a string parameter that cannot inject", func(t *testing.T) {
		out := lakectl(t, env, "SELECT count(*) AS n FROM lake.alerts WHERE account_id = :acct", "query", "--format", "csv",
			"--param", "acct=AC2' OR '1'='1").mustOK(t).stdout
		if out != "n\n0\n" {
			t.Fatalf("injection changed the query: %q", out)
		}
		out = lakectl(t, env, "", "query", "--format", "csv", "-p", "acct=AC2",
			"SELECT count(*) AS n FROM lake.alerts WHERE account_id = :acct").mustOK(t).stdout
		if out != "n\n2\n" {
			t.Fatalf("got %q", out)
		}
	})
	t.Run("json keeps decimals exact and times RFC 3339", func(t *testing.T) {
		out := lakectl(t, env, "", "query", "--format", "json",
			"SELECT amount_usd, kafka_timestamp FROM transactions WHERE transaction_id = 'T4'").mustOK(t).stdout
		var rows []map[string]json.RawMessage
		if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 {
			t.Fatalf("%v: %s", err, out)
		}
		if string(rows[0]["amount_usd"]) != "33.50" || !strings.HasSuffix(string(rows[0]["kafka_timestamp"]), `Z"`) {
			t.Fatalf("got %s", out)
		}
	})
	t.Run("bad SQL exits 2, a stopped server 1 with advice", func(t *testing.T) {
		r := lakectl(t, env, "", "query", "SELECT * FROM lake.no_such_table")
		if r.code != 2 {
			t.Errorf("unknown table: exit %d, stderr %s", r.code, r.stderr)
		}
		r = lakectl(t, []string{"FINLAKE_FLIGHT=grpc://127.0.0.1:1"}, "", "query", "SELECT 1")
		if r.code != 1 || !strings.Contains(r.stderr, "lakectl serve") {
			t.Errorf("stopped server: exit %d, stderr %s", r.code, r.stderr)
		}
	})
	t.Run("a query error quotes the user's SQL, not the rewritten one", func(t *testing.T) {
		r := lakectl(t, env, "", "query", "SELECT nosuch_column FROM lake.transactions")
		if r.code != 2 || !strings.Contains(r.stderr, "LINE 1: SELECT nosuch_column FROM lake.transactions") ||
			strings.Contains(r.stderr, "read_parquet") || strings.Contains(r.stderr, "/warehouse/") {
			t.Errorf("unknown column: exit %d, stderr %s", r.code, r.stderr)
		}
	})
	t.Run("each refusal has its own advice", func(t *testing.T) {
		advice := map[string]string{
			"SELECT * FROM read_csv('/etc/passwd')":          "queries read the lake's tables only",
			"COPY (SELECT 1) TO '/tmp/finlake-x.csv'":        "the server answers read queries (SELECT ...) only",
			"ALTER TABLE lake.transactions ADD COLUMN x INT": "schema changes need the admin token",
		}
		for sql, want := range advice {
			r := lakectl(t, env, "", "query", sql)
			if r.code != 1 || !strings.Contains(r.stderr, want) {
				t.Errorf("%s: want exit 1 and the advice %q, got exit %d, stderr %s", sql, want, r.code, r.stderr)
			}
			for _, other := range advice {
				if other != want && strings.Contains(r.stderr, other) {
					t.Errorf("%s: the advice %q belongs to another refusal: %s", sql, other, r.stderr)
				}
			}
		}
	})
	t.Run("as-of before the first snapshot is the error FOR TIMESTAMP AS OF gives", func(t *testing.T) {
		inSQL := lakectl(t, env, "", "query", "SELECT count(*) FROM transactions FOR TIMESTAMP AS OF TIMESTAMP '2020-01-01 00:00:00+00'")
		header := lakectl(t, env, "", "query", "--as-of", "2020-01-01", "SELECT count(*) FROM transactions")
		want := "transactions has no snapshot as of 2020-01-01T00:00:00Z; the oldest kept is snapshot "
		for name, r := range map[string]result{"FOR TIMESTAMP AS OF": inSQL, "--as-of": header} {
			if r.code != 2 || !strings.Contains(r.stderr, want) {
				t.Errorf("%s: want exit 2 and %q, got exit %d, stdout %s, stderr %s", name, want, r.code, r.stdout, r.stderr)
			}
		}
	})
	t.Run("saved analyses", func(t *testing.T) {
		funnel := lakectl(t, env, "", "run", "status_funnel", "--format", "jsonl").mustOK(t).stdout
		got := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(funnel), "\n") {
			var r struct {
				Step   string          `json:"step"`
				N      int             `json:"transactions"`
				Median json.RawMessage `json:"median_seconds"`
			}
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			got[r.Step] = fmt.Sprintf("%d/%s", r.N, r.Median)
		}
		for step, want := range map[string]string{"pending": "3/null", "pending → completed": "1/30.0", "pending → failed": "1/60.0",
			"still pending": "1/null", "completed instantly": "1/null"} {
			if !strings.HasPrefix(got[step], want) && got[step] != strings.TrimSuffix(want, ".0") {
				t.Errorf("funnel %q = %s, want %s (all: %v)", step, got[step], want, got)
			}
		}
		top := lakectl(t, env, "", "run", "top_flagged_accounts", "--param", "top=1", "--format", "csv").mustOK(t).stdout
		if lines := strings.Split(strings.TrimSpace(top), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "AC2,2,1,") || !strings.Contains(lines[1], "high") {
			t.Errorf("top_flagged_accounts:\n%s", top)
		}
		diff := lakectl(t, env, "", "run", "snapshot_diff", "--param", "before="+strconv.FormatInt(s.snap1, 10), "--format", "csv").mustOK(t).stdout
		if diff != "change,status,rows,transactions,amount_usd\nadded,completed,1,1,108.00\nadded,failed,1,1,63.50\nadded,pending,1,1,33.50\n" {
			t.Errorf("snapshot_diff:\n%s", diff)
		}
		list := lakectl(t, env, "", "analyses", "--format", "json").mustOK(t).stdout
		var all []struct{ Name string }
		if err := json.Unmarshal([]byte(list), &all); err != nil {
			t.Fatal(err)
		}
		for _, a := range all { // every saved analysis runs on this lake
			args := []string{"run", a.Name, "--format", "csv"}
			if a.Name == "snapshot_diff" {
				args = append(args, "--param", "before="+strconv.FormatInt(s.snap1, 10))
			}
			if r := lakectl(t, env, "", args...); r.code != 0 {
				t.Errorf("run %s: exit %d: %s", a.Name, r.code, r.stderr)
			}
		}
		r := lakectl(t, env, "", "run", "daily_volume", "--param", "from=last week")
		if r.code != 2 || !strings.Contains(r.stderr, "is not a date") {
			t.Errorf("bad date: exit %d %s", r.code, r.stderr)
		}
	})
	t.Run("tables, describe, snapshots", func(t *testing.T) {
		out := lakectl(t, env, "", "tables").mustOK(t).stdout
		t.Logf("tables:\n%s", out)
		for _, want := range []string{"lake.transactions", "lake.alerts", "lake.pipeline_runs"} {
			if !strings.Contains(out, want) {
				t.Errorf("tables lacks %s:\n%s", want, out)
			}
		}
		out = lakectl(t, env, "", "describe", "transactions", "--snapshot", strconv.FormatInt(s.snap1, 10)).mustOK(t).stdout
		if !strings.Contains(out, "rows: 3\n") || !strings.Contains(out, "timestamp_day") || !strings.Contains(out, "amount_usd") {
			t.Errorf("describe at snapshot 1:\n%s", out)
		}
		t.Logf("describe:\n%s", out)
		t.Logf("snapshots:\n%s", lakectl(t, env, "", "snapshots", "transactions").mustOK(t).stdout)
		t.Logf("run alerts_with_transactions:\n%s", lakectl(t, env, "", "run", "alerts_with_transactions").mustOK(t).stdout)
		js := lakectl(t, env, "", "snapshots", "transactions", "--format", "json").mustOK(t).stdout
		var snaps []struct {
			ID      string            `json:"snapshot_id"`
			Added   string            `json:"added_records"`
			Offsets map[string]string `json:"kafka_offsets"`
		}
		if err := json.Unmarshal([]byte(js), &snaps); err != nil {
			t.Fatalf("%v: %s", err, js)
		}
		if len(snaps) != 2 || snaps[1].ID != strconv.FormatInt(s.snap1, 10) || snaps[1].Added != "3" ||
			snaps[0].Offsets[contract.TransactionsProcessed] != `{"0":6}` {
			t.Errorf("snapshots: %s", js)
		}
	})
	t.Run("evolve add-column needs the admin token", func(t *testing.T) {
		r := lakectl(t, env, "", "evolve", "add-column", "transactions", "risk_score", "double")
		if r.code == 0 || !strings.Contains(r.stderr, "admin") {
			t.Fatalf("reader token: exit %d %s", r.code, r.stderr)
		}
		admin := []string{env[0], "FINLAKE_TOKEN=" + adminToken}
		out := lakectl(t, admin, "", "evolve", "add-column", "transactions", "risk_score", "double", "--comment", "model's score").mustOK(t).stdout
		if !strings.Contains(out, "risk_score") || !strings.Contains(out, "← new") {
			t.Fatalf("add-column output:\n%s", out)
		}
		t.Logf("add-column:\n%s", out)
		r = lakectl(t, admin, "", "evolve", "add-column", "transactions", "risk_score", "double")
		t.Logf("existing column: %s", r.stderr)
		if r.code != 2 || !strings.Contains(r.stderr, "already has a column risk_score (double)") {
			t.Fatalf("existing column: exit %d %s", r.code, r.stderr)
		}
		r = lakectl(t, admin, "", "evolve", "add-column", "transactions", "x", "money")
		if r.code != 2 {
			t.Fatalf("unknown type: exit %d %s", r.code, r.stderr)
		}
		// Time travel keeps the old schema: the column did not exist at snapshot 1.
		out = lakectl(t, env, "", "query", "--snapshot", strconv.FormatInt(s.snap1, 10), "--format", "csv",
			"SELECT * FROM transactions LIMIT 0").mustOK(t).stdout
		if strings.Contains(out, "risk_score") {
			t.Errorf("old snapshot shows the new column: %s", out)
		}
	})
}

func TestDescribeShowsTheIcebergSchemasRequiredColumns(t *testing.T) {
	ctx := context.Background()
	cfg := lake.Config{DataDir: t.TempDir(), CatalogURI: testsupport.CatalogURI(t)}
	cat, closeCat, err := lake.OpenCatalog(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeCat()
	if err := cat.CreateNamespace(ctx, catalog.ToIdentifier(lake.Namespace), nil); err != nil {
		t.Fatal(err)
	}
	// As another writer (PyIceberg, Spark) may declare them: two required columns.
	schema := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "transaction_id", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: 2, Name: "amount", Type: iceberg.DecimalTypeOf(18, 2), Required: true},
		iceberg.NestedField{ID: 3, Name: "note", Type: iceberg.PrimitiveTypes.String})
	if _, err := cat.CreateTable(ctx, lake.Ident("transactions"), schema); err != nil {
		t.Fatal(err)
	}
	appendJSON(t, cat, "transactions", nil, map[string]any{"transaction_id": "T1", "amount": "1.00"})
	addr := serveLakeOf(t, cfg, "")
	out := lakectl(t, []string{"FINLAKE_FLIGHT=grpc://" + addr}, "", "describe", "transactions").mustOK(t).stdout
	var got []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(strings.ReplaceAll(line, "│", " ")); len(f) >= 3 && (f[2] == "true" || f[2] == "false") {
			got = append(got, f[0]+":"+f[2])
		}
	}
	if want := "transaction_id:false amount:false note:true"; strings.Join(got, " ") != want {
		t.Errorf("describe nullability %v, want %s:\n%s", got, want, out)
	}
}
