//go:build duckdb_arrow

// Package backtest owns rule backtesting over the lake: reading one window of
// transactions (their first events) from lake.transactions through the Flight
// SQL server at one pinned snapshot, the warm-up the rules need before the
// window, running the Flink job's replay mode over them with candidate rules,
// and comparing the candidate's alerts with the alerts lake.alerts recorded
// for the window (and, given the generator's labels, precision and recall).
package backtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/google/uuid"

	"github.com/finlake/finlake/flight/client"
	"github.com/finlake/finlake/rules"
)

// Needs is what the rules need from before the window: the widest velocity
// window of real events, and for new_country each account's countries and
// history in the widest lookback. Disabled rules count, as in the job's
// retention.
type Needs struct {
	Window     time.Duration // widest velocity window
	Lookback   time.Duration // widest new_country lookback
	MinHistory int64         // largest new_country min_history
	NewCountry bool          // any new_country rule
}

// NeedsOf reads the rules' parameters (already validated by rules.LoadFiles).
func NeedsOf(set rules.Set) Needs {
	var n Needs
	for _, r := range set.Rules {
		switch r.Type {
		case "velocity":
			if d, err := rules.ParseDuration(fmt.Sprint(r.Params["window"])); err == nil && d > n.Window {
				n.Window = d
			}
		case "new_country":
			n.NewCountry = true
			if d, err := rules.ParseDuration(fmt.Sprint(r.Params["lookback"])); err == nil && d > n.Lookback {
				n.Lookback = d
			}
			if h, err := strconv.ParseInt(fmt.Sprint(r.Params["min_history"]), 10, 64); err == nil && h > n.MinHistory {
				n.MinHistory = h
			}
		}
	}
	return n
}

// statusRank orders a transaction's lake rows so its first event (pending, or
// an instant completed/failed) comes first; reversed is never a first event.
const statusRank = `CASE status WHEN 'pending' THEN 0 WHEN 'reversed' THEN 2 ELSE 1 END`

// Lit is a TIMESTAMPTZ literal of t (UTC, microseconds).
func Lit(t time.Time) string {
	return "TIMESTAMPTZ '" + t.UTC().Format("2006-01-02 15:04:05.999999") + "+00'"
}

// FirstEventsSQL selects the first event of every transaction with event time
// in [from, to), in event-time order (ties by generation time, then by the
// record's place on transactions-processed: the closest the lake keeps to
// the live arrival order). Later lifecycle events are left out: a rule is
// evaluated once, on the first event, and nothing else of a transaction
// counts in the rules' history.
func FirstEventsSQL(from, to time.Time) string {
	return fmt.Sprintf(`SELECT transaction_id, epoch_us("timestamp") AS ts_us, account_id, CAST(amount AS VARCHAR) AS amount,
  currency, merchant_name, merchant_category, transaction_type, location_country, status
FROM lake.transactions
WHERE "timestamp" >= %s AND "timestamp" < %s
QUALIFY row_number() OVER (PARTITION BY transaction_id ORDER BY %s, kafka_timestamp, kafka_offset) = 1
ORDER BY "timestamp", kafka_timestamp, kafka_partition, kafka_offset`, Lit(from), Lit(to), statusRank)
}

// countriesSQL gives, per account and country, the latest event time and the
// number of transactions in [from, to), oldest latest time first, with the
// account's totals on its first row (the one with the oldest latest time).
func countriesSQL(from, to time.Time) string {
	return fmt.Sprintf(`WITH c AS (
  SELECT account_id, location_country, epoch_us(max("timestamp")) AS last_us, count(DISTINCT transaction_id) AS n
  FROM lake.transactions WHERE "timestamp" >= %s AND "timestamp" < %s AND status <> 'reversed'
  GROUP BY account_id, location_country)
SELECT account_id, location_country, last_us,
  sum(n) OVER (PARTITION BY account_id) AS account_n,
  count(*) OVER (PARTITION BY account_id) AS account_countries,
  row_number() OVER (PARTITION BY account_id ORDER BY last_us, location_country) AS rn
FROM c ORDER BY last_us, account_id, location_country`, Lit(from), Lit(to))
}

