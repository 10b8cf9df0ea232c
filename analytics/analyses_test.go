package analytics

import (
	"strings"
	"testing"
	"time"

	"github.com/finlake/finlake/analytics/queries"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestEveryShippedAnalysisParsesAndRendersWithItsDefaults(t *testing.T) {
	all, err := Load(queries.FS)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"alert_rate", "alerts_with_transactions", "daily_volume", "new_country_activity", "snapshot_diff",
		"spend_by_category", "status_funnel", "storage_latency", "top_flagged_accounts"}
	var got []string
	for _, a := range all {
		got = append(got, a.Name)
		if a.Description == "" {
			t.Errorf("%s has no description", a.Name)
		}
		values := map[string]string{}
		for _, p := range a.Params {
			if p.Default == "" {
				values[p.Name] = "42" // snapshot_diff's before: a snapshot id
			}
		}
		sql, err := a.Render(values, now)
		if err != nil {
			t.Errorf("%s: %v", a.Name, err)
			continue
		}
		if left := Placeholders(sql); len(left) > 0 {
			t.Errorf("%s: placeholders left after rendering: %v", a.Name, left)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("analyses = %v, want %v", got, want)
	}
}

func TestStringParameterCannotEscapeItsLiteral(t *testing.T) {
	a, err := Parse("x.sql", "-- param: who varchar\nSELECT * FROM lake.alerts WHERE account_id = :who")
	if err != nil {
		t.Fatal(err)
	}
	sql, err := a.Render(map[string]string{"who": "x'; DROP TABLE t; --"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := "account_id = 'x''; DROP TABLE t; --'"; !strings.HasSuffix(sql, want) {
		t.Fatalf("got %q, want suffix %q", sql, want)
	}
}

func TestPlaceholdersInsideStringsCommentsAndCastsAreLeftAlone(t *testing.T) {
	sql := "SELECT ':a', \":a\", x::DATE, :a /* :a */ -- :a\n, :b"
	got, err := Substitute(sql, map[string]string{"a": "1", "b": "2"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "SELECT ':a', \":a\", x::DATE, 1 /* :a */ -- :a\n, 2"; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestValuesAreCheckedAgainstTheDeclaredType(t *testing.T) {
	cases := []struct{ typ, value, want string }{
		{"date", "2026-11-26", "DATE '2026-11-26'"},
		{"date", "yesterday", "DATE '2026-11-25'"},
		{"timestamp", "-1h", "TIMESTAMPTZ '2026-11-26T11:00:00Z'"},
		{"bigint", "20", "20"},
		{"double", "10000.50", "10000.50"},
		{"boolean", "true", "TRUE"},
		{"asof", "123", "FOR VERSION AS OF 123"},
		{"asof", "2026-11-26T01:00:00Z", "FOR TIMESTAMP AS OF TIMESTAMPTZ '2026-11-26T01:00:00Z'"},
		{"asof", "current", ""},
	}
	for _, c := range cases {
		got, err := Literal(c.typ, c.value, now)
		if err != nil || got != c.want {
			t.Errorf("Literal(%s, %q) = %q, %v; want %q", c.typ, c.value, got, err, c.want)
		}
	}
	for _, bad := range [][2]string{{"date", "26/11/2026"}, {"bigint", "1; DROP"}, {"double", "1e400"}, {"timestamp", "soon"}, {"boolean", "maybe"}} {
		if _, err := Literal(bad[0], bad[1], now); err == nil {
			t.Errorf("Literal(%s, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestUnknownAndMissingParametersAreReported(t *testing.T) {
	a, err := Parse("x.sql", "-- name: x\n-- param: day date\nSELECT :day")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Render(nil, now); err == nil || !strings.Contains(err.Error(), "--param day=") {
		t.Errorf("missing parameter: %v", err)
	}
	if _, err := a.Render(map[string]string{"day": "2026-11-26", "dya": "1"}, now); err == nil || !strings.Contains(err.Error(), `no parameter "dya"`) {
		t.Errorf("unknown parameter: %v", err)
	}
	if _, err := Parse("y.sql", "-- name: y\nSELECT :undeclared"); err == nil {
		t.Error("an undeclared placeholder was accepted")
	}
}
