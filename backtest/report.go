//go:build duckdb_arrow

package backtest

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/finlake/finlake/internal/termout"
)

// Report is the backtest's answer, printed as tables or JSON.
type Report struct {
	Window struct {
		From         time.Time        `json:"from"`
		To           time.Time        `json:"to"`
		Transactions int64            `json:"transactions"`
		PerDay       map[string]int64 `json:"transactions_per_day"`
	} `json:"window"`
	AsOf       string            `json:"as_of"`
	AnsweredBy map[string]string `json:"answered_by"`
	WarmUp     WarmUp            `json:"warm_up"`
	// Identical: the candidate raised exactly the alerts lake.alerts holds
	// for the window (same alert ids), rule by rule.
	Identical    bool          `json:"identical"`
	Rules        []RuleSummary `json:"rules"`
	PerDay       []DayRow      `json:"per_day"`
	PerHour      []HourRow     `json:"per_hour"`
	TopAccounts  []AccountRow  `json:"top_accounts"`
	Samples      []Sample      `json:"samples"`
	LiveVersions []VersionRow  `json:"live_versions"`
	Periods      []PeriodRow   `json:"periods,omitempty"`
	Replay       ReplaySummary `json:"replay"`
	Labels       *LabelsReport `json:"labels,omitempty"`
	Notes        []string      `json:"notes"`
}

// WarmUp says what the job was given before the window.
type WarmUp struct {
	VelocityFrom     time.Time `json:"velocity_from"`      // real first events from here to the window's start
	VelocityEvents   int64     `json:"velocity_events"`    // how many
	CountriesFrom    time.Time `json:"countries_from"`     // new_country lookback summarized from here ...
	CountriesTo      time.Time `json:"countries_to"`       // ... to here (= velocity_from)
	SyntheticEvents  int64     `json:"synthetic_events"`   // one per (account, country) plus history fillers
	HistoryCap       int64     `json:"history_cap"`        // history replayed per account at most (max min_history)
	AlertsNotCounted int64     `json:"alerts_not_counted"` // alerts the job raised on warm-up events
}

// RuleSummary compares one rule over the whole window.
type RuleSummary struct {
	Rule               string  `json:"rule_name"`
	Live               int64   `json:"live"`
	Candidate          int64   `json:"candidate"`
	Added              int64   `json:"added"`
	Removed            int64   `json:"removed"`
	Unchanged          int64   `json:"unchanged"`
	DescriptionChanged int64   `json:"description_changed"` // unchanged ids whose description text differs
	LivePerDay         float64 `json:"live_per_day"`
	CandidatePerDay    float64 `json:"candidate_per_day"`
	LivePer1000        float64 `json:"live_per_1000_transactions"`
	CandidatePer1000   float64 `json:"candidate_per_1000_transactions"`
}

// DayRow is one rule on one UTC day of the window.
type DayRow struct {
	Rule             string  `json:"rule_name"`
	Day              string  `json:"day"`
	Transactions     int64   `json:"transactions"`
	Live             int64   `json:"live"`
	Candidate        int64   `json:"candidate"`
	Added            int64   `json:"added"`
	Removed          int64   `json:"removed"`
	LivePer1000      float64 `json:"live_per_1000_transactions"`
	CandidatePer1000 float64 `json:"candidate_per_1000_transactions"`
}

// HourRow is one rule in one UTC hour (by transaction time).
type HourRow struct {
	Rule      string `json:"rule_name"`
	Hour      string `json:"hour"`
	Live      int64  `json:"live"`
	Candidate int64  `json:"candidate"`
}

// AccountRow is one of the accounts a change affects most.
type AccountRow struct {
	Rule    string `json:"rule_name"`
	Account string `json:"account_id"`
	Added   int64  `json:"added"`
	Removed int64  `json:"removed"`
}

// Sample is one added or removed alert.
type Sample struct {
	Rule          string `json:"rule_name"`
	Change        string `json:"change"` // added or removed
	TransactionID string `json:"transaction_id"`
	Account       string `json:"account_id"`
	Timestamp     string `json:"transaction_timestamp"`
	Description   string `json:"description"`
}

// VersionRow is one live rule version seen in the window's alerts.
type VersionRow struct {
	Rule       string `json:"rule_name"`
	Version    int64  `json:"rule_version"`
	Alerts     int64  `json:"alerts"`
	FirstAlert string `json:"first_alert"`
	LastAlert  string `json:"last_alert"`
}

// PeriodRow compares a rule whose live version changed inside the window,
// for the period one live version was in force: from its first alert
// (the window's start for the first version) until the next version's first.
type PeriodRow struct {
	Rule        string `json:"rule_name"`
	LiveVersion int64  `json:"live_version"`
	From        string `json:"from_first_alert"`
	Until       string `json:"until"`
	Live        int64  `json:"live"`
	Candidate   int64  `json:"candidate"`
	Added       int64  `json:"added"`
	Removed     int64  `json:"removed"`
}

func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func d(v int64) string { return strconv.FormatInt(v, 10) }