// Input writes the replay's input file, one raw record per line.
type Input struct {
	w        *bufio.Writer
	buf      []byte
	progress io.Writer
	// Counts of what was written.
	Synthetic, WarmUp, Window int64
	// PerDay: window transactions per UTC day (YYYY-MM-DD).
	PerDay map[string]int64
}

// WarmupNamespace names the synthetic warm-up transactions (UUID v5 of
// account:country:n), so they can never collide with a generated id by chance.
var WarmupNamespace = uuid.NewSHA1(uuid.NameSpaceDNS, []byte("warmup.backtest.finlake"))

// writeSynthetic streams the new_country warm-up: one event per (account,
// country) at the latest event time the account used that country in the
// lookback, plus, on the account's first (oldest) country, as many more at
// that same time as make its history count reach min(transactions in the
// lookback, minHistory). The job then holds, at the window's start, the
// countries and (as far as any rule can tell) the history of the live job.
func (in *Input) writeSynthetic(ctx context.Context, cl *client.Client, from, to time.Time, minHistory int64) error {
	return stream(ctx, cl, countriesSQL(from, to), func(rec arrow.RecordBatch) error {
		acct, country := strCol(rec.Column(0)), strCol(rec.Column(1))
		last, total, ncountries, rn := intCol(rec.Column(2)), intCol(rec.Column(3)), intCol(rec.Column(4)), intCol(rec.Column(5))
		for i := 0; i < int(rec.NumRows()); i++ {
			n := int64(1)
			if rn(i) == 1 {
				if want := min(total(i), max(minHistory, ncountries(i))); want > ncountries(i) {
					n += want - ncountries(i)
				}
			}
			for k := int64(0); k < n; k++ {
				id := uuid.NewSHA1(WarmupNamespace, []byte(acct(i)+":"+country(i)+":"+strconv.FormatInt(k, 10))).String()
				in.record(id, last(i), acct(i), "1.00", "USD", "finlake backtest warm-up", "retail", "purchase", country(i), "completed")
				in.Synthetic++
			}
		}
		return nil
	})
}

// writeEvents streams the first events of [from, to); window says whether
// they are the backtest's window (counted per day) or warm-up.
func (in *Input) writeEvents(ctx context.Context, cl *client.Client, from, to time.Time, window bool) error {
	started, lastReport := time.Now(), time.Now()
	return stream(ctx, cl, FirstEventsSQL(from, to), func(rec arrow.RecordBatch) error {
		cols := make([]func(int) string, 10)
		for c := range cols {
			if c != 1 {
				cols[c] = strCol(rec.Column(c))
			}
		}
		ts := intCol(rec.Column(1))
		for i := 0; i < int(rec.NumRows()); i++ {
			in.record(cols[0](i), ts(i), cols[2](i), cols[3](i), cols[4](i), cols[5](i), cols[6](i), cols[7](i), cols[8](i), cols[9](i))
			if !window {
				in.WarmUp++
				continue
			}
			in.Window++
			in.PerDay[time.UnixMicro(ts(i)).UTC().Format(time.DateOnly)]++
		}
		if window && in.progress != nil && time.Since(lastReport) > 2*time.Second {
			lastReport = time.Now()
			fmt.Fprintf(in.progress, "backtest: read %d window transactions (%.0f/s)\n", in.Window, float64(in.Window)/time.Since(started).Seconds())
		}
		return nil
	})
}

// zeroDecimals are the ISO 4217 currencies without minor units: their amounts
// were written without a fraction, and decimal(18,2) gives back ".00".
var zeroDecimals = map[string]bool{"BIF": true, "CLP": true, "DJF": true, "GNF": true, "ISK": true, "JPY": true,
	"KMF": true, "KRW": true, "PYG": true, "RWF": true, "UGX": true, "UYI": true, "VND": true, "VUV": true,
	"XAF": true, "XOF": true, "XPF": true}

