//go:build duckdb_arrow

package flight_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/apache/arrow-adbc/go/adbc"
	adbcfs "github.com/apache/arrow-adbc/go/adbc/driver/flightsql"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/flight"
	"github.com/finlake/finlake/flight/share"
	"github.com/finlake/finlake/lake"
)

// alertSchema is an alerts-like table whose free text embeds the account id.
var alertSchema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "transaction_id", Type: iceberg.PrimitiveTypes.String, Required: true},
	iceberg.NestedField{ID: 2, Name: "timestamp", Type: iceberg.PrimitiveTypes.TimestampTz, Required: true},
	iceberg.NestedField{ID: 3, Name: "account_id", Type: iceberg.PrimitiveTypes.String, Required: true},
	iceberg.NestedField{ID: 4, Name: "amount", Type: iceberg.DecimalTypeOf(18, 2), Required: true},
	iceberg.NestedField{ID: 5, Name: "description", Type: iceberg.PrimitiveTypes.String},
)

const (
	readerToken = "reader-secret"
	shareToken  = "share-secret"
)

// realID is the shape of a real account id; no share result or error may hold one.
var realID = regexp.MustCompile(`AC[0-9]{7}`)

// shareLake is a lake with transactions and alerts of seven accounts with
// real-shaped ids (AC + 7 digits), served with a reader and a share token.
func shareLake(t *testing.T) (l *testLake, r *flight.Running, reader, sharer *client, ids []string) {
	t.Helper()
	l = newTestLake(t)
	l.createTx(t, "transactions")
	rows := makeRows("t", 40, day1)
	for i := range rows {
		rows[i].Account = fmt.Sprintf("AC%07d", 1000003+(i%7)*7919)
	}
	l.appendRows(t, "transactions", rows)
	if _, err := l.cat.CreateTable(context.Background(), lake.Ident("alerts"), alertSchema, catalog.WithProperties(nil)); err != nil {
		t.Fatal(err)
	}
	alerts := rows[:10]
	for i := range alerts {
		alerts[i].Extra = map[string]any{"description": fmt.Sprintf("5 transactions on account %s within 1m (rule rapid_activity fires at 5 or more)", alerts[i].Account)}
	}
	l.appendRows(t, "alerts", alerts)
	seen := map[string]bool{}
	for _, r := range rows {
		if !seen[r.Account] {
			seen[r.Account] = true
			ids = append(ids, r.Account)
		}
	}
	r = startServer(t, l, func(c *flight.Config) {
		c.Auth = &flight.Auth{ReaderToken: readerToken, ShareToken: shareToken}
	})
	reader = dial(t, r.Addr(), map[string]string{adbcfs.OptionAuthorizationHeader: "Bearer " + readerToken})
	sharer = dial(t, r.Addr(), map[string]string{adbcfs.OptionAuthorizationHeader: "Bearer " + shareToken})
	return l, r, reader, sharer, ids
}

func TestShareTokenGroupsAndJoinsByPseudonymsOfTheLakeKey(t *testing.T) {
	l, _, reader, sharer, _ := shareLake(t)
	key, err := share.LoadKey(contract.DataDir{Root: l.cfg.DataDir}.ShareKey())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, row := range reader.mustQuery("SELECT account_id, count(*) FROM transactions GROUP BY account_id") {
		want[share.Pseudonym(key, row[0])] = row[1]
	}
	got := sharer.mustQuery("SELECT account_id, count(*) FROM transactions GROUP BY account_id")
	if len(got) != len(want) {
		t.Fatalf("share GROUP BY gave %d groups, reader %d", len(got), len(want))
	}
	for _, row := range got {
		if want[row[0]] != row[1] {
			t.Errorf("share group %s has %s rows, the reader's group of that account %q", row[0], row[1], want[row[0]])
		}
	}
	// The same pseudonym in every table: the join and the description agree.
	joined := sharer.mustQuery(`SELECT a.account_id, a.description, count(*) FROM alerts a JOIN transactions t ON t.account_id = a.account_id GROUP BY ALL`)
	if len(joined) == 0 {
		t.Fatal("the join on pseudonyms matched nothing")
	}
	for _, row := range joined {
		if want[row[0]] == "" || !strings.Contains(row[1], row[0]) {
			t.Errorf("joined row %v: want a known pseudonym, also in the description", row)
		}
	}
	if st, err := os.Stat(contract.DataDir{Root: l.cfg.DataDir}.ShareKey()); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v, want mode 0600", st, err)
	}
}

