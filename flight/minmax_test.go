//go:build duckdb_arrow

package flight_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"

	"github.com/finlake/finlake/flight"
	"github.com/finlake/finlake/lake"
)

// createByCurrency creates lake.<name> partitioned by identity(currency) and
// day(timestamp).
func (l *testLake) createByCurrency(t *testing.T, name string) {
	t.Helper()
	spec := iceberg.NewPartitionSpec(
		iceberg.PartitionField{SourceIDs: []int{5}, FieldID: 1000, Name: "currency", Transform: iceberg.IdentityTransform{}},
		iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1001, Name: "timestamp_day", Transform: iceberg.DayTransform{}})
	if _, err := l.cat.CreateTable(context.Background(), lake.Ident(name), txSchema, catalog.WithPartitionSpec(&spec)); err != nil {
		t.Fatal(err)
	}
}

// deleteWhere deletes the rows matching pred, merge-on-read (positional
// delete files) or copy-on-write (data files rewritten).
func (l *testLake) deleteWhere(t *testing.T, name string, pred iceberg.BooleanExpression, mergeOnRead bool) {
	t.Helper()
	ctx := context.Background()
	tbl, err := l.cat.LoadTable(ctx, lake.Ident(name))
	if err != nil {
		t.Fatal(err)
	}
	if mergeOnRead {
		tx := tbl.NewTransaction()
		if err := tx.SetProperties(map[string]string{"write.delete.mode": "merge-on-read"}); err != nil {
			t.Fatal(err)
		}
		if tbl, err = tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tbl.Delete(ctx, pred, nil); err != nil {
		t.Fatal(err)
	}
}

func TestMinMaxOfPartitionColumnsFromMetadataEqualsDuckDBsAnswer(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	first := l.appendRows(t, "transactions", makeRows("a", 6, day1.Add(1234567*time.Microsecond))).CurrentSnapshot()
	l.appendRows(t, "transactions", makeRows("b", 5, day1.Add(48*time.Hour+7*time.Microsecond)))
	l.createTx(t, "empty")
	l.createByCurrency(t, "bycurrency")
	l.appendRows(t, "bycurrency", makeRows("c", 5, day1))
	l.appendRows(t, "bycurrency", makeRows("d", 2, day1.Add(-72*time.Hour)))
	// The latest row deleted by rewriting its file: the manifests list the
	// old file as deleted, and its bounds must not count.
	l.createTx(t, "rewritten")
	l.appendRows(t, "rewritten", makeRows("r", 4, day1))
	l.deleteWhere(t, "rewritten", iceberg.EqualTo(iceberg.Reference("transaction_id"), "r-0003"), false)
	// Deleted by a positional delete file: the data file's bounds still span
	// the deleted row, so only DuckDB can answer.
	l.createTx(t, "posdeleted")
	l.appendRows(t, "posdeleted", makeRows("p", 4, day1))
	l.deleteWhere(t, "posdeleted", iceberg.EqualTo(iceberg.Reference("transaction_id"), "p-0003"), true)

	meta := startServer(t, l, nil)
	duck := startServer(t, l, func(c *flight.Config) { c.NoMetadataAnswers = true })
	mc, dc := dial(t, meta.Addr(), nil), dial(t, duck.Addr(), nil)
	for _, sql := range []string{
		"SELECT min(timestamp), max(timestamp) FROM lake.transactions",
		`SELECT max("timestamp") AS last FROM transactions t`,
		"SELECT min(t.Timestamp) lo, MAX(timestamp) FROM finlake.lake.transactions AS t;",
		fmt.Sprintf("SELECT min(timestamp), max(timestamp) FROM lake.transactions FOR VERSION AS OF %d", first.SnapshotID),
		"SELECT min(timestamp), max(timestamp) FROM lake.empty",
		"SELECT min(currency), max(currency), min(timestamp), max(timestamp) FROM lake.bycurrency",
		"SELECT max(timestamp) FROM lake.rewritten",
		"SELECT max(timestamp) FROM lake.posdeleted",
		"SELECT min(amount), max(account_id) FROM lake.transactions",
	} {
		ms, mrows := arrowResult(t, mc, sql)
		ds, drows := arrowResult(t, dc, sql)
		if !ms.Equal(ds) || fmt.Sprint(mrows) != fmt.Sprint(drows) {
			t.Errorf("%s:\nmetadata answer %v %v\n  DuckDB answer %v %v", sql, ms, mrows, ds, drows)
		}
	}
}

func TestMinMaxOfPartitionColumnsIsAnsweredWithoutOpeningADataFile(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	l.appendRows(t, "transactions", makeRows("a", 6, day1.Add(1234567*time.Microsecond)))
	l.createByCurrency(t, "bycurrency")
	l.appendRows(t, "bycurrency", makeRows("c", 5, day1))
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)
	want := c.mustQuery("SELECT min(timestamp), max(timestamp) FROM lake.transactions")
	for _, tbl := range []string{"transactions", "bycurrency"} {
		for _, f := range c.mustQuery(fmt.Sprintf(`SELECT file_path FROM "%s$files"`, tbl)) {
			if err := os.Remove(f[0]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := c.mustQuery("SELECT min(timestamp), max(timestamp) FROM lake.transactions"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("min/max with the data files gone: %v, want %v from the manifests", got, want)
	}
	if got := c.mustQuery("SELECT min(currency) AS lo, max(currency) AS hi FROM lake.bycurrency"); fmt.Sprint(got) != "[[EUR USD]]" {
		t.Fatalf("min/max of an identity partition with the data files gone: %v, want [[EUR USD]] from the manifest list", got)
	}
	if _, _, err := c.query("SELECT min(amount) FROM lake.transactions"); err == nil {
		t.Fatal("min of a column that is no partition source read no data file: it must, and fail with the files gone")
	}
}
