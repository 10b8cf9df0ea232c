//go:build e2e

package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/finlake/finlake/backtest"
	"github.com/finlake/finlake/rules"
	"github.com/finlake/finlake/trace"
)

// TestBacktestAndTraceOnAStreamingLake runs the real pipeline (broker, the
// streaming Flink job, ingest, the Flight SQL server) over a generated
// stream, then backtests rule changes against the lake it filled and traces
// transactions through it. Every expectation is computed here from the lake
// rows and the labels, not taken from the backtest.
func TestBacktestAndTraceOnAStreamingLake(t *testing.T) {
	p := startPipeline(t)
	work := t.TempDir()
	ctx := context.Background()
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(-24*time.Hour + 40*time.Minute)
	labelsFile := filepath.Join(work, "labels.jsonl")
	const count = 12000
	if out, err := p.lakectl(ctx, "generate", "--seed", "15", "--start", start.Format(time.RFC3339), "--backfill", "1h",
		"--rate", "5", "--count", fmt.Sprint(count), "--fraud-rate", "0.02", "--malformed-rate", "0.005",
		"--labels", labelsFile, "--http", "off", "--progress=false").CombinedOutput(); err != nil {
		t.Fatalf("generate: %v\n%s", err, out)
	}
	var labels []label
	malformed := 0
	for _, l := range readLines(t, labelsFile) {
		var lb label
		mustJSON(t, l, &lb)
		labels = append(labels, lb)
		if lb.Label == "malformed" {
			malformed++
		}
	}
	waitLake(t, p.lake(), "transactions", count-malformed, 4*time.Minute)
	uri := fmt.Sprintf("grpc://127.0.0.1:%d", p.ports.Flight)
	// The alerts land with the transactions they belong to; wait until their count holds still.
	var last int64 = -1
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Second) {
		n := flightCount(t, uri, "SELECT count(*) FROM lake.alerts")
		if n == last && n > 0 {
			break
		}
		last = n
	}

	from := start.Add(5 * time.Minute)
	fromArg := from.Format(time.RFC3339)
	lakectl := func(t *testing.T, args ...string) []byte {
		t.Helper()
		c := p.lakectl(ctx, append(args, "--flight", uri)...)
		var stderr strings.Builder
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil {
			t.Fatalf("lakectl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
	query := func(t *testing.T, sql string) [][]string {
		t.Helper()
		rows, err := csv.NewReader(strings.NewReader(string(lakectl(t, "query", "--format", "csv", sql)))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows[1:]
	}
	candidate := func(t *testing.T, edit func(string) string) string {
		t.Helper()
		b, err := os.ReadFile(p.rules)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "candidate.yaml")
		if err := os.WriteFile(f, []byte(edit(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	fx := filepath.Join(p.root, "config", "fx_rates.yaml")
	jar := filepath.Join(p.root, "flinkjob", "target", "finlake-flinkjob.jar")
	run := func(t *testing.T, rulesFile string, extra ...string) backtest.Report {
		t.Helper()
		out := lakectl(t, append([]string{"rules", "backtest", rulesFile, "--fx", fx, "--flink-jar", jar, "--from", fromArg,
			"--format", "json", "--samples", "1000000", "--top", "3"}, extra...)...)
		var r backtest.Report
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("report: %v\n%s", err, out)
		}
		return r
	}
	windowSQL := fmt.Sprintf(`"timestamp" >= %s`, backtest.Lit(from))
	liveAlerts := func(t *testing.T, rule string) []string {
		rows := query(t, fmt.Sprintf(`SELECT transaction_id FROM lake.alerts WHERE rule_name = '%s' AND transaction_timestamp >= %s ORDER BY 1`, rule, backtest.Lit(from)))
		var ids []string
		for _, r := range rows {
			ids = append(ids, r[0])
		}
		return ids
	}
	changed := func(r backtest.Report, rule, change string) []string {
		var ids []string
		for _, s := range r.Samples {
			if s.Rule == rule && s.Change == change {
				ids = append(ids, s.TransactionID)
			}
		}
		slices.Sort(ids)
		return ids
	}

	t.Run("the live rules reproduce lake.alerts of the window exactly, after a warm-up", func(t *testing.T) {
		r := run(t, p.rules)
		var live int64
		for _, s := range r.Rules {
			live += s.Live
		}
		if !r.Identical || live == 0 || r.WarmUp.VelocityEvents == 0 || r.WarmUp.SyntheticEvents == 0 {
			t.Fatalf("identical %v over %d live alerts (warm-up: %d velocity, %d synthetic events); rules %+v; samples %v",
				r.Identical, live, r.WarmUp.VelocityEvents, r.WarmUp.SyntheticEvents, r.Rules, head(sampleIDs(r)))
		}
	})

	t.Run("a lowered threshold adds exactly the transactions between the two thresholds", func(t *testing.T) {
		r := run(t, candidate(t, func(s string) string { return strings.Replace(s, "amount_usd: 10000", "amount_usd: 2000", 1) }))
		table, err := rules.LoadFX(fx)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := big.NewRat(2000, 1), big.NewRat(10000, 1)
		seen := map[string]bool{}
		var want []string
		for _, row := range query(t, fmt.Sprintf(`SELECT transaction_id, CAST(amount AS VARCHAR), currency FROM lake.transactions WHERE %s AND status <> 'reversed'`, windowSQL)) {
			if seen[row[0]] {
				continue
			}
			seen[row[0]] = true
			amt, ok1 := new(big.Rat).SetString(row[1])
			rate, ok2 := new(big.Rat).SetString(string(table.USDPerUnit[row[2]]))
			if !ok1 || !ok2 {
				t.Fatalf("row %v: amount or rate unreadable", row)
			}
			usd := amt.Mul(amt, rate)
			if usd.Cmp(lo) > 0 && usd.Cmp(hi) <= 0 {
				want = append(want, row[0])
			}
		}
		slices.Sort(want)
		got := changed(r, "high_value", "added")
		if len(want) == 0 || !slices.Equal(got, want) || len(changed(r, "high_value", "removed")) != 0 {
			t.Fatalf("added %d high_value alerts, want the %d transactions in (2000, 10000] USD; removed %d; first added %v, want %v",
				len(got), len(want), len(changed(r, "high_value", "removed")), head(got), head(want))
		}
	})

	t.Run("a disabled rule removes exactly its alerts and nothing else", func(t *testing.T) {
		r := run(t, candidate(t, func(s string) string {
			i := strings.Index(s, "rule_name: rapid_activity")
			return s[:i] + strings.Replace(s[i:], "enabled: true", "enabled: false", 1)
		}))
		want := liveAlerts(t, "rapid_activity")
		var others int64
		for _, s := range r.Rules {
			if s.Rule != "rapid_activity" {
				others += s.Added + s.Removed
			}
		}
		if got := changed(r, "rapid_activity", "removed"); len(want) == 0 || !slices.Equal(got, want) || others != 0 {
			t.Fatalf("removed %d rapid_activity alerts, want lake.alerts' %d; other rules changed by %d", len(got), len(want), others)
		}
	})

	t.Run("precision and recall against the labels match a count over the lake", func(t *testing.T) {
		r := run(t, p.rules, "--labels", labelsFile)
		// Transactions of the window: first-event time and account.
		type tx struct {
			account string
			at      time.Time
		}
		txs := map[string]tx{}
		byAccount := map[string][]string{}
		for _, row := range query(t, fmt.Sprintf(`SELECT DISTINCT transaction_id, account_id, strftime("timestamp", '%%Y-%%m-%%dT%%H:%%M:%%S.%%fZ') FROM lake.transactions WHERE %s`, windowSQL)) {
			at, err := time.Parse(time.RFC3339Nano, row[2])
			if err != nil {
				t.Fatal(err)
			}
			txs[row[0]] = tx{row[1], at}
			byAccount[row[1]] = append(byAccount[row[1]], row[0])
		}
		hits := map[string]map[string]bool{} // rule → transactions that hit a scenario it should catch
		type inst struct {
			rule    string
			members []string
		}
		var insts = map[string][]inst{}
		for _, lb := range labels {
			x, ok := txs[lb.TransactionID]
			if lb.Label != "scenario" || !ok {
				continue
			}
			members := []string{lb.TransactionID}
			if lb.Scenario == "velocity_burst" {
				members = nil
				for _, id := range byAccount[x.account] {
					if d := x.at.Sub(txs[id].at); d >= 0 && d <= 35*time.Second {
						members = append(members, id)
					}
				}
			}
			insts[lb.Scenario] = append(insts[lb.Scenario], inst{lb.ExpectedRule, members})
			if hits[lb.ExpectedRule] == nil {
				hits[lb.ExpectedRule] = map[string]bool{}
			}
			for _, m := range members {
				hits[lb.ExpectedRule][m] = true
			}
		}
		var mismatches []string
		for _, rule := range []string{"high_value", "rapid_activity", "unusual_location", "quiet_hours"} {
			ids := liveAlerts(t, rule)
			alerted := map[string]bool{}
			var k int64
			for _, id := range ids {
				alerted[id] = true
				if hits[rule][id] {
					k++
				}
			}
			for _, pr := range r.Labels.Precision {
				if pr.Side == "live" && pr.Rule == rule && (pr.Alerts != int64(len(ids)) || pr.Hits != k) {
					mismatches = append(mismatches, fmt.Sprintf("%s precision %d/%d, counted %d/%d", rule, pr.Hits, pr.Alerts, k, len(ids)))
				}
			}
			for scen, is := range insts {
				var caught int64
				n := 0
				for _, in := range is {
					if in.rule != rule {
						continue
					}
					n++
					for _, m := range in.members {
						if alerted[m] {
							caught++
							break
						}
					}
				}
				if n == 0 {
					continue
				}
				found := false
				for _, rc := range r.Labels.Recall {
					if rc.Side == "live" && rc.Scenario == scen {
						found = true
						if rc.Instances != int64(n) || rc.Caught != caught {
							mismatches = append(mismatches, fmt.Sprintf("%s recall %d/%d, counted %d/%d", scen, rc.Caught, rc.Instances, caught, n))
						}
					}
				}
				if !found {
					mismatches = append(mismatches, "no recall row for "+scen)
				}
			}
		}
		if len(insts) < 4 || len(mismatches) > 0 {
			t.Fatalf("%d scenarios in the window; mismatches: %v", len(insts), mismatches)
		}
	})

	traceOf := func(t *testing.T, id string) trace.Story {
		t.Helper()
		var st trace.Story
		if err := json.Unmarshal(lakectl(t, "trace", id, "--format", "json", "--brokers", p.brokers()), &st); err != nil {
			t.Fatal(err)
		}
		return st
	}

	t.Run("trace shows a flagged transaction's lifecycle from raw record to alert", func(t *testing.T) {
		rows := query(t, `SELECT a.transaction_id FROM lake.alerts a JOIN lake.transactions t USING (transaction_id)
WHERE a.rule_name = 'high_value' GROUP BY 1 HAVING count(*) >= 2 ORDER BY 1 LIMIT 1`)
		if len(rows) == 0 {
			t.Fatal("no high_value alert on a transaction with lifecycle events")
		}
		st := traceOf(t, rows[0][0])
		var rawStatus, lakeStatus []string
		for _, e := range st.RawEvents {
			rawStatus = append(rawStatus, e.Status)
		}
		for _, r := range st.LakeRows {
			lakeStatus = append(lakeStatus, r.Status)
			if r.FirstSnapshot == "" {
				t.Errorf("lake row %s has no first snapshot", r.Status)
			}
		}
		hv := false
		for _, a := range st.Alerts {
			hv = hv || (a.Rule == "high_value" && a.RuleVersion == "1" && a.FirstSnapshot != "")
		}
		if !slices.Equal(rawStatus, lakeStatus) || !hv || len(st.DeadLetters) != 0 {
			t.Fatalf("raw events %v, lake rows %v, alerts %+v, dead letters %d", rawStatus, lakeStatus, st.Alerts, len(st.DeadLetters))
		}
	})

	t.Run("trace shows a dead-lettered record with its check and Kafka coordinates", func(t *testing.T) {
		id := ""
		for _, lb := range labels {
			if lb.Label == "malformed" && lb.Kind == "bad_enum" {
				id = lb.TransactionID
				break
			}
		}
		if id == "" {
			t.Fatal("no bad_enum record in the labels")
		}
		st := traceOf(t, id)
		if len(st.DeadLetters) != 1 || len(st.RawEvents) != 1 || len(st.LakeRows) != 0 {
			t.Fatalf("dead letters %+v, raw events %+v, lake rows %d", st.DeadLetters, st.RawEvents, len(st.LakeRows))
		}
		d, e := st.DeadLetters[0], st.RawEvents[0]
		if d.Errors[0].Rule != "enum" || !e.DeadLettered || d.Source.Partition != e.Partition || d.Source.Offset != e.Offset {
			t.Fatalf("dead letter %+v for raw event %+v", d, e)
		}
	})
}

func sampleIDs(r backtest.Report) []string {
	var out []string
	for _, s := range r.Samples {
		out = append(out, s.Rule+" "+s.Change+" "+s.TransactionID)
	}
	return out
}