func TestMaskHeaderMakesAReaderCallAShareSession(t *testing.T) {
	_, r, reader, sharer, _ := shareLake(t)
	masked := dial(t, r.Addr(), map[string]string{adbcfs.OptionAuthorizationHeader: "Bearer " + readerToken,
		adbcfs.OptionRPCCallHeaderPrefix + flight.MaskHeader: "true"})
	q := "SELECT account_id FROM transactions ORDER BY account_id LIMIT 1"
	if got, want := masked.one(q), sharer.one(q); got != want || !strings.HasPrefix(got, share.Prefix) {
		t.Fatalf("--mask reader sees %q, share token %q", got, want)
	}
	if got := reader.one(q); !realID.MatchString(got) {
		t.Fatalf("unmasked reader sees %q", got)
	}
	if err := masked.exec("ALTER TABLE lake.transactions ADD COLUMN note VARCHAR"); adbcStatus(err) != adbc.StatusUnauthorized {
		t.Fatalf("ALTER from a masked call: %v", err)
	}
}

// TestShareTokenCannotReadARawAccountID tries every way to the raw ids we
// could think of; no result and no error may hold one, and the reads of
// anything but the masked tables are refused outright.
func TestShareTokenCannotReadARawAccountID(t *testing.T) {
	l, _, reader, sharer, ids := shareLake(t)
	wh, err := l.cfg.WarehouseDir()
	if err != nil {
		t.Fatal(err)
	}
	file := reader.one(`SELECT file_path FROM "transactions$files" LIMIT 1`)
	snap := reader.one(`SELECT snapshot_id FROM "transactions$snapshots" ORDER BY committed_at LIMIT 1`)
	lit := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	type attempt struct {
		sql    string
		params []any
		refuse bool
	}
	corpus := []attempt{
		{sql: "SELECT * FROM transactions"},
		{sql: "SELECT * FROM lake.alerts"},
		{sql: "SELECT a FROM (SELECT account_id AS a FROM transactions) s"},
		{sql: "SELECT CAST(account_id AS BLOB), account_id::INTEGER FROM transactions"},
		{sql: "SELECT TRY_CAST(account_id AS INTEGER), hash(account_id), md5(account_id) FROM transactions"},
		{sql: "SELECT substr(account_id, 1, 9), upper(account_id), reverse(account_id), hex(account_id), account_id[3:] FROM transactions"},
		{sql: "SELECT description, regexp_extract(description, 'A.[0-9]+'), substr(description, strpos(description, 'AC'), 9) FROM alerts"},
		{sql: "SELECT CAST(description AS INTEGER) FROM alerts"},
		{sql: "SELECT CAST(substr(description, 27, 9) AS DATE) FROM alerts"},
		{sql: "SELECT min(account_id), max(account_id), min(description) FROM transactions, alerts"},
		{sql: "SELECT max(account_id) FROM transactions"},
		{sql: "SELECT account_id, count(*) FROM transactions GROUP BY ALL"},
		{sql: "WITH x AS (SELECT * FROM transactions) SELECT account_id FROM x"},
		{sql: "WITH RECURSIVE r(n, a) AS (SELECT 1, min(account_id) FROM transactions UNION ALL SELECT n + 1, a FROM r WHERE n < 3) SELECT a FROM r"},
		{sql: "SELECT * FROM transactions t JOIN alerts a USING (account_id)"},
		{sql: "SELECT (SELECT max(account_id) FROM transactions), list(account_id), string_agg(account_id, ','), {'a': account_id} FROM transactions"},
		{sql: "SELECT * FROM transactions FOR VERSION AS OF " + snap},
		{sql: "SELECT account_id FROM transactions UNION ALL SELECT 'literal'"},
		{sql: "SELECT * FROM transactions WHERE account_id = $1", params: []any{ids[0]}},
		{sql: "SELECT $1 || account_id, count(*) FROM transactions WHERE description IS NULL OR true GROUP BY 1", params: []any{"x"}},
		{sql: "SELECT count(*) FROM alerts WHERE description LIKE $1", params: []any{"%" + ids[0] + "%"}},
		{sql: `SELECT * FROM "transactions$snapshots"`},
		{sql: `SELECT * FROM "transactions$history"`},
		{sql: "SUMMARIZE transactions"},
		{sql: "DESCRIBE transactions"},
		{sql: `SELECT * FROM "transactions$files"`, refuse: true},
		{sql: "SELECT * FROM read_parquet(" + lit(file) + ")", refuse: true},
		{sql: "SELECT * FROM read_parquet(" + lit(wh+"/**/*.parquet") + ")", refuse: true},
		{sql: "SELECT * FROM parquet_scan(" + lit(file) + ")", refuse: true},
		{sql: "SELECT * FROM parquet_metadata(" + lit(file) + ")", refuse: true},
		{sql: "SELECT * FROM " + lit(file), refuse: true},
		{sql: `SELECT * FROM "` + file + `"`, refuse: true},
		{sql: "SELECT * FROM glob(" + lit(wh+"/**") + ")", refuse: true},
		{sql: "SELECT * FROM read_text(" + lit(file) + ")", refuse: true},
		{sql: "SELECT * FROM read_csv(" + lit(file) + ", all_varchar=true)", refuse: true},
		{sql: "SELECT * FROM query('SELECT * FROM read_parquet(''" + file + "'')')", refuse: true},
		{sql: "SELECT * FROM query_table('transactions')", refuse: true},
		{sql: "SELECT * FROM duckdb_tables()", refuse: true},
		{sql: "SELECT * FROM information_schema.tables", refuse: true},
		{sql: "SELECT * FROM (TABLE transactions)", refuse: true},
		{sql: "TABLE transactions", refuse: true},
		{sql: "SELECT * FROM (SUMMARIZE transactions)", refuse: true},
		{sql: "EXPLAIN SELECT * FROM transactions", refuse: true},
		{sql: "EXPLAIN ANALYZE SELECT account_id FROM transactions WHERE account_id > 'A'", refuse: true},
		{sql: "SHOW transactions", refuse: true},
		{sql: "SELECT * FROM transactions, LATERAL (SELECT * FROM read_parquet(" + lit(file) + "))", refuse: true},
		{sql: "SELECT * FROM (transactions CROSS JOIN read_parquet(" + lit(file) + "))", refuse: true},
		{sql: "SELECT * FROM range(3) r, read_csv_auto(" + lit(file) + ")", refuse: true},
		{sql: "SELECT * FROM pragma_table_info('transactions')", refuse: true},
		{sql: "FROM read_parquet(" + lit(file) + ") SELECT account_id", refuse: true},
		{sql: "SELECT * FROM transactions WHERE EXISTS (FROM read_parquet(" + lit(file) + "))", refuse: true},
		{sql: "PIVOT transactions ON currency USING count(*)", refuse: true},
	}
	for _, a := range corpus {
		rows, _, err := sharer.query(a.sql, a.params...)
		var out strings.Builder
		for _, row := range rows {
			out.WriteString(strings.Join(row, "|") + "\n")
		}
		if err != nil {
			out.WriteString(err.Error())
		}
		if m := realID.FindString(out.String()); m != "" {
			t.Errorf("%q: the share token saw %s:\n%s", a.sql, m, out.String())
		}
		for _, id := range ids {
			if strings.Contains(out.String(), id[2:]) {
				t.Errorf("%q: the share token saw the digits of %s", a.sql, id)
			}
		}
		switch {
		case a.refuse && (err == nil || adbcStatus(err) != adbc.StatusUnauthorized):
			t.Errorf("%q: want a share refusal (PermissionDenied), got %v, %d rows", a.sql, err, len(rows))
		case err != nil && strings.Contains(err.Error(), "result withheld"):
			t.Errorf("%q: only the last check stopped it: %v", a.sql, err)
		}
	}
	if got := sharer.one("SELECT count(*) FROM alerts WHERE description LIKE $1", "%"+ids[0]+"%"); got != "0" {
		t.Errorf("a share session can test descriptions for a raw id: %s matches", got)
	}
}
