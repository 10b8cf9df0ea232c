package sqlrewrite

import (
	"strings"
	"testing"
)

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

func TestMinMaxRecognizesOnlyMinAndMaxOfColumnsOfOneTable(t *testing.T) {
	for sql, want := range map[string]string{
		"SELECT min(day) FROM lake.transactions":                                  "day",
		"select MAX( day ) from transactions;":                                    "day",
		"SELECT min(day) AS lo, max(day) hi FROM transactions t":                  "day",
		`SELECT min("timestamp") "Lo", max(t."Timestamp") FROM transactions AS t`: "timestamp",
		"SELECT min(a), max(b), min(a) FROM transactions FOR VERSION AS OF 12":    "a,b",
		"SELECT min(day) FROM transactions WHERE amount > 0":                      "",
		"SELECT min(day) FROM transactions GROUP BY currency":                     "",
		"SELECT min(day) FROM transactions LIMIT 0":                               "",
		"SELECT min(day), count(*) FROM transactions":                             "",
		"SELECT min(day) + 1 FROM transactions":                                   "",
		"SELECT min(day)::VARCHAR FROM transactions":                              "",
		"SELECT min(DISTINCT day) FROM transactions":                              "",
		"SELECT min(day + 1) FROM transactions":                                   "",
		"SELECT min(day) FILTER (WHERE amount > 0) FROM transactions":             "",
		"SELECT min(day) OVER () FROM transactions":                               "",
		"SELECT min(day), FROM transactions":                                      "",
		"SELECT day FROM transactions":                                            "",
		"SELECT sum(day) FROM transactions":                                       "",
		"SELECT min(day) FROM transactions, alerts":                               "",
		`SELECT min(day) FROM "transactions$files"`:                               "",
		"SELECT min(day) FROM (SELECT * FROM transactions)":                       "",
		"SELECT min((SELECT 1 FROM alerts)) FROM transactions":                    "",
		"SELECT min(day) FROM transactions UNION ALL SELECT 1":                    "",
		"SELECT DISTINCT min(day) FROM transactions":                              "",
		"SELECT min(day) FROM transactions TABLESAMPLE 10%":                       "",
	} {
		q, err := Parse(sql, cat)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		cols, ok := q.MinMax()
		got := strings.ToLower(strings.Join(cols, ","))
		if !ok {
			got = ""
		}
		if got != want {
			t.Errorf("%s: MinMax = %q (ok %v), want %q", sql, got, ok, want)
		}
	}
}
