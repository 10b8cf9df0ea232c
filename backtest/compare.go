//go:build duckdb_arrow

package backtest

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/finlake/finlake/flight/client"
	"github.com/finlake/finlake/flight/engine"
)

// comparer answers the report's questions with an embedded DuckDB over the
// two alert files of the work directory (the live alerts of the window and
// the replay's), joined on alert_id, so no alert set is held in Go.
type comparer struct {
	db   *engine.DB
	conn *engine.Conn
	pre  string // the CTEs every query starts with
}

func openComparer(work string, from, to int64) (*comparer, error) {
	db, err := engine.Open(engine.Options{AllowedDirs: []string{work}, TempDir: filepath.Join(work, "duckdb-tmp"),
		MemoryLimit: "512MB", Threads: 2})
	if err != nil {
		return nil, err
	}
	conn, err := db.Connect()
	if err != nil {
		db.Close()
		return nil, err
	}
	q := engine.QuoteString
	pre := fmt.Sprintf(`WITH live AS (
  SELECT alert_id, transaction_id, account_id, rule_name, rule_version, description, ts_us
  FROM read_json(%s, format='newline_delimited', columns={alert_id:'VARCHAR', transaction_id:'VARCHAR', account_id:'VARCHAR',
    rule_name:'VARCHAR', rule_version:'BIGINT', description:'VARCHAR', ts_us:'BIGINT'})),
cand AS (
  SELECT * FROM (
    SELECT alert_id, transaction_id, account_id, rule_name, rule_version, description,
      epoch_us(CAST("transaction"."timestamp" AS TIMESTAMPTZ)) AS ts_us
    FROM read_json(%s, format='newline_delimited', columns={alert_id:'VARCHAR', transaction_id:'VARCHAR', account_id:'VARCHAR',
      rule_name:'VARCHAR', rule_version:'BIGINT', description:'VARCHAR', "transaction":'STRUCT("timestamp" VARCHAR)'}))
  WHERE ts_us >= %d AND ts_us < %d),
j AS (
  SELECT coalesce(l.rule_name, c.rule_name) AS rule_name, coalesce(l.alert_id, c.alert_id) AS alert_id,
    coalesce(l.transaction_id, c.transaction_id) AS transaction_id, coalesce(l.account_id, c.account_id) AS account_id,
    coalesce(l.ts_us, c.ts_us) AS ts_us, l.alert_id IS NOT NULL AS in_live, c.alert_id IS NOT NULL AS in_cand,
    l.description AS live_description, c.description AS cand_description, l.rule_version AS live_version
  FROM live l FULL OUTER JOIN cand c ON l.alert_id = c.alert_id)
`, q(filepath.Join(work, "live-alerts.jsonl")), q(filepath.Join(work, "out", "alerts.jsonl")), from, to)
	return &comparer{db: db, conn: conn, pre: pre}, nil
}

func (c *comparer) close() {
	c.conn.Close()
	c.db.Close()
}

// rows runs the prelude plus body and gives every row as text.
func (c *comparer) rows(ctx context.Context, body string) ([][]string, error) {
	return c.rowsSQL(ctx, c.pre+body)
}

