package rules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
)

// Kafka names where the live rules are: the brokers and the topic (alert-rules
// when empty; tests use their own compacted topic).
type Kafka struct {
	Brokers []string
	Topic   string
}

func (k Kafka) topic() string {
	if k.Topic == "" {
		return contract.AlertRules
	}
	return k.Topic
}

const publishTxnTimeout = 20 * time.Second

// TransactionalID is shared by every lakectl that publishes rules, so two
// concurrent publishers fence each other instead of interleaving half sets.
const TransactionalID = "lakectl-rules"

// ReadLive reads alert-rules from the beginning up to its last stable offset
// (committed records only) and keeps the latest value per key; a tombstone
// removes the key. Records that do not decode are logged and skipped: the
// job skips them too, so they are not live.
func (k Kafka) ReadLive(ctx context.Context) (Set, error) {
	live := Set{Rules: map[string]Rule{}, Records: map[string]Coord{}}
	err := scanTopic(ctx, k.Brokers, k.topic(), nil, func(r *kgo.Record) {
		key := string(r.Key)
		if r.Value == nil {
			delete(live.Records, key)
		} else {
			live.Records[key] = Coord{Partition: r.Partition, Offset: r.Offset, Time: r.Timestamp}
		}
		switch {
		case key == FXKey && r.Value == nil:
			live.FX = nil
		case key == FXKey:
			fx, err := contract.DecodeFX(r.Value)
			if err != nil {
				slog.Warn("skipping undecodable FX record", "offset", r.Offset, "err", err)
				return
			}
			live.FX = &fx
		case r.Value == nil:
			delete(live.Rules, key)
		default:
			rule, err := contract.DecodeRule(key, r.Value)
			if err != nil {
				slog.Warn("skipping undecodable rule record", "partition", r.Partition, "offset", r.Offset, "err", err)
				return
			}
			live.Rules[key] = rule
		}
	})
	return live, err
}

// Coord is where a live alert-rules record is: the job's dead letter for it
// names the same partition and offset.
type Coord struct {
	Partition int32
	Offset    int64
	Time      time.Time
}

// Rejection is the Flink job's verdict on a live record it could not apply
// (the previous version of that rule stays in force in the job).
type Rejection struct {
	Errors         []contract.DeadLetterError
	DeadLetteredAt string
}

// Rejections finds, for each live record of live (from ReadLive), the dead
// letter the job wrote when it rejected it: records of deadLetterTopic with
// source topic alert-rules at that record's partition and offset. Only the
// dead letters written since the oldest live record was published are read,
// as a stream.
func (k Kafka) Rejections(ctx context.Context, live Set, deadLetterTopic string) (map[string]Rejection, error) {
	out := map[string]Rejection{}
	if len(live.Records) == 0 {
		return out, nil
	}
	byCoord := map[[2]int64]string{}
	oldest := time.Now()
	for key, c := range live.Records {
		byCoord[[2]int64{int64(c.Partition), c.Offset}] = key
		if c.Time.Before(oldest) {
			oldest = c.Time
		}
	}
	adm, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...))
	if err != nil {
		return nil, fmt.Errorf("kafka client for %v: %w", k.Brokers, err)
	}
	from, err := kadm.NewClient(adm).ListOffsetsAfterMilli(ctx, oldest.UnixMilli(), deadLetterTopic)
	adm.Close()
	if err == nil {
		err = from.Error()
	}
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		slog.Warn("no dead-letter topic: cannot tell whether the job rejected a rule", "topic", deadLetterTopic)
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s: %w", deadLetterTopic, err)
	}
	starts := map[int32]int64{}
	from.Each(func(o kadm.ListedOffset) { starts[o.Partition] = o.Offset })
	err = scanTopic(ctx, k.Brokers, deadLetterTopic, starts, func(r *kgo.Record) {
		var d contract.DeadLetterRecord
		if json.Unmarshal(r.Value, &d) != nil || d.Source.Topic != k.topic() {
			return
		}
		key, ok := byCoord[[2]int64{int64(d.Source.Partition), d.Source.Offset}]
		if ok && key == string(r.Key) {
			out[key] = Rejection{Errors: d.Errors, DeadLetteredAt: d.DeadLetteredAt}
		}
	})
	return out, err
}

// scanTopic calls fn for every committed record of topic, from the start of
// each partition (or the offset in from, when from is not nil) to its high
// watermark as of the call. The high watermark,
// not the last stable offset: right after a transaction commits, its markers
// may not be written yet and the LSO still lags, which would hide the rules
// just published from the next apply. A read_committed fetch waits for them.
func scanTopic(ctx context.Context, brokers []string, topic string, from map[int32]int64, fn func(*kgo.Record)) error {
	return ScanTopicUntil(ctx, brokers, topic, from, func(r *kgo.Record) bool { fn(r); return true })
}

