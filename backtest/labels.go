//go:build duckdb_arrow

package backtest

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/finlake/finlake/flight/engine"
)

// BurstSpan is how far back from a velocity_burst's labelled (last)
// transaction its burst reaches: the generator spaces 6-8 transactions 1-5 s
// apart, at most 35 s in all.
const BurstSpan = 35_000_000 // µs

// Precision is one rule's alerts on one side and how many hit a labelled
// scenario the rule is expected to catch.
type Precision struct {
	Side      string  `json:"side"` // live or candidate
	Rule      string  `json:"rule_name"`
	Alerts    int64   `json:"alerts"`
	Hits      int64   `json:"hits"`
	Precision float64 `json:"precision"`
}

// Recall is one scenario's labelled instances in the window and how many its
// expected rule caught on one side.
type Recall struct {
	Side         string  `json:"side"`
	Scenario     string  `json:"scenario"`
	ExpectedRule string  `json:"expected_rule"`
	Instances    int64   `json:"instances"`
	Caught       int64   `json:"caught"`
	Recall       float64 `json:"recall"`
}

// LabelsReport is precision and recall against the generator's ground truth.
type LabelsReport struct {
	File      string      `json:"file"`
	Precision []Precision `json:"precision"`
	Recall    []Recall    `json:"recall"`
}

// labels scores both sides against the labels file (copied into the work
// directory). A hit: an alert of the scenario's expected rule on one of the
// instance's transactions; those are the labelled transaction itself, and for
// a velocity_burst every transaction of the account in the BurstSpan before
// it (the burst: the label names only its last transaction).
func (c *comparer) labels(ctx context.Context, work, labelsCopy string, from, to int64) (*LabelsReport, error) {
	q := engine.QuoteString
	sql := c.pre + fmt.Sprintf(`, lab AS (
  SELECT transaction_id, scenario, expected_rule
  FROM read_json(%s, format='newline_delimited', columns={label:'VARCHAR', scenario:'VARCHAR', expected_rule:'VARCHAR', transaction_id:'VARCHAR'})
  WHERE label = 'scenario'),
tx AS (
  SELECT * FROM (SELECT transaction_id, account_id, epoch_us(CAST("timestamp" AS TIMESTAMPTZ)) AS ts_us
    FROM read_json(%s, format='newline_delimited', columns={transaction_id:'VARCHAR', "timestamp":'VARCHAR', account_id:'VARCHAR'}))
  WHERE ts_us >= %d AND ts_us < %d),
inst AS (SELECT lab.transaction_id AS instance, scenario, expected_rule, tx.account_id, tx.ts_us FROM lab JOIN tx USING (transaction_id)),
hit AS (
  SELECT instance, expected_rule, instance AS transaction_id FROM inst WHERE scenario <> 'velocity_burst'
  UNION ALL
  SELECT i.instance, i.expected_rule, t.transaction_id FROM inst i JOIN tx t
    ON t.account_id = i.account_id AND t.ts_us BETWEEN i.ts_us - %d AND i.ts_us WHERE i.scenario = 'velocity_burst'),
al AS (SELECT 'live' AS side, rule_name, transaction_id FROM live UNION ALL SELECT 'candidate', rule_name, transaction_id FROM cand),
hitset AS (SELECT DISTINCT transaction_id, expected_rule FROM hit),
p AS (
  SELECT 'p' AS kind, al.side, al.rule_name AS a, '' AS b, count(*) AS n, count(h.transaction_id) AS k
  FROM al LEFT JOIN hitset h ON h.transaction_id = al.transaction_id AND h.expected_rule = al.rule_name GROUP BY ALL),
caught AS (SELECT DISTINCT h.instance, al.side FROM hit h JOIN al ON al.transaction_id = h.transaction_id AND al.rule_name = h.expected_rule),
r AS (
  SELECT 'r' AS kind, s.side, i.scenario AS a, i.expected_rule AS b, count(*) AS n, count(c.instance) AS k
  FROM inst i CROSS JOIN (VALUES ('live'), ('candidate')) s(side)
  LEFT JOIN caught c ON c.instance = i.instance AND c.side = s.side GROUP BY ALL)
SELECT * FROM p UNION ALL SELECT * FROM r ORDER BY kind, side DESC, a`,
		q(labelsCopy), q(filepath.Join(work, "in.jsonl")), from, to, BurstSpan)
	res, err := c.rowsSQL(ctx, sql)
	if err != nil {
		return nil, err
	}
	out := &LabelsReport{Precision: []Precision{}, Recall: []Recall{}}
	ratio := func(k, n int64) float64 {
		if n == 0 {
			return 0
		}
		return float64(k) / float64(n)
	}
	for _, x := range res {
		n, k := atoi(x[4]), atoi(x[5])
		if x[0] == "p" {
			out.Precision = append(out.Precision, Precision{Side: x[1], Rule: x[2], Alerts: n, Hits: k, Precision: ratio(k, n)})
		} else {
			out.Recall = append(out.Recall, Recall{Side: x[1], Scenario: x[2], ExpectedRule: x[3], Instances: n, Caught: k, Recall: ratio(k, n)})
		}
	}
	return out, nil
}
