// Package trace owns `lakectl trace`: the story of one transaction across the
// pipeline, from its raw records on raw-transactions (partition, offset) and
// its dead letters to its rows in lake.transactions (with the snapshot that
// first held each) and its alerts in lake.alerts (with the rule versions).
package trace

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/flight/client"
	"github.com/finlake/finlake/rules"
)

// Story is everything the pipeline holds about one transaction.
type Story struct {
	TransactionID string       `json:"transaction_id"`
	RawEvents     []RawEvent   `json:"raw_events"`
	DeadLetters   []DeadLetter `json:"dead_letters"`
	LakeRows      []LakeRow    `json:"lake_rows"`
	Alerts        []Alert      `json:"alerts"`
	Notes         []string     `json:"notes"`
}

// RawEvent is one record of the transaction on raw-transactions.
type RawEvent struct {
	Topic        string `json:"topic"`
	Partition    int32  `json:"partition"`
	Offset       int64  `json:"offset"`
	Timestamp    string `json:"kafka_timestamp"` // generation time
	Status       string `json:"status"`
	DeadLettered bool   `json:"dead_lettered"`
	Value        string `json:"value"`
}

// DeadLetter is one dead-letter record of the transaction.
type DeadLetter struct {
	Partition      int32                      `json:"partition"`
	Offset         int64                      `json:"offset"`
	Errors         []contract.DeadLetterError `json:"errors"`
	Source         contract.DeadLetterSource  `json:"source"`
	DeadLetteredAt string                     `json:"dead_lettered_at"`
	Raw            string                     `json:"raw"`
}

// LakeRow is one row of lake.transactions.
type LakeRow struct {
	Status              string `json:"status"`
	Timestamp           string `json:"timestamp"`
	AccountID           string `json:"account_id"`
	Amount              string `json:"amount"`
	Currency            string `json:"currency"`
	AmountUSD           string `json:"amount_usd"`
	IsFlagged           string `json:"is_flagged"`
	ProcessingTimestamp string `json:"processing_timestamp"`
	KafkaPartition      int32  `json:"kafka_partition"`
	KafkaOffset         int64  `json:"kafka_offset"`
	KafkaTimestamp      string `json:"kafka_timestamp"`
	FirstSnapshot       string `json:"first_snapshot"`
	FirstSnapshotAt     string `json:"first_snapshot_committed_at"`
	kafkaMillis         int64
}

// Alert is one row of lake.alerts.
type Alert struct {
	AlertID         string `json:"alert_id"`
	Rule            string `json:"rule_name"`
	RuleType        string `json:"rule_type"`
	RuleVersion     string `json:"rule_version"`
	Severity        string `json:"severity"`
	AlertTimestamp  string `json:"alert_timestamp"`
	Description     string `json:"description"`
	KafkaPartition  int32  `json:"kafka_partition"`
	KafkaOffset     int64  `json:"kafka_offset"`
	FirstSnapshot   string `json:"first_snapshot"`
	FirstSnapshotAt string `json:"first_snapshot_committed_at"`
}

// Options of one trace.
type Options struct {
	Client  *client.Client
	Brokers []string // nil: Kafka is not read
	// Topics; empty means the contract's names.
	RawTopic, DeadLetterTopic string
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

const tsFormat = `'%Y-%m-%dT%H:%M:%S.%gZ'`

// Find tells the transaction's story.
func Find(ctx context.Context, id string, o Options) (*Story, error) {
	st := &Story{TransactionID: id, RawEvents: []RawEvent{}, DeadLetters: []DeadLetter{}, LakeRows: []LakeRow{}, Alerts: []Alert{}, Notes: []string{}}
	cl := o.Client
	_, rows, err := cl.TextRows(ctx, fmt.Sprintf(`SELECT status, strftime("timestamp", %[2]s), account_id, CAST(amount AS VARCHAR), currency,
  CAST(amount_usd AS VARCHAR), CAST(is_flagged AS VARCHAR), strftime(processing_timestamp, %[2]s), kafka_partition, kafka_offset,
  strftime(kafka_timestamp, %[2]s), epoch_ms(kafka_timestamp)
FROM lake.transactions WHERE transaction_id = %[1]s ORDER BY kafka_timestamp, kafka_partition, kafka_offset`, quote(id), tsFormat))
	if err != nil {
		return nil, err
	}
	var gen []int64 // generation times (ms) of the raw records
	for _, r := range rows {
		p, _ := strconv.ParseInt(r[8], 10, 32)
		off, _ := strconv.ParseInt(r[9], 10, 64)
		st.LakeRows = append(st.LakeRows, LakeRow{Status: r[0], Timestamp: r[1], AccountID: r[2], Amount: r[3], Currency: r[4],
			AmountUSD: r[5], IsFlagged: r[6], ProcessingTimestamp: r[7], KafkaPartition: int32(p), KafkaOffset: off, KafkaTimestamp: r[10]})
		if ms, err := strconv.ParseInt(r[11], 10, 64); err == nil {
			gen = append(gen, ms)
			st.LakeRows[len(st.LakeRows)-1].kafkaMillis = ms
		}
	}
	_, rows, err = cl.TextRows(ctx, fmt.Sprintf(`SELECT alert_id, rule_name, rule_type, CAST(rule_version AS VARCHAR), severity,
  strftime(alert_timestamp, %[2]s), description, kafka_partition, kafka_offset
FROM lake.alerts WHERE transaction_id = %[1]s ORDER BY alert_timestamp, rule_name`, quote(id), tsFormat))
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		p, _ := strconv.ParseInt(r[7], 10, 32)
		off, _ := strconv.ParseInt(r[8], 10, 64)
		st.Alerts = append(st.Alerts, Alert{AlertID: r[0], Rule: r[1], RuleType: r[2], RuleVersion: r[3], Severity: r[4],
			AlertTimestamp: r[5], Description: r[6], KafkaPartition: int32(p), KafkaOffset: off})
	}
	if err := firstSnapshots(ctx, cl, st); err != nil {
		return nil, err
	}
	if o.Brokers == nil {
		st.Notes = append(st.Notes, "Kafka not read (--no-kafka): raw events and dead letters not shown")
	} else if err := fromKafka(ctx, id, o, st, gen); err != nil {
		return nil, err
	}
	if len(st.LakeRows) == 0 && len(st.DeadLetters) == 0 && len(st.RawEvents) == 0 {
		return st, fmt.Errorf("%w: %s is in neither lake.transactions nor the dead letters", ErrNotFound, id)
	}
	return st, nil
}

