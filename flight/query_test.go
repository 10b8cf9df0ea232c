//go:build duckdb_arrow

package flight_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-adbc/go/adbc"
	"github.com/apache/arrow-go/v18/arrow"

	"github.com/finlake/finlake/lake"
)

var day1 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func TestQueriesReadTheCurrentSnapshotUnderBothNames(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	l.appendRows(t, "transactions", makeRows("a", 50, day1))
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)
	for _, sql := range []string{
		"SELECT count(*) FROM lake.transactions",
		"SELECT count(*) FROM transactions",
		"SELECT count(*) FROM finlake.lake.transactions t",
	} {
		if got := c.one(sql); got != "50" {
			t.Errorf("%s = %s, want 50", sql, got)
		}
	}
	if got := c.one("SELECT sum(amount) FROM transactions WHERE currency = 'EUR'"); got == "" {
		t.Fatal("empty sum")
	}
}

func TestTimeTravelAcrossTwoAppends(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	t1 := l.appendRows(t, "transactions", makeRows("a", 10, day1))
	s1 := t1.CurrentSnapshot()
	time.Sleep(20 * time.Millisecond) // distinct commit milliseconds
	t2 := l.appendRows(t, "transactions", makeRows("b", 5, day1.Add(24*time.Hour)))
	s2 := t2.CurrentSnapshot()
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)

	between := time.UnixMilli(s1.TimestampMs).UTC().Format("2006-01-02 15:04:05.000") + "+00"
	cases := map[string]string{
		"SELECT count(*) FROM lake.transactions":                                                                                                    "15",
		fmt.Sprintf("SELECT count(*) FROM lake.transactions FOR VERSION AS OF %d", s1.SnapshotID):                                                   "10",
		fmt.Sprintf("SELECT count(*) FROM transactions FOR VERSION AS OF %d t", s2.SnapshotID):                                                      "15",
		fmt.Sprintf("SELECT count(*) FROM transactions FOR TIMESTAMP AS OF TIMESTAMP '%s'", between):                                                "10",
		fmt.Sprintf("SELECT count(*) FROM transactions FOR TIMESTAMP AS OF TIMESTAMP '%s'", time.Now().UTC().Add(time.Second).Format(time.RFC3339)): "15",
		// Two pins of one table in one query.
		fmt.Sprintf("SELECT (SELECT count(*) FROM transactions) - (SELECT count(*) FROM transactions FOR VERSION AS OF %d)", s1.SnapshotID): "5",
	}
	for sql, want := range cases {
		if got := c.one(sql); got != want {
			t.Errorf("%s = %s, want %s", sql, got, want)
		}
	}
	// Before the first snapshot there is nothing to read: a clear error.
	_, _, err := c.query("SELECT count(*) FROM transactions FOR TIMESTAMP AS OF TIMESTAMP '2000-01-01 00:00:00+00'")
	if err == nil || !strings.Contains(err.Error(), "no snapshot as of") {
		t.Fatalf("time travel before the first snapshot: %v", err)
	}
}

func TestAsOfHeaderPinsTheWholeQuery(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	l.createTx(t, "alerts")
	s1 := l.appendRows(t, "transactions", makeRows("a", 10, day1)).CurrentSnapshot()
	l.appendRows(t, "alerts", makeRows("x", 3, day1))
	time.Sleep(20 * time.Millisecond)
	at := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)
	l.appendRows(t, "transactions", makeRows("b", 5, day1))
	l.appendRows(t, "alerts", makeRows("y", 4, day1))
	r := startServer(t, l, nil)

	byTime := dial(t, r.Addr(), map[string]string{"adbc.flight.sql.rpc.call_header.x-finlake-as-of": at.Format(time.RFC3339Nano)})
	if got := byTime.one("SELECT (SELECT count(*) FROM transactions) * 100 + (SELECT count(*) FROM lake.alerts)"); got != "1003" {
		t.Fatalf("as-of %s: got %s, want 1003 (10 transactions, 3 alerts)", at, got)
	}
	byID := dial(t, r.Addr(), map[string]string{"adbc.flight.sql.rpc.call_header.x-finlake-as-of": fmt.Sprint(s1.SnapshotID)})
	if got := byID.one("SELECT count(*) FROM transactions"); got != "10" {
		t.Fatalf("as-of snapshot %d: got %s, want 10", s1.SnapshotID, got)
	}
	// The snapshot id is transactions'; alerts is pinned at that snapshot's
	// commit instant, before alerts had any data.
	if got := byID.one("SELECT (SELECT count(*) FROM transactions) * 100 + (SELECT count(*) FROM lake.alerts)"); got != "1000" {
		t.Fatalf("as-of snapshot %d across tables: got %s, want 1000", s1.SnapshotID, got)
	}
	unknown := dial(t, r.Addr(), map[string]string{"adbc.flight.sql.rpc.call_header.x-finlake-as-of": "12345"})
	if _, _, err := unknown.query("SELECT count(*) FROM transactions"); adbcStatus(err) != adbc.StatusNotFound {
		t.Fatalf("unknown snapshot id in header: %v", err)
	}
	now := dial(t, r.Addr(), nil)
	if got := now.one("SELECT (SELECT count(*) FROM transactions) * 100 + (SELECT count(*) FROM lake.alerts)"); got != "1507" {
		t.Fatalf("current: got %s, want 1507", got)
	}
	bad := dial(t, r.Addr(), map[string]string{"adbc.flight.sql.rpc.call_header.x-finlake-as-of": "yesterday-ish"})
	if _, _, err := bad.query("SELECT 1"); adbcStatus(err) != adbc.StatusInvalidArgument {
		t.Fatalf("bad header: %v", err)
	}
}

