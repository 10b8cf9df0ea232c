// Command fixture fills a finlake lake with a small, deterministic,
// plausible history so the notebooks can be executed without the streaming
// pipeline: lake.transactions (lifecycle events over the last two days, in
// several commits so there are snapshots to travel between), lake.alerts
// (the contract's rules applied to the first event of each transaction) and
// lake.pipeline_runs (one row a minute). The tables are created by
// lake.EnsureTables, so they are exactly the ones ingest writes.
//
//	go run ./cmd/notebookfixture --data /tmp/lake --transactions 6000
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	"github.com/finlake/finlake/lake"
)

func main() {
	data := flag.String("data", "", "lake directory (catalog.db and warehouse/ inside)")
	n := flag.Int("transactions", 6000, "number of transactions (each has 1 to 3 lifecycle events)")
	commits := flag.Int("commits", 4, "commits per table, so time travel has snapshots to choose from")
	seed := flag.Uint64("seed", 7, "random seed")
	flag.Parse()
	if *data == "" {
		fmt.Fprintln(os.Stderr, "fixture: --data DIR is required")
		os.Exit(2)
	}
	if err := run(context.Background(), *data, *n, *commits, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "fixture:", err)
		os.Exit(1)
	}
}

type row map[string]any

var (
	categories = []string{"retail", "dining", "travel", "online", "groceries", "entertainment", "utilities"}
	merchants  = map[string][]string{
		"retail":        {"Nordlicht Store", "Maple Outfitters", "Camden Goods"},
		"dining":        {"Bistro Lumiere", "Sakura Ramen", "The Golden Fork"},
		"travel":        {"SkyBridge Air", "Rail Europa", "Harbor Hotels"},
		"online":        {"ShopStream", "PixelMart", "Bookworm Online"},
		"groceries":     {"FreshFields", "Corner Market", "Daily Harvest"},
		"entertainment": {"Cinema Nova", "Arena Tickets", "GameVault"},
		"utilities":     {"City Power", "AquaServe", "NetLink Broadband"},
	}
	countries = []struct{ code, currency string }{{"US", "USD"}, {"FR", "EUR"}, {"DE", "EUR"}, {"GB", "GBP"}, {"JP", "JPY"}}
	usdPer    = map[string]float64{"USD": 1, "EUR": 1.08, "GBP": 1.27, "JPY": 0.0067}
)

type account struct {
	id   string
	home int // index into countries
}