// record writes one raw event as the generator writes it: fields in its
// order, the timestamp in milliseconds unless the lake holds a finer one,
// the amount with the currency's decimals. "\x00" stands for NULL.
func (in *Input) record(id string, tsMicros int64, acct, amount, cur, merchant, category, typ, country, status string) {
	b := in.buf[:0]
	b = append(b, `{"transaction_id":`...)
	b = appendStr(b, id)
	b = append(b, `,"timestamp":`...)
	if tsMicros == nullInt {
		b = append(b, "null"...)
	} else {
		t := time.UnixMicro(tsMicros).UTC()
		layout := `"2006-01-02T15:04:05.000Z"`
		if tsMicros%1000 != 0 {
			layout = `"2006-01-02T15:04:05.000000Z"`
		}
		b = t.AppendFormat(b, layout)
	}
	b = append(b, `,"account_id":`...)
	b = appendStr(b, acct)
	b = append(b, `,"amount":`...)
	if amount == null {
		b = append(b, "null"...)
	} else {
		if zeroDecimals[cur] {
			amount = strings.TrimSuffix(amount, ".00")
		}
		b = append(b, amount...)
	}
	for _, kv := range [...]struct{ k, v string }{{"currency", cur}, {"merchant_name", merchant}, {"merchant_category", category},
		{"transaction_type", typ}, {"location_country", country}, {"status", status}} {
		b = append(b, ',', '"')
		b = append(b, kv.k...)
		b = append(b, '"', ':')
		b = appendStr(b, kv.v)
	}
	b = append(b, '}', '\n')
	in.buf = b
	_, _ = in.w.Write(b)
}

const null = "\x00"

const nullInt = -1 << 63

// appendStr appends s as a JSON string (UTF-8 as is, controls escaped), or null.
func appendStr(b []byte, s string) []byte {
	if s == null {
		return append(b, "null"...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, fmt.Sprintf(`\u%04x`, c)...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// stream runs sql and hands every batch to fn, never holding more than one.
func stream(ctx context.Context, cl *client.Client, sql string, fn func(arrow.RecordBatch) error) error {
	rows, err := cl.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.RecordBatch()); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return client.Explain(cl.Config(), err)
	}
	return nil
}

// strCol reads a string column of any Arrow string layout, NULL as null.
func strCol(a arrow.Array) func(int) string {
	get := func(i int) string { return client.Text(a, i) }
	switch c := a.(type) {
	case *array.String:
		get = c.Value
	case *array.LargeString:
		get = c.Value
	case *array.StringView:
		get = c.Value
	}
	return func(i int) string {
		if a.IsNull(i) {
			return null
		}
		return get(i)
	}
}

// intCol reads an integer column, NULL as nullInt.
func intCol(a arrow.Array) func(int) int64 {
	return func(i int) int64 {
		if a.IsNull(i) {
			return nullInt
		}
		switch c := a.(type) {
		case *array.Int64:
			return c.Value(i)
		case *array.Int32:
			return int64(c.Value(i))
		case *array.Uint64:
			return int64(c.Value(i))
		case *array.Decimal128:
			return int64(c.Value(i).LowBits()) // HUGEINT sums arrive as decimal(38,0)
		}
		v, _ := strconv.ParseInt(client.Text(a, i), 10, 64)
		return v
	}
}

func createInput(path string, progress io.Writer) (*Input, *os.File, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("replay input: %w", err)
	}
	return &Input{w: bufio.NewWriterSize(f, 1<<20), progress: progress, PerDay: map[string]int64{}}, f, nil
}

func newBuf(w io.Writer) *bufio.Writer { return bufio.NewWriterSize(w, 1<<20) }