func TestAsOfBeforeTheFirstSnapshotIsNotFoundInSQLAndInTheHeader(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	l.appendRows(t, "transactions", makeRows("a", 3, day1))
	r := startServer(t, l, nil)
	_, _, inSQL := dial(t, r.Addr(), nil).query("SELECT count(*) FROM transactions FOR TIMESTAMP AS OF TIMESTAMP '2020-01-01 00:00:00+00'")
	header := dial(t, r.Addr(), map[string]string{"adbc.flight.sql.rpc.call_header.x-finlake-as-of": "2020-01-01T00:00:00Z"})
	_, _, inHeader := header.query("SELECT count(*) FROM transactions")
	for name, err := range map[string]error{"FOR TIMESTAMP AS OF": inSQL, "x-finlake-as-of header": inHeader} {
		if adbcStatus(err) != adbc.StatusNotFound || !strings.Contains(err.Error(), "transactions has no snapshot as of 2020-01-01T00:00:00Z; the oldest kept is snapshot ") {
			t.Errorf("%s before the first snapshot: want NotFound naming the first snapshot, got %v", name, err)
		}
	}
}

func TestSchemaEvolutionReadsNullFromOlderFiles(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	l.appendRows(t, "transactions", makeRows("a", 4, day1))
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil) // loopback without auth: admin
	before := c.one("SELECT count(*) FROM transactions")

	if err := c.exec("ALTER TABLE lake.transactions ADD COLUMN risk_score BIGINT COMMENT 'fraud model score'"); err != nil {
		t.Fatalf("add column: %v", err)
	}
	tbl, err := l.cat.LoadTable(context.Background(), lake.Ident("transactions"))
	if err != nil {
		t.Fatal(err)
	}
	f, ok := tbl.Schema().FindFieldByName("risk_score")
	if !ok || f.Doc != "fraud model score" || f.Required {
		t.Fatalf("iceberg schema after ADD COLUMN: %v", tbl.Schema())
	}
	rows := makeRows("b", 2, day1)
	for i := range rows {
		rows[i].Extra = map[string]any{"risk_score": int64(70 + i)}
	}
	l.appendRows(t, "transactions", rows)

	got := c.mustQuery("SELECT transaction_id, risk_score FROM transactions ORDER BY transaction_id")
	want := [][]string{{"a-0000", "NULL"}, {"a-0001", "NULL"}, {"a-0002", "NULL"}, {"a-0003", "NULL"}, {"b-0000", "70"}, {"b-0001", "71"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after evolution:\n got %v\nwant %v", got, want)
	}
	if before != "4" {
		t.Fatalf("before: %s", before)
	}
	// The old snapshot keeps its old schema.
	first := tbl.Metadata().Snapshots()[0].SnapshotID
	_, sc, err := c.query(fmt.Sprintf("SELECT * FROM transactions FOR VERSION AS OF %d", first))
	if err != nil || sc.HasField("risk_score") {
		t.Fatalf("old snapshot schema: %v %v", sc, err)
	}
	// Adding it again is a clear error.
	if err := c.exec("ALTER TABLE lake.transactions ADD COLUMN risk_score BIGINT"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second add: %v", err)
	}
}

func TestMetadataTables(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	l.appendRows(t, "transactions", makeRows("a", 3, day1))
	tbl := l.appendRows(t, "transactions", makeRows("b", 3, day1.Add(48*time.Hour)))
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)
	snaps := c.mustQuery(`SELECT snapshot_id, operation, summary['added-records'] FROM "transactions$snapshots" ORDER BY committed_at`)
	if len(snaps) != 2 || snaps[1][0] != fmt.Sprint(tbl.CurrentSnapshot().SnapshotID) || snaps[0][1] != "append" || snaps[1][2] != "3" {
		t.Fatalf("$snapshots: %v", snaps)
	}
	if got := c.one(`SELECT count(*) FROM lake."transactions$history" WHERE is_current_ancestor`); got != "2" {
		t.Fatalf("$history: %s", got)
	}
	files := c.mustQuery(`SELECT sum(record_count), count(*), min(partition) FROM "transactions$files"`)
	if files[0][0] != "6" || files[0][1] != "2" || !strings.Contains(files[0][2], "2026-11-25") {
		t.Fatalf("$files: %v", files)
	}
	first := tbl.Metadata().Snapshots()[0].SnapshotID
	if got := c.one(fmt.Sprintf(`SELECT sum(record_count) FROM "transactions$files" FOR VERSION AS OF %d`, first)); got != "3" {
		t.Fatalf("$files at first snapshot: %s", got)
	}
}

