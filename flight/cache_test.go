//go:build duckdb_arrow

package flight_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/finlake/finlake/flight"
	"github.com/finlake/finlake/lake"
)

// committedCounts is the row count of every snapshot lake.<name> ever had.
func (l *testLake) committedCounts(t *testing.T, name string) map[int64]bool {
	t.Helper()
	tbl, err := l.cat.LoadTable(context.Background(), lake.Ident(name))
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]bool{}
	for _, s := range tbl.Metadata().Snapshots() {
		n, err := strconv.ParseInt(s.Summary.Properties["total-records"], 10, 64)
		if err != nil {
			t.Fatalf("snapshot %d has no total-records: %v", s.SnapshotID, s.Summary)
		}
		out[n] = true
	}
	return out
}

func TestEveryQuerySeesTheCommitsBeforeItAndNeverAnOlderSnapshot(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	l.appendRows(t, "transactions", makeRows("a", 3, day1))
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)

	// A commit is seen by the very next query, by the metadata answer, by
	// DuckDB, and by a prepared statement executed again.
	prepared, err := c.conn.NewStatement()
	if err != nil {
		t.Fatal(err)
	}
	defer prepared.Close()
	if err := prepared.SetSqlQuery("SELECT count(*) FROM lake.transactions"); err != nil {
		t.Fatal(err)
	}
	if err := prepared.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		l.appendRows(t, "transactions", makeRows(fmt.Sprintf("s%d", i), 2, day1))
		want := fmt.Sprint(3 + 2*i)
		for _, sql := range []string{"SELECT count(*) FROM lake.transactions", "SELECT count(*) FROM lake.transactions WHERE amount IS NOT NULL"} {
			if got := c.one(sql); got != want {
				t.Fatalf("after commit %d: %s = %s, want %s", i, sql, got, want)
			}
		}
		if got := oneValue(t, prepared); got != want {
			t.Fatalf("after commit %d: prepared count(*) executed again = %s, want %s", i, got, want)
		}
	}

	// Commits racing queries: every count is one a snapshot had, and counts
	// never go back.
	var wg sync.WaitGroup
	done := make(chan struct{})
	var appendErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := 0; i < 25; i++ {
			if err := l.appendRowsQuiet("transactions", makeRows(fmt.Sprintf("r%02d", i), 1+i%3, day1)); err != nil {
				appendErr = err
				return
			}
		}
	}()
	var seen []int64
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		for _, sql := range []string{"SELECT count(*) FROM lake.transactions", "SELECT count(*) FROM lake.transactions WHERE amount IS NOT NULL"} {
			n, err := strconv.ParseInt(c.one(sql), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, n)
		}
	}
	wg.Wait()
	if appendErr != nil {
		t.Fatalf("append: %v", appendErr)
	}
	committed := l.committedCounts(t, "transactions")
	for i, n := range seen {
		if !committed[n] {
			t.Fatalf("query %d counted %d rows, which no snapshot ever had (snapshots: %v)", i, n, committed)
		}
		if i > 0 && n < seen[i-1] {
			t.Fatalf("query %d counted %d rows after query %d counted %d: an older snapshot was served (%v)", i, n, i-1, seen[i-1], seen)
		}
	}
	final := 0
	for n := range committed {
		final = max(final, int(n))
	}
	if got := c.one("SELECT count(*) FROM lake.transactions"); got != fmt.Sprint(final) {
		t.Fatalf("after the racing commits: count %s, want %d", got, final)
	}
	t.Logf("%d queries raced 25 commits; counts seen from %d to %d", len(seen), seen[0], seen[len(seen)-1])
}

// oneValue executes a prepared statement and returns its single value.
func oneValue(t *testing.T, st interface {
	ExecuteQuery(context.Context) (array.RecordReader, int64, error)
}) string {
	t.Helper()
	rdr, _, err := st.ExecuteQuery(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	var vals []string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			vals = append(vals, rec.Column(0).ValueStr(i))
		}
	}
	if err := rdr.Err(); err != nil || len(vals) != 1 {
		t.Fatalf("prepared statement: %v %v", vals, err)
	}
	return vals[0]
}

func TestTimeTravelAndCurrentQueriesInterleavedOnOneServer(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	s1 := l.appendRows(t, "transactions", makeRows("a", 4, day1)).CurrentSnapshot()
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)
	atS1 := fmt.Sprintf("SELECT count(*) FROM lake.transactions FOR VERSION AS OF %d", s1.SnapshotID)
	scanS1 := fmt.Sprintf("SELECT count(*) FROM (SELECT * FROM lake.transactions FOR VERSION AS OF %d)", s1.SnapshotID)
	if got := c.one("SELECT count(*) FROM lake.transactions"); got != "4" {
		t.Fatalf("current before the second commit: %s", got)
	}
	if err := c.exec("ALTER TABLE lake.transactions ADD COLUMN note STRING"); err != nil {
		t.Fatal(err)
	}
	rows := makeRows("b", 3, day1)
	for i := range rows {
		rows[i].Extra = map[string]any{"note": "n"}
	}
	l.appendRows(t, "transactions", rows)
	for round := 0; round < 2; round++ {
		for sql, want := range map[string]string{
			atS1: "4", scanS1: "4",
			"SELECT count(*) FROM lake.transactions":                    "7",
			"SELECT count(note) FROM lake.transactions":                 "3",
			"SELECT count(*) FROM lake.transactions WHERE note IS NULL": "4",
		} {
			if got := c.one(sql); got != want {
				t.Errorf("round %d: %s = %s, want %s", round, sql, got, want)
			}
		}
		_, sc, err := c.query(fmt.Sprintf("SELECT * FROM lake.transactions FOR VERSION AS OF %d", s1.SnapshotID))
		if err != nil || sc.HasField("note") {
			t.Errorf("round %d: the first snapshot's schema has no note column: %v %v", round, sc, err)
		}
		_, sc, err = c.query("SELECT * FROM lake.transactions")
		if err != nil || !sc.HasField("note") {
			t.Errorf("round %d: the current schema has the note column: %v %v", round, sc, err)
		}
	}
}

