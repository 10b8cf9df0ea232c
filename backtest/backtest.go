//go:build duckdb_arrow

package backtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/finlake/finlake/flight/client"
	"github.com/finlake/finlake/rules"
)

// Options of one backtest.
type Options struct {
	Client    *client.Client // pinned to one instant or snapshot (Config().AsOf)
	Rules     rules.Set      // the candidate, validated
	RulesFile string
	FXFile    string
	From, To  time.Time // zero: the default window (see Run)
	Job       Job
	Work      string    // empty: a temporary directory, removed afterwards
	Labels    string    // the generator's labels file, optional
	Progress  io.Writer // stderr
	Top       int       // accounts per rule
	Samples   int       // added and removed alerts per rule
}

// ErrEmptyWindow: the window holds no transaction.
var ErrEmptyWindow = errors.New("no transactions in the window")

// Run backtests the candidate rules over [From, To) of event time. Without
// To, the window ends after the latest transaction the lake holds; without
// From, it starts 24 h before To.
func Run(ctx context.Context, o Options) (*Report, error) {
	cl := o.Client
	r := &Report{AsOf: cl.Config().AsOf, Notes: []string{}}
	say := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "backtest: "+format+"\n", args...)
		}
	}
	_, b, err := cl.TextRows(ctx, `SELECT epoch_us(min("timestamp")), epoch_us(max("timestamp")), count(*) FROM lake.transactions`)
	if err != nil {
		return nil, err
	}
	if len(b) != 1 || b[0][2] == "0" {
		return nil, fmt.Errorf("%w: lake.transactions is empty (as of %s)", ErrEmptyWindow, orNow(r.AsOf))
	}
	lakeMin, lakeMax := time.UnixMicro(atoi(b[0][0])).UTC(), time.UnixMicro(atoi(b[0][1])).UTC()
	from, to := o.From, o.To
	if to.IsZero() {
		to = lakeMax.Add(time.Microsecond)
	}
	if from.IsZero() {
		from = to.Add(-24 * time.Hour)
	}
	if !from.Before(to) {
		return nil, fmt.Errorf("%w: --from %s is not before --to %s", ErrEmptyWindow, from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	}
	r.Window.From, r.Window.To = from.UTC(), to.UTC()

	work := o.Work
	if work == "" {
		if work, err = os.MkdirTemp("", "finlake-backtest-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(work)
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	if work, err = filepath.Abs(work); err != nil {
		return nil, err
	}
	_ = os.RemoveAll(filepath.Join(work, "out")) // the job appends to nothing: a fresh output directory

	needs := NeedsOf(o.Rules)
	wu := &r.WarmUp
	wu.VelocityFrom = from.Add(-needs.Window).UTC()
	wu.CountriesTo = wu.VelocityFrom
	wu.CountriesFrom = wu.VelocityFrom
	if needs.NewCountry && needs.Lookback > needs.Window {
		wu.CountriesFrom = from.Add(-needs.Lookback).UTC()
		wu.HistoryCap = needs.MinHistory
	}

	inPath := filepath.Join(work, "in.jsonl")
	in, f, err := createInput(inPath, o.Progress)
	if err != nil {
		return nil, err
	}
	started := time.Now()
	err = func() error {
		defer f.Close()
		if wu.CountriesFrom.Before(wu.CountriesTo) {
			say("warm-up: countries and history per account in %s .. %s", wu.CountriesFrom.Format(time.RFC3339), wu.CountriesTo.Format(time.RFC3339))
			if err := in.writeSynthetic(ctx, cl, wu.CountriesFrom, wu.CountriesTo, needs.MinHistory); err != nil {
				return err
			}
		}
		if needs.Window > 0 {
			say("warm-up: first events in %s .. %s (widest velocity window %s)", wu.VelocityFrom.Format(time.RFC3339Nano), from.Format(time.RFC3339Nano), needs.Window)
			if err := in.writeEvents(ctx, cl, wu.VelocityFrom, from, false); err != nil {
				return err
			}
		}
		say("reading the window's first events from lake.transactions")
		if err := in.writeEvents(ctx, cl, from, to, true); err != nil {
			return err
		}
		if err := in.w.Flush(); err != nil {
			return err
		}
		return f.Close()
	}()
	if err != nil {
		return nil, err
	}
	wu.SyntheticEvents, wu.VelocityEvents = in.Synthetic, in.WarmUp
	r.Window.Transactions, r.Window.PerDay = in.Window, in.PerDay
	if in.Window == 0 {
		return nil, fmt.Errorf("%w %s .. %s (lake.transactions as of %s holds event times %s .. %s)", ErrEmptyWindow,
			from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano), orNow(r.AsOf), lakeMin.Format(time.RFC3339Nano), lakeMax.Format(time.RFC3339Nano))
	}
	say("wrote %d window + %d warm-up + %d synthetic events in %s", in.Window, in.WarmUp, in.Synthetic, time.Since(started).Round(time.Millisecond))

	if err := writeLiveAlerts(ctx, cl, filepath.Join(work, "live-alerts.jsonl"), from, to, r); err != nil {
		return nil, err
	}

	say("replaying %d events through the job (%s)", in.Window+in.WarmUp+in.Synthetic, o.Job.Jar)
	jobStarted := time.Now()
	r.Replay, err = o.Job.run(ctx, inPath, o.RulesFile, o.FXFile, filepath.Join(work, "out"), filepath.Join(work, "job.log"), o.Progress)
	if err != nil {
		return nil, err
	}
	say("replay done in %s (job %.1fs): %d alerts, %d dead letters", time.Since(jobStarted).Round(time.Millisecond), r.Replay.JobSeconds, r.Replay.Alerts, r.Replay.DeadLetters)
	if r.Replay.DeadLetters > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("the job dead-lettered %d reconstructed events (see %s/out/dead-letter.jsonl with --work): rows the lake holds that no longer pass validation, e.g. a currency missing from --fx", r.Replay.DeadLetters, work))
	}

	cmp, err := openComparer(work, from.UnixMicro(), to.UnixMicro())
	if err != nil {
		return nil, err
	}
	defer cmp.close()
	if err := cmp.compare(ctx, r, o.Top, o.Samples); err != nil {
		return nil, err
	}
	var cand int64
	r.Identical = true
	for _, s := range r.Rules {
		cand += s.Candidate
		if s.Added != 0 || s.Removed != 0 {
			r.Identical = false
		}
	}
	wu.AlertsNotCounted = r.Replay.Alerts - cand
	if !r.Identical {
		n, err := cmp.orphans(ctx, inPath)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%d removed alerts name transactions lake.transactions does not hold at this instant: "+
				"the two tables are committed separately, so the newest alerts can land before their transactions (or the lake lost them); "+
				"pin an earlier --as-of or end the window earlier (--to)", n))
		}
	}
	if o.Labels != "" {
		cp := filepath.Join(work, "labels.jsonl")
		if err := copyFile(o.Labels, cp); err != nil {
			return nil, err
		}
		if r.Labels, err = cmp.labels(ctx, work, cp, from.UnixMicro(), to.UnixMicro()); err != nil {
			return nil, err
		}
		r.Labels.File = o.Labels
	}
	if len(r.Periods) > 0 {
		r.Notes = append(r.Notes, "a live rule version changed inside the window: the candidate applies one version throughout, compare per period")
	}
	return r, nil
}

