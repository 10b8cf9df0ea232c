//go:build duckdb_arrow

package flight_test

import (
	"testing"
	"time"
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