// arrowResult runs sql and returns its schema and rows, each value with its type.
func arrowResult(t *testing.T, c *client, sql string) (*arrow.Schema, []string) {
	t.Helper()
	st, err := c.conn.NewStatement()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.SetSqlQuery(sql); err != nil {
		t.Fatal(err)
	}
	rdr, _, err := st.ExecuteQuery(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rdr.Release()
	var out []string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			var row []string
			for _, col := range rec.Columns() {
				row = append(row, col.DataType().String()+":"+col.ValueStr(i))
			}
			out = append(out, strings.Join(row, ","))
		}
	}
	if err := rdr.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return rdr.Schema(), out
}

func TestCountStarFromMetadataEqualsDuckDBsAnswer(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	first := l.appendRows(t, "transactions", makeRows("a", 6, day1)).CurrentSnapshot()
	l.appendRows(t, "transactions", makeRows("b", 5, day1.Add(48*time.Hour)))
	l.createTx(t, "empty")
	l.createTx(t, "evolved")
	l.appendRows(t, "evolved", makeRows("e", 2, day1))
	meta := startServer(t, l, nil)
	duck := startServer(t, l, func(c *flight.Config) { c.NoMetadataAnswers = true })
	mc, dc := dial(t, meta.Addr(), nil), dial(t, duck.Addr(), nil)
	if err := mc.exec("ALTER TABLE lake.evolved ADD COLUMN score BIGINT"); err != nil {
		t.Fatal(err)
	}
	rows := makeRows("f", 3, day1)
	for i := range rows {
		rows[i].Extra = map[string]any{"score": int64(i)}
	}
	l.appendRows(t, "evolved", rows)

	for _, sql := range []string{
		"SELECT count(*) FROM lake.transactions",
		"select COUNT( * ) from transactions;",
		"SELECT count(*) AS n FROM finlake.lake.transactions t",
		`SELECT count(*) "Rows" FROM lake.transactions AS x`,
		"SELECT count(*) AS N FROM lake.transactions",
		fmt.Sprintf("SELECT count(*) FROM lake.transactions FOR VERSION AS OF %d", first.SnapshotID),
		"SELECT count(*) FROM lake.empty",
		"SELECT count(*) FROM lake.evolved",
	} {
		ms, mrows := arrowResult(t, mc, sql)
		ds, drows := arrowResult(t, dc, sql)
		if !ms.Equal(ds) || fmt.Sprint(mrows) != fmt.Sprint(drows) {
			t.Errorf("%s:\nmetadata answer %v %v\n  DuckDB answer %v %v", sql, ms, mrows, ds, drows)
		}
	}
	if got := mc.one("SELECT count(*) FROM lake.evolved"); got != "5" {
		t.Fatalf("evolved table count: %s, want 5", got)
	}
}

func TestCountStarIsAnsweredWithoutOpeningADataFile(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	l.appendRows(t, "transactions", makeRows("a", 6, day1))
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)
	files := c.mustQuery(`SELECT file_path FROM "transactions$files"`)
	for _, f := range files {
		if err := os.Remove(f[0]); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.one("SELECT count(*) FROM lake.transactions"); got != "6" {
		t.Fatalf("count(*) with the data files gone: %s, want 6 from the manifest list", got)
	}
	if _, _, err := c.query("SELECT count(*) FROM lake.transactions WHERE amount > 0"); err == nil {
		t.Fatal("a filtered count read no data file: it must, and fail with the files gone")
	}
}

func TestARepeatedQueryReusesItsDuckDBStatementYetSeesNewCommitsParametersAndTime(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	l.appendRows(t, "transactions", makeRows("a", 6, day1))
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)
	reused := func() int64 { return r.Server.Status().(map[string]any)["statements_reused"].(int64) }
	const filtered = "SELECT count(*) FROM lake.transactions WHERE amount > 0"
	if got := c.one(filtered); got != "6" {
		t.Fatalf("first run: %s", got)
	}
	before := reused()
	if got := c.one(filtered); got != "6" {
		t.Fatalf("second run: %s", got)
	}
	if reused() == before {
		t.Fatal("the second run of the same text prepared its statement anew: nothing is pooled")
	}
	l.appendRows(t, "transactions", makeRows("b", 2, day1))
	if got := c.one(filtered); got != "8" {
		t.Fatalf("after a commit of 2 rows: %s, want 8 (a pooled statement of the old snapshot ran)", got)
	}
	for _, id := range []string{"a-0001", "a-0002", "nope"} {
		want := "1"
		if id == "nope" {
			want = "0"
		}
		if got := c.one("SELECT count(*) FROM lake.transactions WHERE transaction_id = ?", id); got != want {
			t.Fatalf("count of %s: %s, want %s (the previous parameter stuck to a reused statement?)", id, got, want)
		}
	}
	first := c.one("SELECT CAST(epoch_us(now()) AS VARCHAR) || '/' || CAST(random() AS VARCHAR)")
	time.Sleep(5 * time.Millisecond)
	if again := c.one("SELECT CAST(epoch_us(now()) AS VARCHAR) || '/' || CAST(random() AS VARCHAR)"); again == first {
		t.Fatalf("now() and random() gave %s twice: a reused statement kept the first run's values", first)
	}
}