func TestEmptyTableHasItsColumns(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)
	rows, sc, err := c.query("SELECT * FROM lake.transactions")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 0 || sc.NumFields() != 5 || sc.Field(3).Type.String() != "decimal(18, 2)" {
		t.Fatalf("empty table: rows %v schema %v", rows, sc)
	}
	if got := c.one(`SELECT count(*) FROM "transactions$snapshots"`); got != "0" {
		t.Fatalf("snapshots of empty table: %s", got)
	}
}

func TestParametersAreBound(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	l.appendRows(t, "transactions", makeRows("a", 30, day1))
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)
	var eurOver10, ac1 int
	for _, r := range makeRows("a", 30, day1) {
		if r.Currency == "EUR" && r.Cents > 1000 {
			eurOver10++
		}
		if r.Account == "AC0001" {
			ac1++
		}
	}
	if got := c.one("SELECT count(*) FROM transactions WHERE currency = $1 AND amount > $2", "EUR", int64(10)); got != fmt.Sprint(eurOver10) {
		t.Fatalf("bound query: %s, want %d", got, eurOver10)
	}
	if got := c.one("SELECT count(*) FROM transactions WHERE account_id = ?", "AC0001"); got != fmt.Sprint(ac1) {
		t.Fatalf("bound query with ?: %s, want %d", got, ac1)
	}
}

func TestResultTypesAndLiteralsSurviveTheRewrite(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	l.appendRows(t, "transactions", makeRows("a", 2, day1))
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)
	rows, sc, err := c.query(`SELECT 'FROM transactions' AS s, "timestamp", amount /* FROM lake.alerts */ FROM transactions ORDER BY 2 LIMIT 1 -- FROM x`)
	if err != nil {
		t.Fatal(err)
	}
	if rows[0][0] != "FROM transactions" || rows[0][1] != "2026-11-25T10:00:00Z" || sc.Field(2).Type.String() != "decimal(18, 2)" {
		t.Fatalf("row: %v schema %v", rows, sc)
	}
	ts := sc.Field(1).Type.(*arrow.TimestampType)
	if ts.Unit != arrow.Microsecond || ts.TimeZone == "" {
		t.Fatalf("timestamptz should arrive as timestamp[us, tz]: %v", sc.Field(1).Type)
	}
}

func TestRenamedAndDroppedColumnsReadByFieldID(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	l.appendRows(t, "transactions", makeRows("a", 3, day1))
	ctx := context.Background()
	tbl, err := l.cat.LoadTable(ctx, lake.Ident("transactions"))
	if err != nil {
		t.Fatal(err)
	}
	tx := tbl.NewTransaction()
	if err := tx.UpdateSchema(true, false).RenameColumn([]string{"account_id"}, "account").DeleteColumn([]string{"currency"}).Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)
	rows, sc, err := c.query("SELECT * FROM transactions ORDER BY transaction_id")
	if err != nil {
		t.Fatal(err)
	}
	if sc.HasField("currency") || !sc.HasField("account") || sc.HasField("account_id") {
		t.Fatalf("schema after rename and drop: %v", sc)
	}
	// The Parquet files still call the column account_id: only the field id links them.
	if got := c.one("SELECT string_agg(account, ',' ORDER BY transaction_id) FROM transactions"); got != "AC0000,AC0001,AC0002" {
		t.Fatalf("renamed column reads %q (rows %v)", got, rows)
	}
}

func TestAddColumnWhileAnotherWriterCommits(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	l.appendRows(t, "transactions", makeRows("a", 2, day1))
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)

	// A second writer commits appends as fast as it can, like ingest does.
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		n := 0
		defer func() { done <- n }()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// A lost race (the ALTER committed first) fails this append; only
			// successful ones count.
			if l.appendRowsQuiet("transactions", makeRows(fmt.Sprintf("w%03d", i), 1, day1)) == nil {
				n++
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	// Let the writer get going, so the ALTERs race with it.
	for deadline := time.Now().Add(20 * time.Second); ; {
		if n := c.one("SELECT count(*) FROM transactions"); n != "2" || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := 0; i < 6; i++ {
		if err := c.exec(fmt.Sprintf("ALTER TABLE lake.transactions ADD COLUMN c%d BIGINT", i)); err != nil {
			close(stop)
			<-done
			t.Fatalf("ADD COLUMN c%d during concurrent appends: %v", i, err)
		}
	}
	close(stop)
	appended := <-done
	tbl, err := l.cat.LoadTable(context.Background(), lake.Ident("transactions"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d appends committed beside the ALTERs", appended)
	for i := 0; i < 6; i++ {
		if _, ok := tbl.Schema().FindFieldByName(fmt.Sprintf("c%d", i)); !ok {
			t.Fatalf("column c%d missing: %v", i, tbl.Schema())
		}
	}
	if got := c.one("SELECT count(*) FROM transactions"); got != fmt.Sprint(2+appended) {
		t.Fatalf("rows %s, want %d (2 + %d concurrent appends)", got, 2+appended, appended)
	}
}
