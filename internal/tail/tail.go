// Package tail owns following the pipeline's output topics (alerts and
// dead-letter) for people: a read_committed consumer without a consumer
// group, so watching never shows up as lag, and one-line renderings of the
// alert and dead-letter records of the contract.
package tail

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
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

// FormatAlert renders one alert on one line; lag is the time from the
// generation of the raw transaction (the record timestamp) to now.
func FormatAlert(a contract.Alert, recordTime time.Time) string {
	t := a.Transaction
	when := a.AlertTimestamp
	if when == "" {
		when = recordTime.UTC().Format(time.RFC3339Nano)
	}
	money := strings.TrimSpace(fmt.Sprintf("%s %s", t.Amount, t.Currency))
	place := strings.TrimSpace(fmt.Sprintf("%s %s", t.MerchantName, t.LocationCountry))
	return fmt.Sprintf("%s  %-8s  %-18s v%-3d  %-10s  %-14s  %-24s  %s  (txn %s)",
		when, strings.ToUpper(a.Severity), a.RuleName, a.RuleVersion, a.AccountID, money, place, a.Description, a.TransactionID)
}

// FormatDeadLetter renders one dead letter: where it came from, every error,
// and the start of the raw value.
func FormatDeadLetter(d contract.DeadLetterRecord, maxRaw int) string {
	var errs []string
	for _, e := range d.Errors {
		errs = append(errs, fmt.Sprintf("%s %s (expected %s, got %q)", e.Field, e.Rule, e.Expected, e.Actual))
	}
	raw := ""
	switch {
	case d.Raw != nil && *d.Raw != "":
		raw = *d.Raw
	case d.RawBase64 != nil && *d.RawBase64 != "":
		raw = "base64:" + *d.RawBase64
	}
	if maxRaw > 0 && len(raw) > maxRaw {
		raw = raw[:maxRaw] + "…"
	}
	return fmt.Sprintf("%s  %s[%d]@%d  %s\n    raw: %s",
		d.DeadLetteredAt, d.Source.Topic, d.Source.Partition, d.Source.Offset, strings.Join(errs, "; "), raw)
}