// ScanTopicUntil is scanTopic for other bounded readers (lakectl trace): fn
// returning false ends the scan of that record's partition early.
func ScanTopicUntil(ctx context.Context, brokers []string, topic string, from map[int32]int64, fn func(*kgo.Record) bool) error {
	adm, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return fmt.Errorf("kafka client for %v: %w", brokers, err)
	}
	ends, err := kadm.NewClient(adm).ListEndOffsets(ctx, topic)
	adm.Close()
	if err != nil {
		return fmt.Errorf("list offsets of %s at %v (is the broker up? start it with `just dev` or pass --brokers): %w", topic, brokers, err)
	}
	if err := ends.Error(); err != nil {
		return fmt.Errorf("list offsets of %s: %w (create the topics first: lakectl kafka run creates them)", topic, err)
	}
	starts := map[int32]kgo.Offset{}
	remaining := map[int32]int64{} // partition → end offset still to reach
	ends.Each(func(o kadm.ListedOffset) {
		start, bounded := from[o.Partition]
		switch {
		case from == nil && o.Offset > 0:
			starts[o.Partition] = kgo.NewOffset().AtStart()
			remaining[o.Partition] = o.Offset
		case bounded && start >= 0 && start < o.Offset:
			starts[o.Partition] = kgo.NewOffset().At(start)
			remaining[o.Partition] = o.Offset
		}
	})
	if len(remaining) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: starts}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Control records (commit markers) are the last offsets of a
		// transactional log; seeing them is how we know we reached the end.
		kgo.KeepControlRecords(),
	)
	if err != nil {
		return fmt.Errorf("kafka consumer: %w", err)
	}
	defer cl.Close()
	for len(remaining) > 0 {
		// The record just before the end can be gone after compaction of a
		// rolled segment; a silence longer than a transaction can stay open
		// (a crashed publisher's is aborted by then) means nothing is left.
		pollCtx, cancel := context.WithTimeout(ctx, publishTxnTimeout+15*time.Second)
		fetches := cl.PollFetches(pollCtx)
		timedOut := pollCtx.Err() != nil
		cancel()
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reading %s: %w", topic, err)
		}
		if timedOut && fetches.NumRecords() == 0 {
			slog.Warn("no records before the end offset; assuming compaction removed them", "topic", topic, "partitions", remaining)
			return nil
		}
		var ferr error
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				ferr = fmt.Errorf("fetch %s[%d]: %w", t, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		fetches.EachRecord(func(r *kgo.Record) {
			end, ok := remaining[r.Partition]
			if !ok {
				return
			}
			if r.Offset < end && !r.Attrs.IsControl() && !fn(r) {
				delete(remaining, r.Partition)
				return
			}
			// Aborted records are filtered out, so the first record seen at
			// or past the end may be a later marker: that also ends the scan.
			if r.Offset >= end-1 {
				delete(remaining, r.Partition)
			}
		})
	}
	return nil
}

// Publish writes the plan's changes in one Kafka transaction: rules and FX
// table as JSON, tombstones for deleted rules. Either all of them become
// visible to the job (read_committed) or none.
func (k Kafka) Publish(ctx context.Context, p Plan) (int, error) {
	var recs []*kgo.Record
	for _, c := range p.Changes {
		var value []byte
		var err error
		switch c.Kind {
		case Unchanged:
			continue
		case Delete:
			value = nil
		default:
			switch v := c.New.(type) {
			case *Rule:
				value, err = v.Encode()
			case *FXTable:
				value, err = v.Encode()
			}
			if err != nil {
				return 0, fmt.Errorf("encode %s: %w", c.Key, err)
			}
		}
		recs = append(recs, &kgo.Record{Topic: k.topic(), Key: []byte(c.Key), Value: value,
			Headers: []kgo.RecordHeader{{Key: "producer", Value: []byte("lakectl-rules")}}})
	}
	if len(recs) == 0 {
		return 0, nil
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(k.Brokers...),
		kgo.TransactionalID(TransactionalID),
		kgo.TransactionTimeout(publishTxnTimeout),
		kgo.RecordDeliveryTimeout(30*time.Second),
	)
	if err != nil {
		return 0, fmt.Errorf("kafka producer: %w", err)
	}
	defer cl.Close()
	if err := cl.BeginTransaction(); err != nil {
		return 0, fmt.Errorf("begin transaction: %w", err)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		abortCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = cl.AbortBufferedRecords(abortCtx)
		_ = cl.EndTransaction(abortCtx, kgo.TryAbort)
		return 0, fmt.Errorf("publish to %s at %v: %w", k.topic(), k.Brokers, err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return 0, fmt.Errorf("commit rule transaction: %w", err)
	}
	return len(recs), nil
}

// Apply reads the live set, diffs it with desired and publishes the changes.
// It returns the plan it applied (versions filled in).
func (k Kafka) Apply(ctx context.Context, desired Set) (Plan, error) {
	live, err := k.ReadLive(ctx)
	if err != nil {
		return Plan{}, err
	}
	plan := Diff(live, desired)
	if _, err := k.Publish(ctx, plan); err != nil {
		return plan, err
	}
	return plan, nil
}
