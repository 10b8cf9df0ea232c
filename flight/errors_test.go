//go:build duckdb_arrow

package flight_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-adbc/go/adbc"

	"github.com/finlake/finlake/flight"
	fc "github.com/finlake/finlake/flight/client"
)

func TestQueryErrorsPointIntoTheUsersSQLNotTheRewrittenOne(t *testing.T) {
	l, wh := newLakeWithFiveTransactions(t)
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)
	for _, tc := range []struct{ sql, excerpt string }{
		// Bound when the query is planned.
		{"SELECT nosuch_column FROM lake.transactions", "LINE 1: SELECT nosuch_column FROM lake.transactions\n               ^"},
		{"SELECT amount\nFROM lake.transactions t\nWHERE t.nosuch_column = 1", "LINE 3: WHERE t.nosuch_column = 1\n              ^"},
		// DuckDB's positions count bytes, the caret characters.
		{"SELECT 'é' AS e, nosuch_column FROM lake.transactions", "LINE 1: SELECT 'é' AS e, nosuch_column FROM lake.transactions\n" + strings.Repeat(" ", 25) + "^"},
		// A long line is cut around the position, as DuckDB cuts it.
		{"SELECT transaction_id, account_id, amount, currency, timestamp, nosuch_column, transaction_id AS again FROM lake.transactions",
			"LINE 1: ...unt_id, amount, currency, timestamp, nosuch_column, transaction_id AS agai...\n" + strings.Repeat(" ", 48) + "^"},
		// Failing while the result streams.
		{"SELECT amount + 'x' FROM lake.transactions", "LINE 1: SELECT amount + 'x' FROM lake.transactions\n                        ^"},
	} {
		_, _, err := c.query(tc.sql)
		if adbcStatus(err) != adbc.StatusInvalidArgument {
			t.Errorf("%q: want InvalidArgument, got %v", tc.sql, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.excerpt) || strings.Contains(msg, "read_parquet") || strings.Contains(msg, wh) {
			t.Errorf("%q: want the user's text with a caret\n%s\nand neither read_parquet nor %s, got\n%s", tc.sql, tc.excerpt, wh, msg)
		}
	}
}

func TestEachRefusalSaysWhyItWasRefused(t *testing.T) {
	l, wh := newLakeWithFiveTransactions(t)
	secret := filepath.Join(filepath.Dir(wh), "secret.csv") // next to the warehouse, outside it
	if err := os.WriteFile(secret, []byte("k,v\npassword,hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := startServer(t, l, func(c *flight.Config) { c.Auth = &flight.Auth{ReaderToken: "r", AdminToken: "a"} })
	reader := dial(t, r.Addr(), map[string]string{"adbc.flight.sql.authorization_header": "Bearer r"})
	admin := "schema changes need the admin token"
	file := "queries read the lake's tables only"
	statement := "the server answers read queries (SELECT ...) only"
	for _, tc := range []struct {
		sql, server, advice string
		update              bool
	}{
		{sql: "ALTER TABLE lake.transactions ADD COLUMN x INT", server: "need the admin token", advice: admin, update: true},
		{sql: "ALTER TABLE lake.transactions ADD COLUMN x INT", server: "need the admin token", advice: admin},
		{sql: "SELECT * FROM read_csv('/etc/passwd')", server: "file access refused: the server reads only the lake's tables", advice: file},
		{sql: "SELECT * FROM read_csv('" + secret + "')", server: "file access refused: the server reads only the lake's tables", advice: file},
		{sql: "COPY (SELECT 1) TO '" + filepath.Join(wh, "x.csv") + "'", server: "only read queries (SELECT) are allowed, not COPY", advice: statement},
		{sql: "DELETE FROM lake.transactions", server: "only read queries (SELECT) are allowed, not DELETE", advice: statement, update: true},
		{sql: "SELECT 1; SELECT 2", server: "2 statements in one query", advice: statement},
	} {
		var err error
		if tc.update {
			err = reader.exec(tc.sql)
		} else {
			_, _, err = reader.query(tc.sql)
		}
		if adbcStatus(err) != adbc.StatusUnauthorized || !strings.Contains(err.Error(), tc.server) {
			t.Errorf("%q: want PermissionDenied saying %q, got %v", tc.sql, tc.server, err)
			continue
		}
		explained := fc.Explain(fc.Config{}, err).(*fc.Error)
		if explained.Kind != fc.KindPermission || !strings.HasPrefix(explained.Advice, tc.advice) {
			t.Errorf("%q: want the advice %q, got %q", tc.sql, tc.advice, explained.Advice)
		}
		for _, other := range []string{admin, file, statement} {
			if other != tc.advice && strings.Contains(err.Error()+explained.Advice, other) {
				t.Errorf("%q: the refusal speaks of another reason (%q): %v", tc.sql, other, explained)
			}
		}
	}
}