// Render prints the report as tables for people.
func (r *Report) Render(w io.Writer) error {
	fmt.Fprintf(w, "backtest window %s .. %s (event time, UTC): %d transactions; lake as of %s\n",
		r.Window.From.Format(time.RFC3339Nano), r.Window.To.Format(time.RFC3339Nano), r.Window.Transactions, r.AsOf)
	for _, t := range sortedKeys(r.AnsweredBy) {
		fmt.Fprintf(w, "  lake.%s answered by snapshot %s\n", t, r.AnsweredBy[t])
	}
	wu := r.WarmUp
	fmt.Fprintf(w, "warm-up: %d real first events from %s; %d synthetic events summarizing the new_country lookback %s .. %s (history up to %d per account); %d warm-up alerts not counted\n",
		wu.VelocityEvents, wu.VelocityFrom.Format(time.RFC3339), wu.SyntheticEvents, wu.CountriesFrom.Format(time.RFC3339),
		wu.CountriesTo.Format(time.RFC3339), wu.HistoryCap, wu.AlertsNotCounted)
	if r.Identical {
		fmt.Fprintln(w, "IDENTICAL: the candidate raises exactly the alerts lake.alerts holds for the window (same alert ids)")
	}
	var rows [][]string
	for _, s := range r.Rules {
		rows = append(rows, []string{s.Rule, d(s.Live), d(s.Candidate), d(s.Added), d(s.Removed), d(s.Unchanged),
			f2(s.LivePerDay) + " → " + f2(s.CandidatePerDay), f2(s.LivePer1000) + " → " + f2(s.CandidatePer1000)})
	}
	if err := termout.Render(w, []string{"rule", "live", "candidate", "added", "removed", "unchanged", "per day", "per 1,000 tx"}, rows); err != nil {
		return err
	}
	if len(r.PerDay) > 0 {
		rows = nil
		for _, x := range r.PerDay {
			rows = append(rows, []string{x.Rule, x.Day, d(x.Transactions), d(x.Live), d(x.Candidate), d(x.Added), d(x.Removed),
				f2(x.LivePer1000) + " → " + f2(x.CandidatePer1000)})
		}
		fmt.Fprintln(w, "per day:")
		if err := termout.Render(w, []string{"rule", "day", "transactions", "live", "candidate", "added", "removed", "per 1,000 tx"}, rows); err != nil {
			return err
		}
	}
	if len(r.LiveVersions) > 0 {
		rows = nil
		for _, v := range r.LiveVersions {
			rows = append(rows, []string{v.Rule, d(v.Version), d(v.Alerts), v.FirstAlert, v.LastAlert})
		}
		fmt.Fprintln(w, "live rule versions in the window's alerts:")
		if err := termout.Render(w, []string{"rule", "version", "alerts", "first alert", "last alert"}, rows); err != nil {
			return err
		}
	}
	if len(r.Periods) > 0 {
		rows = nil
		for _, p := range r.Periods {
			rows = append(rows, []string{p.Rule, d(p.LiveVersion), p.From, p.Until, d(p.Live), d(p.Candidate), d(p.Added), d(p.Removed)})
		}
		fmt.Fprintln(w, "rule versions changed inside the window; per period:")
		if err := termout.Render(w, []string{"rule", "live version", "from (first alert)", "until", "live", "candidate", "added", "removed"}, rows); err != nil {
			return err
		}
	}
	if len(r.TopAccounts) > 0 {
		rows = nil
		for _, a := range r.TopAccounts {
			rows = append(rows, []string{a.Rule, a.Account, d(a.Added), d(a.Removed)})
		}
		fmt.Fprintln(w, "accounts most affected:")
		if err := termout.Render(w, []string{"rule", "account", "added", "removed"}, rows); err != nil {
			return err
		}
	}
	if len(r.Samples) > 0 {
		rows = nil
		for _, s := range r.Samples {
			rows = append(rows, []string{s.Rule, s.Change, s.TransactionID, s.Account, s.Timestamp, s.Description})
		}
		fmt.Fprintln(w, "samples:")
		if err := termout.Render(w, []string{"rule", "change", "transaction_id", "account", "transaction time", "description"}, rows); err != nil {
			return err
		}
	}
	if r.Labels != nil {
		rows = nil
		for _, p := range r.Labels.Precision {
			rows = append(rows, []string{p.Side, p.Rule, d(p.Alerts), d(p.Hits), f2(p.Precision)})
		}
		fmt.Fprintf(w, "precision against %s:\n", r.Labels.File)
		if err := termout.Render(w, []string{"side", "rule", "alerts", "on a labelled scenario", "precision"}, rows); err != nil {
			return err
		}
		rows = nil
		for _, x := range r.Labels.Recall {
			rows = append(rows, []string{x.Side, x.Scenario, x.ExpectedRule, d(x.Instances), d(x.Caught), f2(x.Recall)})
		}
		fmt.Fprintln(w, "recall:")
		if err := termout.Render(w, []string{"side", "scenario", "expected rule", "instances", "caught", "recall"}, rows); err != nil {
			return err
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}
