package sqlrewrite

import "testing"

func TestCountStarRecognizesOnlyAnUnfilteredCountOfOneTable(t *testing.T) {
	for sql, want := range map[string]string{
		"SELECT count(*) FROM lake.transactions":                       "count_star()",
		"select COUNT( * ) from transactions;":                         "count_star()",
		"SELECT count(*) AS N FROM transactions t":                     "N",
		`SELECT count(*) "Rows" FROM finlake.lake.transactions AS x`:   "Rows",
		"SELECT count(*) FROM transactions FOR VERSION AS OF 12 AS t":  "count_star()",
		"SELECT count(*) FROM transactions FOR VERSION AS OF 12":       "count_star()",
		"SELECT /* c */ count(*) -- x\n FROM transactions":             "count_star()",
		"SELECT count(*) FROM transactions WHERE amount > 0":           "",
		"SELECT count(*) FROM transactions LIMIT 0":                    "",
		"SELECT count(*) FROM transactions GROUP BY currency":          "",
		"SELECT count(*) + 1 FROM transactions":                        "",
		"SELECT count(amount) FROM transactions":                       "",
		"SELECT count(*), 1 FROM transactions":                         "",
		"SELECT count(*) FROM transactions, alerts":                    "",
		"SELECT count(*) FROM transactions JOIN alerts USING (x)":      "",
		`SELECT count(*) FROM "transactions$files"`:                    "",
		"SELECT count(*) FROM (SELECT * FROM transactions)":            "",
		"SELECT count(*) FROM transactions UNION ALL SELECT 1":         "",
		"SELECT count(*) FROM transactions t QUALIFY true":             "",
		"SELECT count(DISTINCT *) FROM transactions":                   "",
		"SELECT count(*) FROM transactions ORDER BY 1":                 "",
		"WITH x AS (SELECT 1) SELECT count(*) FROM transactions":       "",
		"SELECT count(*) FILTER (WHERE amount > 0) FROM transactions":  "",
		"SELECT count(*) OVER () FROM transactions":                    "",
		"SELECT count(*) FROM transactions TABLESAMPLE 10%":            "",
		"SELECT count(*) FROM transactions USING SAMPLE 10":            "",
		"SELECT count(*) AS a, count(*) AS b FROM transactions":        "",
		"SELECT count(*) FROM transactions WHERE false":                "",
		"SELECT count(*) FROM transactions HAVING count(*) > 10":       "",
		"SELECT count(*) FROM transactions OFFSET 1":                   "",
		"SELECT count(*) FROM transactions; SELECT 1":                  "",
		"SELECT DISTINCT count(*) FROM transactions":                   "",
		"SELECT count(*) FROM transactions t, LATERAL (SELECT 1) AS l": "",
	} {
		q, err := Parse(sql, cat)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		got, ok := q.CountStar()
		if !ok {
			got = ""
		}
		if got != want {
			t.Errorf("%s: CountStar = %q (ok %v), want %q", sql, got, ok, want)
		}
	}
}
