// Package tail owns following the pipeline's output topics (alerts and
// dead-letter) for people: a read_committed consumer without a consumer
// group, so watching never shows up as lag, and one-line renderings of the
// alert and dead-letter records of the contract.
package tail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
)

// Topics followed by lakectl.
const (
	AlertsTopic     = contract.Alerts
	DeadLetterTopic = contract.DeadLetter
)

// Options of Follow.
type Options struct {
	Brokers       []string
	Topic         string
	FromBeginning bool // else only records produced after the start
	// Max stops after that many records passed to fn (0: follow until ctx ends).
	Max int
	// Filter, when set, drops records before fn sees them; they do not count
	// towards Max.
	Filter func(*kgo.Record) bool
}

// Follow calls fn for each committed record of the topic, in order per
// partition, until ctx ends, Max records were seen or fn fails. Records are
// handled as they are fetched; nothing accumulates.
func Follow(ctx context.Context, o Options, fn func(*kgo.Record) error) error {
	start := kgo.NewOffset().AtEnd()
	if o.FromBeginning {
		start = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(o.Brokers...),
		kgo.ConsumeTopics(o.Topic),
		kgo.ConsumeResetOffset(start),
		// The job writes these topics in Kafka transactions; an aborted
		// attempt must never be shown as an alert.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)
	if err != nil {
		return fmt.Errorf("kafka client for %v: %w", o.Brokers, err)
	}
	defer cl.Close()
	if err := ping(ctx, cl, o); err != nil {
		return err
	}
	seen := 0
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var ferr error
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				ferr = fmt.Errorf("fetch %s[%d]: %w", t, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		iter := fetches.RecordIter()
		for !iter.Done() {
			r := iter.Next()
			if o.Filter != nil && !o.Filter(r) {
				continue
			}
			if err := fn(r); err != nil {
				return err
			}
			seen++
			if o.Max > 0 && seen >= o.Max {
				return nil
			}
		}
	}
}

// ping fails fast with a helpful message when the broker is down, instead of
// polling silently forever.
func ping(ctx context.Context, cl *kgo.Client, o Options) error {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		return fmt.Errorf("cannot reach Kafka at %s (start the stack with `just dev`, or pass --brokers): %w",
			strings.Join(o.Brokers, ","), err)
	}
	return nil
}

// Alert is the alerts topic record of the contract.
type Alert struct {
	AlertID        string          `json:"alert_id"`
	TransactionID  string          `json:"transaction_id"`
	AccountID      string          `json:"account_id"`
	RuleName       string          `json:"rule_name"`
	RuleType       string          `json:"rule_type"`
	RuleVersion    int64           `json:"rule_version"`
	Severity       string          `json:"severity"`
	AlertTimestamp string          `json:"alert_timestamp"`
	Description    string          `json:"description"`
	Transaction    json.RawMessage `json:"transaction"`
}

type txn struct {
	Timestamp       string      `json:"timestamp"`
	Amount          json.Number `json:"amount"`
	Currency        string      `json:"currency"`
	MerchantName    string      `json:"merchant_name"`
	LocationCountry string      `json:"location_country"`
	TransactionType string      `json:"transaction_type"`
}

// DecodeAlert reads an alert record value.
func DecodeAlert(v []byte) (Alert, error) {
	var a Alert
	if err := json.Unmarshal(v, &a); err != nil {
		return Alert{}, fmt.Errorf("alert record: %w", err)
	}
	return a, nil
}

// FormatAlert renders one alert on one line; lag is the time from the
// generation of the raw transaction (the record timestamp) to now.
func FormatAlert(a Alert, recordTime time.Time) string {
	var t txn
	_ = json.Unmarshal(a.Transaction, &t)
	when := a.AlertTimestamp
	if when == "" {
		when = recordTime.UTC().Format(time.RFC3339Nano)
	}
	money := strings.TrimSpace(fmt.Sprintf("%s %s", t.Amount, t.Currency))
	place := strings.TrimSpace(fmt.Sprintf("%s %s", t.MerchantName, t.LocationCountry))
	return fmt.Sprintf("%s  %-8s  %-18s v%-3d  %-10s  %-14s  %-24s  %s  (txn %s)",
		when, strings.ToUpper(a.Severity), a.RuleName, a.RuleVersion, a.AccountID, money, place, a.Description, a.TransactionID)
}

// DeadLetter is the dead-letter record of the contract.
type DeadLetter struct {
	Errors []struct {
		Field    string `json:"field"`
		Rule     string `json:"rule"`
		Expected string `json:"expected"`
		Actual   string `json:"actual"`
	} `json:"errors"`
	Raw       string `json:"raw"`
	RawBase64 string `json:"raw_base64"`
	Source    struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
		Timestamp string `json:"timestamp"`
	} `json:"source"`
	DeadLetteredAt string `json:"dead_lettered_at"`
}

// DecodeDeadLetter reads a dead-letter record value.
func DecodeDeadLetter(v []byte) (DeadLetter, error) {
	var d DeadLetter
	if err := json.Unmarshal(v, &d); err != nil {
		return DeadLetter{}, fmt.Errorf("dead-letter record: %w", err)
	}
	return d, nil
}

// FormatDeadLetter renders one dead letter: where it came from, every error,
// and the start of the raw value.
func FormatDeadLetter(d DeadLetter, maxRaw int) string {
	var errs []string
	for _, e := range d.Errors {
		errs = append(errs, fmt.Sprintf("%s %s (expected %s, got %q)", e.Field, e.Rule, e.Expected, e.Actual))
	}
	raw := d.Raw
	if raw == "" && d.RawBase64 != "" {
		raw = "base64:" + d.RawBase64
	}
	if maxRaw > 0 && len(raw) > maxRaw {
		raw = raw[:maxRaw] + "…"
	}
	return fmt.Sprintf("%s  %s[%d]@%d  %s\n    raw: %s",
		d.DeadLetteredAt, d.Source.Topic, d.Source.Partition, d.Source.Offset, strings.Join(errs, "; "), raw)
}
