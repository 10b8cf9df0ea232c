package sqlrewrite

import "testing"

func TestForeignListsEverythingReadBesidesLakeTablesAndCTEs(t *testing.T) {
	for sql, want := range map[string]int{
		"SELECT * FROM transactions":                                         0,
		"SELECT * FROM lake.transactions t JOIN alerts a USING (account_id)": 0,
		"WITH x AS (SELECT 1) SELECT * FROM x, transactions":                 0,
		"SELECT * FROM (SELECT * FROM transactions) s, range(3) r":           0,
		"SELECT * FROM (VALUES (1), (2)) v(x)":                               0,
		"SELECT * FROM (WITH y AS (SELECT 1) SELECT * FROM y)":               0,
		"DESCRIBE transactions":                                              0,
		"SELECT * FROM read_parquet('f.parquet')":                            1,
		"SELECT * FROM 'f.parquet'":                                          1,
		`SELECT * FROM "f.parquet"`:                                          1,
		"SELECT * FROM main.secret":                                          1,
		"SELECT * FROM (transactions CROSS JOIN read_csv('x'))":              1,
		"SELECT * FROM transactions, LATERAL (SELECT * FROM glob('*'))":      1,
		"SELECT * FROM (TABLE hidden)":                                       2, // the keyword and the name
		"SELECT * FROM (SUMMARIZE hidden)":                                   2,
		"SELECT * FROM transactions WHERE EXISTS (FROM query('SELECT 1'))":   1,
		"SELECT (SELECT count(*) FROM duckdb_tables()) FROM transactions":    1,
	} {
		q, err := Parse(sql, cat)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if len(q.Foreign) != want {
			t.Errorf("%s: foreign %v, want %d", sql, q.Foreign, want)
		}
	}
}
