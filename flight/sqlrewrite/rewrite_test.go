package sqlrewrite

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

type fakeCat map[string]bool

func (fakeCat) Namespace() string           { return "lake" }
func (fakeCat) CatalogName() string         { return "finlake" }
func (c fakeCat) HasTable(name string) bool { return c[name] }

var cat = fakeCat{"transactions": true, "alerts": true}

// rewrite replaces every reference with <name|asof> so tests can see what was found.
func rewrite(t *testing.T, sql string) string {
	t.Helper()
	q, err := Parse(sql, cat)
	if err != nil {
		t.Fatalf("Parse(%q): %v", sql, err)
	}
	out, err := q.Render(func(i int, r Ref) (string, error) {
		return fmt.Sprintf("<%s|%s>", r.Name(), r.AsOf), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTokensConcatenateBackToTheInput(t *testing.T) {
	sql := "SELECT 'it''s', E'a\\'b', $x$ FROM t $x$, \"we\"\"ird\", 1.5e-3, $1, ? -- c\n/* a /* nested */ b */ x"
	toks, err := Tokenize(sql)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, tk := range toks {
		b.WriteString(tk.Text)
	}
	if b.String() != sql {
		t.Fatalf("round trip\n got %q\nwant %q", b.String(), sql)
	}
}

func TestUnterminatedLiteralIsASyntaxError(t *testing.T) {
	for _, sql := range []string{"SELECT 'abc", `SELECT "abc`, "SELECT /* x", "SELECT $a$ x"} {
		if _, err := Tokenize(sql); !errors.Is(err, ErrSyntax) {
			t.Errorf("Tokenize(%q) = %v, want ErrSyntax", sql, err)
		}
	}
}

func TestRewriteFindsTableReferences(t *testing.T) {
	cases := []struct{ in, want string }{
		{"SELECT * FROM transactions", `SELECT * FROM <transactions|current> AS "transactions"`},
		{"SELECT * FROM lake.transactions t", `SELECT * FROM <transactions|current> t`},
		{"select * from FINLAKE.LAKE.Transactions as x", `select * from <transactions|current> as x`},
		{`SELECT * FROM "lake"."transactions" WHERE 1=1`, `SELECT * FROM <transactions|current> AS "transactions" WHERE 1=1`},
		{"SELECT * FROM transactions JOIN alerts USING (transaction_id)", `SELECT * FROM <transactions|current> AS "transactions" JOIN <alerts|current> AS "alerts" USING (transaction_id)`},
		{"SELECT * FROM transactions a, alerts b", `SELECT * FROM <transactions|current> a, <alerts|current> b`},
		{"SELECT (SELECT count(*) FROM alerts) FROM (SELECT * FROM transactions) s", `SELECT (SELECT count(*) FROM <alerts|current> AS "alerts") FROM (SELECT * FROM <transactions|current> AS "transactions") s`},
		{`SELECT * FROM "transactions$snapshots"`, `SELECT * FROM <transactions$snapshots|current> AS "transactions$snapshots"`},
		{`SELECT * FROM lake."transactions$files" f`, `SELECT * FROM <transactions$files|current> f`},
		{"SELECT * FROM lake.transactions FOR VERSION AS OF 42", `SELECT * FROM <transactions|version 42> AS "transactions"`},
		{"SELECT * FROM transactions FOR TIMESTAMP AS OF TIMESTAMP '2026-11-26 01:00:00+00' t WHERE x", `SELECT * FROM <transactions|timestamp 2026-11-26T01:00:00Z> t WHERE x`},
		{"DESCRIBE lake.transactions", `DESCRIBE SELECT * FROM <transactions|current> AS "transactions"`},
		{"SELECT * FROM transactions FOR SYSTEM_TIME AS OF '2026-11-26T01:00:00.5Z'", `SELECT * FROM <transactions|timestamp 2026-11-26T01:00:00.5Z> AS "transactions"`},
	}
	for _, c := range cases {
		if got := rewrite(t, c.in); got != c.want {
			t.Errorf("rewrite(%q)\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

func TestRewriteLeavesLiteralsCommentsColumnsAndOtherTablesAlone(t *testing.T) {
	for _, sql := range []string{
		"SELECT 'FROM transactions' AS s",
		"SELECT 1 -- FROM transactions\n",
		"SELECT 1 /* FROM lake.transactions */",
		`SELECT "FROM transactions" FROM range(3)`,
		"SELECT count(*) AS transactions, transactions FROM range(3)",
		"SELECT $$ FROM transactions $$",
		"WITH transactions AS (SELECT 1 AS x) SELECT * FROM transactions",
		"SELECT * FROM other.transactions",
		"SELECT * FROM transactions_archive",
		"SELECT * FROM read_parquet('x') transactions",
		"SELECT E'it\\'s FROM transactions'",
	} {
		if got := rewrite(t, sql); got != sql {
			t.Errorf("rewrite(%q) changed it to %q", sql, got)
		}
	}
}

func TestQualifiedUnknownTableIsAnError(t *testing.T) {
	for _, sql := range []string{"SELECT * FROM lake.nope", `SELECT * FROM lake."transactions$partitions"`} {
		if _, err := Parse(sql, cat); !errors.Is(err, ErrUnknownTable) {
			t.Errorf("Parse(%q) = %v, want ErrUnknownTable", sql, err)
		}
	}
}

func TestBadTimeTravelClausesAreErrors(t *testing.T) {
	for _, sql := range []string{
		"SELECT * FROM transactions FOR VERSION AS OF abc",
		"SELECT * FROM transactions FOR TIMESTAMP AS OF TIMESTAMP 'yesterday'",
		"SELECT * FROM transactions FOR BRANCH AS OF 1",
		"SELECT * FROM transactions FOR TIMESTAMP OF '2026-01-01'",
	} {
		if _, err := Parse(sql, cat); err == nil {
			t.Errorf("Parse(%q) accepted a bad time-travel clause", sql)
		}
	}
}

func TestParseAsOfHeader(t *testing.T) {
	a, err := ParseAsOf("2026-11-26T01:02:03Z")
	if err != nil || a.Kind != Timestamp || !a.Time.Equal(time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC)) {
		t.Fatalf("timestamp: %+v %v", a, err)
	}
	a, err = ParseAsOf("8744736658442914487")
	if err != nil || a.Kind != Version || a.Version != 8744736658442914487 {
		t.Fatalf("version: %+v %v", a, err)
	}
	if _, err := ParseAsOf("last tuesday"); err == nil {
		t.Fatal("accepted garbage")
	}
}

func TestStatementCountIgnoresSemicolonsInLiterals(t *testing.T) {
	cases := map[string]int{"SELECT ';'": 1, "SELECT 1;": 1, "SELECT 1; SELECT 2": 2, "SELECT 1; -- x;\n": 1, "": 0}
	for sql, want := range cases {
		toks, err := Tokenize(sql)
		if err != nil {
			t.Fatal(err)
		}
		if got := StatementCount(toks); got != want {
			t.Errorf("StatementCount(%q) = %d, want %d", sql, got, want)
		}
	}
}

func TestParseAddColumn(t *testing.T) {
	toks, _ := Tokenize("ALTER TABLE lake.transactions ADD COLUMN risk_score DECIMAL(5, 2) COMMENT 'model v2''s score';")
	ac, err := ParseAddColumn(toks, "lake")
	if err != nil {
		t.Fatal(err)
	}
	want := AddColumn{Table: "transactions", Column: "risk_score", Type: "DECIMAL", Precision: 5, Scale: 2, Comment: "model v2's score"}
	if *ac != want {
		t.Fatalf("got %+v want %+v", *ac, want)
	}
	for _, bad := range []string{
		"ALTER TABLE lake.t DROP COLUMN x", "ALTER TABLE lake.t ADD COLUMN x", "ALTER TABLE lake.t ADD COLUMN x GEOMETRY",
		"ALTER TABLE other.t ADD COLUMN x INT", "ALTER TABLE lake.t ADD COLUMN x INT NOT NULL", "ALTER TABLE lake.t ADD COLUMN x DECIMAL(40,2)",
	} {
		toks, _ := Tokenize(bad)
		if _, err := ParseAddColumn(toks, "lake"); err == nil {
			t.Errorf("ParseAddColumn(%q) accepted it", bad)
		}
	}
}

func TestRenderedOffsetsMapBackToTheOriginalText(t *testing.T) {
	sql := "SELECT nosuch\nFROM lake.transactions t WHERE x = 1"
	q, err := Parse(sql, cat)
	if err != nil {
		t.Fatal(err)
	}
	r, err := q.RenderMapped(func(int, Ref) (string, error) { return "read_parquet(['/wh/a.parquet'])", nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ rewritten, original string }{
		{"nosuch", "nosuch"}, {"read_parquet", "lake.transactions"}, {"/wh/a", "lake.transactions"}, {"x = 1", "x = 1"},
	} {
		if got := r.Original(strings.Index(r.SQL, c.rewritten)); got != strings.Index(sql, c.original) {
			t.Errorf("%q at %d in the rewritten text maps to %d, want %d (%q)", c.rewritten, strings.Index(r.SQL, c.rewritten), got, strings.Index(sql, c.original), c.original)
		}
	}
	if got := r.Original(len(r.SQL)); got != len(sql) {
		t.Errorf("the end maps to %d, want %d", got, len(sql))
	}
}

func TestProjectionIsRecognizedOnlyWhereNoNullCanAppear(t *testing.T) {
	for sql, want := range map[string]string{
		"SELECT * FROM lake.transactions":                                           "*",
		"select t.*, t.amount a, currency AS c FROM transactions AS t WHERE x > 1":  "* amount currency",
		"SELECT DISTINCT \"Amount\" FROM transactions FOR VERSION AS OF 3 LIMIT 1;": "Amount",
		"SELECT amount + 1 FROM transactions":                                       "",
		"SELECT x.amount FROM transactions t":                                       "", // a struct field, not t's column
		"SELECT * FROM transactions, range(3)":                                      "",
		"SELECT * FROM transactions t LEFT JOIN range(3) r ON true":                 "",
		"SELECT amount FROM transactions GROUP BY amount":                           "",
		"SELECT amount FROM transactions UNION ALL SELECT NULL":                     "",
		"SELECT * FROM (SELECT * FROM transactions)":                                "",
		"SELECT * FROM transactions JOIN alerts USING (account_id)":                 "",
		"WITH x AS (SELECT * FROM transactions) SELECT * FROM x":                    "",
	} {
		q, err := Parse(sql, cat)
		if err != nil {
			t.Fatal(err)
		}
		cols, ok := q.Projection()
		var got []string
		for _, c := range cols {
			if c.Star {
				got = append(got, "*")
			} else {
				got = append(got, c.Name)
			}
		}
		if g := strings.Join(got, " "); ok != (want != "") || g != want {
			t.Errorf("%s: Projection() = %q, %v; want %q", sql, g, ok, want)
		}
	}
}