// ErrNotFound: nothing of the transaction anywhere.
var ErrNotFound = fmt.Errorf("transaction not found")

// firstSnapshots names, for each row, the oldest kept snapshot that holds it,
// by time travel: rows are only ever appended (compaction rewrites files but
// keeps them), so presence is monotone along the snapshots. The search gallops
// from the first snapshot committed after the row's generation time (a row
// lands seconds later) and then bisects; one query per probed snapshot gives
// all the transaction's rows of that table.
func firstSnapshots(ctx context.Context, cl *client.Client, st *Story) error {
	for _, t := range []string{"transactions", "alerts"} {
		var keys [][2]int64
		var gen []int64
		if t == "transactions" {
			for _, r := range st.LakeRows {
				keys = append(keys, [2]int64{int64(r.KafkaPartition), r.KafkaOffset})
				gen = append(gen, r.kafkaMillis)
			}
		} else {
			for _, a := range st.Alerts {
				keys = append(keys, [2]int64{int64(a.KafkaPartition), a.KafkaOffset})
				gen = append(gen, 0)
			}
		}
		if len(keys) == 0 {
			continue
		}
		snaps, err := cl.Snapshots(ctx, t, 0)
		if err != nil {
			return err
		}
		slices.Reverse(snaps) // oldest first
		held := map[int]map[[2]int64]bool{}
		has := func(i int, k [2]int64) (bool, error) {
			if m, ok := held[i]; ok {
				return m[k], nil
			}
			_, rows, err := cl.TextRows(ctx, fmt.Sprintf(`SELECT kafka_partition, kafka_offset FROM lake.%s FOR VERSION AS OF %s WHERE transaction_id = %s`,
				t, snaps[i].SnapshotID, quote(st.TransactionID)))
			if err != nil {
				return false, err
			}
			m := map[[2]int64]bool{}
			for _, r := range rows {
				p, _ := strconv.ParseInt(r[0], 10, 64)
				o, _ := strconv.ParseInt(r[1], 10, 64)
				m[[2]int64{p, o}] = true
			}
			held[i] = m
			return m[k], nil
		}
		missing := false
		for n, k := range keys {
			lo := sort.Search(len(snaps), func(i int) bool { return snapMillis(snaps[i]) >= gen[n] })
			lo = max(0, lo-1)
			// Gallop: the first probe at or after lo that holds the row.
			hi, step := lo, 1
			found := false
			for hi < len(snaps) {
				ok, err := has(hi, k)
				if err != nil {
					return err
				}
				if ok {
					found = true
					break
				}
				lo, hi, step = hi+1, hi+step, step*2
			}
			if !found {
				if ok, err := has(len(snaps)-1, k); err != nil {
					return err
				} else if !ok {
					missing = true
					continue
				}
				hi = len(snaps) - 1
			}
			for lo < hi { // the first index in [lo, hi] that holds it; hi does
				mid := (lo + hi) / 2
				ok, err := has(mid, k)
				if err != nil {
					return err
				}
				if ok {
					hi = mid
				} else {
					lo = mid + 1
				}
			}
			if t == "transactions" {
				st.LakeRows[n].FirstSnapshot, st.LakeRows[n].FirstSnapshotAt = snaps[hi].SnapshotID, snaps[hi].CommittedAt
			} else {
				st.Alerts[n].FirstSnapshot, st.Alerts[n].FirstSnapshotAt = snaps[hi].SnapshotID, snaps[hi].CommittedAt
			}
		}
		if missing {
			st.Notes = append(st.Notes, fmt.Sprintf("lake.%s: some rows are in no kept snapshot's time travel (first_snapshot empty)", t))
		}
		if len(snaps) > 0 && snaps[0].ParentID != "" {
			st.Notes = append(st.Notes, fmt.Sprintf("lake.%s: snapshots before %s have expired; a first snapshot is the oldest kept one holding the row", t, snaps[0].CommittedAt))
		}
	}
	return nil
}