func run(ctx context.Context, dataDir string, n, commits int, seed uint64) error {
	cat, closeCat, err := lake.OpenCatalog(ctx, lake.Config{DataDir: dataDir})
	if err != nil {
		return err
	}
	defer closeCat()
	if err := lake.EnsureTables(ctx, cat); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	end := time.Now().UTC().Truncate(time.Minute)
	start := end.Add(-48 * time.Hour)

	accounts := make([]account, 300)
	for i := range accounts {
		accounts[i] = account{id: fmt.Sprintf("AC%07d", 1000+i), home: rng.IntN(len(countries))}
	}

	type tx struct {
		first row
		at    time.Time
	}
	var txs []tx
	for i := 0; i < n; i++ {
		a := accounts[rng.IntN(len(accounts))]
		at := start.Add(time.Duration(rng.Int64N(int64(48 * time.Hour))))
		// Fewer transactions at night, as in the generator's activity curve.
		if h := at.Hour(); h < 6 && rng.Float64() < 0.6 {
			at = at.Add(time.Duration(8+rng.IntN(10)) * time.Hour)
			if at.After(end) {
				at = at.Add(-24 * time.Hour)
			}
		}
		c := countries[a.home]
		if rng.Float64() < 0.03 { // travelling
			c = countries[rng.IntN(len(countries))]
		}
		cat := categories[rng.IntN(len(categories))]
		usd := math.Exp(rng.NormFloat64()*1.1 + 3.6) // median ~ 37 USD
		if rng.Float64() < 0.006 {
			usd = 10000 + rng.Float64()*25000 // injected high value
		}
		typ := "purchase"
		switch r := rng.Float64(); {
		case r < 0.05:
			typ = "refund"
		case r < 0.12:
			typ = "withdrawal"
		case r < 0.18:
			typ = "transfer"
		}
		amount := usd / usdPer[c.currency]
		scale := 100.0
		if c.currency == "JPY" {
			scale = 1
		}
		cents := int64(math.Round(amount*scale) * (100 / scale))
		if cents == 0 {
			cents = 100
		}
		if typ == "refund" {
			cents = -cents
		}
		r := row{
			"transaction_id": uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "fixture-%d-%d", seed, i)).String(),
			"timestamp":      at, "account_id": a.id, "amount": cents, "currency": c.currency,
			"merchant_name": merchants[cat][rng.IntN(3)], "merchant_category": cat, "transaction_type": typ,
			"location_country": c.code, "amount_usd": int64(math.Round(float64(cents) * usdPer[c.currency])),
			"partition_date": at.Truncate(24 * time.Hour),
		}
		txs = append(txs, tx{first: r, at: at})
		// Velocity bursts: five more on the same account within a minute.
		if rng.Float64() < 0.004 {
			for k := 1; k <= 5; k++ {
				b := clone(r)
				b["transaction_id"] = uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "fixture-%d-%d-burst-%d", seed, i, k)).String()
				b["timestamp"] = at.Add(time.Duration(k*8) * time.Second)
				txs = append(txs, tx{first: b, at: b["timestamp"].(time.Time)})
			}
		}
	}
	sort.Slice(txs, func(i, j int) bool { return txs[i].at.Before(txs[j].at) })

	// Rules on each transaction's first event, in event-time order per account.
	var events, alerts []row
	history := map[string][]row{}
	for _, t := range txs {
		r := t.first
		acct := r["account_id"].(string)
		fired := rulesFiring(r, history[acct])
		history[acct] = append(history[acct], r)
		r["is_flagged"] = len(fired) > 0
		for _, f := range fired {
			alerts = append(alerts, row{
				"alert_id":       uuid.NewSHA1(uuid.NameSpaceOID, []byte(r["transaction_id"].(string)+f.rule)).String(),
				"transaction_id": r["transaction_id"], "account_id": acct, "rule_name": f.rule, "rule_type": f.typ,
				"rule_version": int32(1), "severity": f.severity,
				"alert_timestamp":       t.at.Add(time.Duration(300+rng.IntN(900)) * time.Millisecond),
				"description":           f.description,
				"transaction_timestamp": t.at, "amount": r["amount"], "currency": r["currency"],
				"merchant_name": r["merchant_name"], "location_country": r["location_country"],
			})
		}
		// Lifecycle: pending, then completed or failed; a few completed ones reversed.
		first := clone(r)
		first["status"] = "pending"
		if rng.Float64() < 0.2 {
			first["status"] = "completed" // instant settlement
		}
		events = append(events, first)
		if first["status"] == "pending" {
			settled := clone(r)
			settled["status"] = "completed"
			if rng.Float64() < 0.06 {
				settled["status"] = "failed"
			}
			events = append(events, settled)
			first = settled
		}
		if first["status"] == "completed" && rng.Float64() < 0.02 {
			rev := clone(r)
			rev["status"] = "reversed"
			events = append(events, rev)
		}
	}
	for i, e := range events {
		ts := e["timestamp"].(time.Time)
		e["processing_timestamp"] = ts.Add(time.Duration(200+rng.IntN(800)) * time.Millisecond)
		e["kafka_partition"] = int32(i % 3)
		e["kafka_offset"] = int64(i / 3)
		e["kafka_timestamp"] = ts
	}
	for i, a := range alerts {
		a["kafka_partition"] = int32(i % 3)
		a["kafka_offset"] = int64(i / 3)
		a["kafka_timestamp"] = a["transaction_timestamp"]
	}

	var runs []row
	session := uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "fixture-session-%d", seed)).String()
	for w := end.Add(-3 * time.Hour); w.Before(end); w = w.Add(time.Minute) {
		rate := 10 + 4*math.Sin(float64(w.Unix())/1800) + rng.Float64()*2
		p50 := 2600 + rng.Float64()*600
		runs = append(runs, row{
			"session_id": session, "session_start": end.Add(-3 * time.Hour), "window_start": w, "window_end": w.Add(time.Minute),
			"transactions_consumed": int64(rate * 60), "transactions_written": int64(rate * 60),
			"alerts_consumed": int64(rng.IntN(4)), "alerts_written": int64(rng.IntN(4)), "records_invalid": int64(0),
			"unknown_fields": int64(0), "commits": int64(12), "commit_retries": int64(rng.IntN(2)),
			"rows_per_second": rate, "storage_latency_p50_ms": p50, "storage_latency_p95_ms": p50 * (1.6 + rng.Float64()*0.3),
			"storage_latency_p99_ms": p50 * (2.0 + rng.Float64()*0.5), "storage_latency_max_ms": p50 * (2.6 + rng.Float64()),
			"host": "fixture", "version": "fixture",
		})
	}

	// Round-robin over the tables, as ingest commits them, so every table
	// has a snapshot early in the history.
	tables := []struct {
		name string
		rows []row
	}{{lake.TableTransactions, events}, {lake.TableAlerts, alerts}, {lake.TablePipelineRuns, runs}}
	for c := 0; c < commits; c++ {
		for _, t := range tables {
			per := (len(t.rows) + commits - 1) / commits
			chunk := t.rows[min(c*per, len(t.rows)):min((c+1)*per, len(t.rows))]
			if len(chunk) == 0 {
				continue
			}
			if err := appendRows(ctx, cat, t.name, chunk); err != nil {
				return err
			}
		}
	}
	for _, t := range tables {
		fmt.Printf("lake.%s: %d rows in %d commits\n", t.name, len(t.rows), commits)
	}
	return nil
}