func orNow(asOf string) string {
	if asOf == "" {
		return "now"
	}
	return asOf
}

// writeLiveAlerts streams lake.alerts of the window to a JSON lines file.
func writeLiveAlerts(ctx context.Context, cl *client.Client, path string, from, to time.Time, r *Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	in := &Input{}
	w := newBuf(f)
	sql := fmt.Sprintf(`SELECT alert_id, transaction_id, account_id, rule_name, rule_version, description, epoch_us(transaction_timestamp)
FROM lake.alerts WHERE transaction_timestamp >= %s AND transaction_timestamp < %s`, Lit(from), Lit(to))
	rows, err := cl.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	r.AnsweredBy = rows.AnsweredBy()
	for rows.Next() {
		rec := rows.RecordBatch()
		s := make([]func(int) string, 6)
		for c := range s {
			if c != 4 {
				s[c] = strCol(rec.Column(c))
			}
		}
		ver, ts := intCol(rec.Column(4)), intCol(rec.Column(6))
		for i := 0; i < int(rec.NumRows()); i++ {
			b := in.buf[:0]
			for k, name := range [...]string{"alert_id", "transaction_id", "account_id", "rule_name"} {
				b = append(b, "{,"[min(k, 1)], '"')
				b = append(b, name...)
				b = append(b, '"', ':')
				b = appendStr(b, s[k](i))
			}
			b = fmt.Appendf(b, `,"rule_version":%d,"description":`, ver(i))
			b = appendStr(b, s[5](i))
			b = fmt.Appendf(b, `,"ts_us":%d}`+"\n", ts(i))
			in.buf = b
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return client.Explain(cl.Config(), err)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("--labels: %w", err)
	}
	if !strings.Contains(string(b), `"label"`) && len(b) > 0 {
		return fmt.Errorf("--labels %s: not a labels file of `lakectl generate --labels` (JSON lines with \"label\")", from)
	}
	return os.WriteFile(to, b, 0o644)
}