func snapMillis(s client.Snapshot) int64 {
	t, err := time.Parse(time.RFC3339Nano, s.CommittedAt)
	if err != nil {
		return 0
	}
	return t.UnixMilli()
}

// fromKafka finds the dead letters (a scan of the whole dead-letter topic for
// the id) and the raw records (each partition of raw-transactions read from
// the first record at the earliest generation time the lake rows and dead
// letters name, up to the latest).
func fromKafka(ctx context.Context, id string, o Options, st *Story, gen []int64) error {
	rawTopic, dlTopic := o.RawTopic, o.DeadLetterTopic
	if rawTopic == "" {
		rawTopic = contract.RawTransactions
	}
	if dlTopic == "" {
		dlTopic = contract.DeadLetter
	}
	needle := []byte(id)
	dead := map[[2]int64]bool{} // raw partition/offset dead-lettered
	err := rules.ScanTopicUntil(ctx, o.Brokers, dlTopic, nil, func(r *kgo.Record) bool {
		if !bytes.Contains(r.Value, needle) {
			return true
		}
		d, err := contract.DecodeDeadLetter(r.Value)
		if err != nil || d.Source.Topic == contract.AlertRules || !mentions(d, id) {
			return true
		}
		dl := DeadLetter{Partition: r.Partition, Offset: r.Offset, Errors: d.Errors, Source: d.Source, DeadLetteredAt: d.DeadLetteredAt}
		if d.Raw != nil {
			dl.Raw = *d.Raw
		}
		st.DeadLetters = append(st.DeadLetters, dl)
		dead[[2]int64{int64(d.Source.Partition), d.Source.Offset}] = true
		if d.Source.Timestamp != nil {
			if t, err := time.Parse(time.RFC3339Nano, *d.Source.Timestamp); err == nil {
				gen = append(gen, t.UnixMilli())
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("dead letters: %w (pass --no-kafka to see the lake's side only)", err)
	}
	if len(gen) == 0 {
		return nil
	}
	sort.Slice(gen, func(i, j int) bool { return gen[i] < gen[j] })
	lo, hi := gen[0], gen[len(gen)-1]
	adm, err := kgo.NewClient(kgo.SeedBrokers(o.Brokers...))
	if err != nil {
		return err
	}
	starts, err := kadm.NewClient(adm).ListOffsetsAfterMilli(ctx, lo, rawTopic)
	adm.Close()
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("offsets of %s at %d ms: %w (pass --no-kafka to see the lake's side only)", rawTopic, lo, err)
	}
	from := map[int32]int64{}
	starts.Each(func(l kadm.ListedOffset) { from[l.Partition] = l.Offset })
	err = rules.ScanTopicUntil(ctx, o.Brokers, rawTopic, from, func(r *kgo.Record) bool {
		if r.Timestamp.UnixMilli() > hi {
			return false
		}
		if bytes.Contains(r.Value, needle) {
			var v struct {
				Status any `json:"status"`
			}
			_ = json.Unmarshal(r.Value, &v)
			st.RawEvents = append(st.RawEvents, RawEvent{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
				Timestamp: r.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z"), Status: fmt.Sprint(orDash(v.Status)),
				DeadLettered: dead[[2]int64{int64(r.Partition), r.Offset}], Value: string(r.Value)})
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("raw events: %w", err)
	}
	sort.Slice(st.RawEvents, func(i, j int) bool {
		a, b := st.RawEvents[i], st.RawEvents[j]
		return a.Timestamp < b.Timestamp || (a.Timestamp == b.Timestamp && a.Offset < b.Offset)
	})
	return nil
}

func orDash(v any) any {
	if v == nil {
		return "-"
	}
	return v
}

// mentions: the dead letter's raw record carries id as its transaction_id
// (not merely somewhere in its text).
func mentions(d contract.DeadLetterRecord, id string) bool {
	if d.Raw == nil {
		return false
	}
	var v struct {
		ID any `json:"transaction_id"`
	}
	if json.Unmarshal([]byte(*d.Raw), &v) == nil {
		return fmt.Sprint(v.ID) == id
	}
	return strings.Contains(*d.Raw, id) // not JSON (non_json): the text names it
}