func (c *comparer) rowsSQL(ctx context.Context, sql string) ([][]string, error) {
	stmt, err := c.conn.Prepare(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("backtest comparison: %w", err)
	}
	defer stmt.Close()
	var out [][]string
	err = stmt.Stream(ctx, engine.Limits{}, func(rec arrow.RecordBatch) error {
		defer rec.Release()
		for i := 0; i < int(rec.NumRows()); i++ {
			r := make([]string, rec.NumCols())
			for k := range r {
				if rec.Column(k).IsNull(i) {
					r[k] = ""
				} else {
					r[k] = strings.Clone(client.Text(rec.Column(k), i)) // the batch's memory is DuckDB's, freed on release
				}
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backtest comparison: %w", err)
	}
	return out, nil
}

func atoi(s string) int64 {
	v, _ := strconv.ParseInt(s, 10, 64)
	return v
}

// compare fills the report's comparison sections.
func (c *comparer) compare(ctx context.Context, r *Report, top, samples int) error {
	res, err := c.rows(ctx, `SELECT rule_name, count(*) FILTER (in_live), count(*) FILTER (in_cand),
  count(*) FILTER (in_cand AND NOT in_live), count(*) FILTER (in_live AND NOT in_cand), count(*) FILTER (in_live AND in_cand),
  count(*) FILTER (in_live AND in_cand AND live_description <> cand_description)
FROM j GROUP BY rule_name ORDER BY rule_name`)
	if err != nil {
		return err
	}
	byRule := map[string]*RuleSummary{}
	for _, x := range res {
		r.Rules = append(r.Rules, RuleSummary{Rule: x[0], Live: atoi(x[1]), Candidate: atoi(x[2]), Added: atoi(x[3]),
			Removed: atoi(x[4]), Unchanged: atoi(x[5]), DescriptionChanged: atoi(x[6])})
	}
	for i := range r.Rules {
		byRule[r.Rules[i].Rule] = &r.Rules[i]
	}
	days := float64(r.Window.To.Sub(r.Window.From).Hours()) / 24
	for _, s := range r.Rules {
		rs := byRule[s.Rule]
		rs.LivePerDay, rs.CandidatePerDay = float64(s.Live)/days, float64(s.Candidate)/days
		if n := float64(r.Window.Transactions); n > 0 {
			rs.LivePer1000, rs.CandidatePer1000 = 1000*float64(s.Live)/n, 1000*float64(s.Candidate)/n
		}
	}

	res, err = c.rows(ctx, `SELECT rule_name, strftime(make_timestamp(ts_us), '%Y-%m-%d') AS day,
  count(*) FILTER (in_live), count(*) FILTER (in_cand), count(*) FILTER (in_cand AND NOT in_live), count(*) FILTER (in_live AND NOT in_cand)
FROM j GROUP BY ALL ORDER BY rule_name, day`)
	if err != nil {
		return err
	}
	for _, x := range res {
		d := DayRow{Rule: x[0], Day: x[1], Live: atoi(x[2]), Candidate: atoi(x[3]), Added: atoi(x[4]), Removed: atoi(x[5]),
			Transactions: r.Window.PerDay[x[1]]}
		if d.Transactions > 0 {
			d.LivePer1000, d.CandidatePer1000 = 1000*float64(d.Live)/float64(d.Transactions), 1000*float64(d.Candidate)/float64(d.Transactions)
		}
		r.PerDay = append(r.PerDay, d)
	}

	res, err = c.rows(ctx, `SELECT rule_name, strftime(date_trunc('hour', make_timestamp(ts_us)), '%Y-%m-%dT%H:00:00Z') AS hour,
  count(*) FILTER (in_live), count(*) FILTER (in_cand)
FROM j GROUP BY ALL ORDER BY rule_name, hour`)
	if err != nil {
		return err
	}
	for _, x := range res {
		r.PerHour = append(r.PerHour, HourRow{Rule: x[0], Hour: x[1], Live: atoi(x[2]), Candidate: atoi(x[3])})
	}

	res, err = c.rows(ctx, fmt.Sprintf(`SELECT rule_name, account_id, added, removed FROM (
  SELECT rule_name, account_id, added, removed,
    row_number() OVER (PARTITION BY rule_name ORDER BY added + removed DESC, account_id) AS rn
  FROM (SELECT rule_name, account_id, count(*) FILTER (in_cand AND NOT in_live) AS added,
          count(*) FILTER (in_live AND NOT in_cand) AS removed
        FROM j GROUP BY ALL) WHERE added + removed > 0)
WHERE rn <= %d ORDER BY rule_name, rn`, top))
	if err != nil {
		return err
	}
	for _, x := range res {
		r.TopAccounts = append(r.TopAccounts, AccountRow{Rule: x[0], Account: x[1], Added: atoi(x[2]), Removed: atoi(x[3])})
	}

	res, err = c.rows(ctx, fmt.Sprintf(`SELECT rule_name, change, transaction_id, account_id,
  strftime(make_timestamp(ts_us), '%%Y-%%m-%%dT%%H:%%M:%%S.%%gZ'), description FROM (
  SELECT rule_name, CASE WHEN in_cand THEN 'added' ELSE 'removed' END AS change, transaction_id, account_id, ts_us,
    coalesce(cand_description, live_description) AS description,
    row_number() OVER (PARTITION BY rule_name, in_cand ORDER BY hash(alert_id)) AS rn
  FROM j WHERE in_live <> in_cand)
WHERE rn <= %d ORDER BY rule_name, change, ts_us`, samples))
	if err != nil {
		return err
	}
	for _, x := range res {
		r.Samples = append(r.Samples, Sample{Rule: x[0], Change: x[1], TransactionID: x[2], Account: x[3], Timestamp: x[4], Description: x[5]})
	}

	res, err = c.rows(ctx, `SELECT rule_name, rule_version, count(*),
  strftime(make_timestamp(min(ts_us)), '%Y-%m-%dT%H:%M:%S.%gZ'), strftime(make_timestamp(max(ts_us)), '%Y-%m-%dT%H:%M:%S.%gZ')
FROM live GROUP BY ALL ORDER BY rule_name, min(ts_us)`)
	if err != nil {
		return err
	}
	changed := map[string]int{}
	for _, x := range res {
		r.LiveVersions = append(r.LiveVersions, VersionRow{Rule: x[0], Version: atoi(x[1]), Alerts: atoi(x[2]), FirstAlert: x[3], LastAlert: x[4]})
		changed[x[0]]++
	}
	for _, n := range changed {
		if n > 1 {
			return c.periods(ctx, r)
		}
	}
	return nil
}

// periods splits the rules whose version changed inside the window at the
// first alert of each later version (the change itself lies between the last
// alert of one version and the first of the next: the lake records no rule
// changes, only the versions alerts carry).
func (c *comparer) periods(ctx context.Context, r *Report) error {
	res, err := c.rows(ctx, `, v AS (
  SELECT rule_name, rule_version, min(ts_us) AS first_us FROM live GROUP BY ALL),
changed AS (SELECT rule_name FROM v GROUP BY ALL HAVING count(*) > 1),
b AS (
  SELECT rule_name, rule_version, first_us,
    CASE WHEN first_us = min(first_us) OVER (PARTITION BY rule_name) THEN -9223372036854775807 ELSE first_us END AS start_us,
    lead(first_us) OVER (PARTITION BY rule_name ORDER BY first_us) AS next_us
  FROM v WHERE rule_name IN (SELECT rule_name FROM changed))
SELECT b.rule_name, b.rule_version, strftime(make_timestamp(b.first_us), '%Y-%m-%dT%H:%M:%S.%gZ'),
  coalesce(strftime(make_timestamp(b.next_us), '%Y-%m-%dT%H:%M:%S.%gZ'), ''),
  count(*) FILTER (in_live), count(*) FILTER (in_cand), count(*) FILTER (in_cand AND NOT in_live), count(*) FILTER (in_live AND NOT in_cand)
FROM j ASOF JOIN b ON j.rule_name = b.rule_name AND j.ts_us >= b.start_us
GROUP BY ALL ORDER BY b.rule_name, b.first_us`)
	if err != nil {
		return err
	}
	for _, x := range res {
		r.Periods = append(r.Periods, PeriodRow{Rule: x[0], LiveVersion: atoi(x[1]), From: x[2], Until: x[3],
			Live: atoi(x[4]), Candidate: atoi(x[5]), Added: atoi(x[6]), Removed: atoi(x[7])})
	}
	return nil
}

// orphans counts the removed alerts whose transaction is not in the replay
// input at all: not a rule difference but the two tables' snapshots apart.
func (c *comparer) orphans(ctx context.Context, input string) (int64, error) {
	res, err := c.rows(ctx, fmt.Sprintf(`SELECT count(*) FROM j WHERE in_live AND NOT in_cand AND transaction_id NOT IN (
  SELECT transaction_id FROM read_json(%s, format='newline_delimited', columns={transaction_id:'VARCHAR'}))`, engine.QuoteString(input)))
	if err != nil || len(res) == 0 {
		return 0, err
	}
	return atoi(res[0][0]), nil
}