type firing struct{ rule, typ, severity, description string }

// rulesFiring applies config/rules.yaml's defaults (ARCHITECTURE.md) to a
// transaction given the account's earlier first events.
func rulesFiring(r row, earlier []row) []firing {
	var out []firing
	ts := r["timestamp"].(time.Time)
	usd := float64(r["amount_usd"].(int64)) / 100
	if usd > 10000 {
		out = append(out, firing{"high_value", "threshold", "high", fmt.Sprintf("amount %.2f USD exceeds 10000.00 USD", usd)})
	}
	inWindow := 1
	for _, e := range earlier {
		if et := e["timestamp"].(time.Time); et.After(ts.Add(-time.Minute)) && !et.After(ts) {
			inWindow++
		}
	}
	if inWindow >= 5 {
		out = append(out, firing{"rapid_activity", "velocity", "medium", fmt.Sprintf("%d transactions within 1m (threshold 5)", inWindow)})
	}
	if h := ts.Hour(); h >= 1 && h < 5 {
		out = append(out, firing{"quiet_hours", "time_of_day", "low", fmt.Sprintf("transaction at %s UTC, inside 01:00-05:00", ts.Format("15:04"))})
	}
	if len(earlier) >= 3 {
		seen := false
		for _, e := range earlier {
			if e["location_country"] == r["location_country"] && e["timestamp"].(time.Time).After(ts.Add(-30*24*time.Hour)) {
				seen = true
			}
		}
		if !seen {
			out = append(out, firing{"unusual_location", "new_country", "medium",
				fmt.Sprintf("first transaction in %s in 30d after %d earlier transactions", r["location_country"], len(earlier))})
		}
	}
	return out
}

func clone(r row) row {
	c := make(row, len(r))
	for k, v := range r {
		c[k] = v
	}
	return c
}

func appendRows(ctx context.Context, cat interface {
	LoadTable(context.Context, table.Identifier) (*table.Table, error)
}, name string, rows []row) error {
	tbl, err := cat.LoadTable(ctx, lake.Ident(name))
	if err != nil {
		return fmt.Errorf("load lake.%s: %w", name, err)
	}
	sc, err := table.SchemaToArrowSchema(tbl.Schema(), nil, true, false)
	if err != nil {
		return err
	}
	rec, err := record(sc, rows)
	if err != nil {
		return fmt.Errorf("lake.%s: %w", name, err)
	}
	defer rec.Release()
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	if err != nil {
		return err
	}
	defer rdr.Release()
	if _, err := tbl.Append(ctx, rdr, iceberg.Properties{"finlake.source": "notebook-fixture"}); err != nil {
		return fmt.Errorf("append to lake.%s: %w", name, err)
	}
	return nil
}

// record builds one Arrow batch; decimals are given in hundredths.
func record(sc *arrow.Schema, rows []row) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i, f := range sc.Fields() {
		fb := b.Field(i)
		for _, r := range rows {
			v, ok := r[f.Name]
			if !ok || v == nil {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.StringBuilder:
				fb.Append(v.(string))
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(v.(time.Time).UnixMicro()))
			case *array.Date32Builder:
				fb.Append(arrow.Date32FromTime(v.(time.Time)))
			case *array.Decimal128Builder:
				fb.Append(decimal128.FromI64(v.(int64)))
			case *array.BooleanBuilder:
				fb.Append(v.(bool))
			case *array.Int32Builder:
				fb.Append(v.(int32))
			case *array.Int64Builder:
				fb.Append(v.(int64))
			case *array.Float64Builder:
				fb.Append(v.(float64))
			default:
				return nil, fmt.Errorf("column %s: no builder for %s", f.Name, f.Type)
			}
		}
	}
	return b.NewRecordBatch(), nil
}
