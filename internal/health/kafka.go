package health

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
)

// KafkaStatus is the broker, the contract topics, dead letters and lag.
type KafkaStatus struct {
	Brokers      []string     `json:"bootstrap"`
	Up           bool         `json:"up"`
	Reason       string       `json:"reason,omitempty"`
	BrokerCount  int          `json:"brokers"`
	Topics       []TopicStat  `json:"topics"`
	DeadLetters  int64        `json:"dead_letter_depth"`
	FailedChecks []CheckCount `json:"validation_failures_per_minute"`
	AlertLatency *Percentiles `json:"alert_latency,omitempty"`
	Lag          []Lag        `json:"consumer_lag"`
}

// TopicStat is one topic's size and recent throughput.
type TopicStat struct {
	Name       string  `json:"name"`
	Stage      string  `json:"stage"` // which component writes it
	Exists     bool    `json:"exists"`
	Partitions int     `json:"partitions"`
	Records    int64   `json:"records"`        // retained offsets (end − start)
	Recent     int64   `json:"recent_records"` // with a timestamp within the window
	PerSecond  float64 `json:"per_second"`
}

// CheckCount is dead letters per validation check (field/rule) per minute.
type CheckCount struct {
	Check     string  `json:"check"`
	PerMinute float64 `json:"per_minute"`
}

// Lag is one consumer group partition.
type Lag struct {
	Group     string `json:"group"`
	State     string `json:"state"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Committed int64  `json:"committed"`
	End       int64  `json:"end"`
	Lag       int64  `json:"lag"`
}

var stages = map[string]string{
	contract.RawTransactions:       "generator",
	contract.AlertRules:            "lakectl rules",
	contract.TransactionsProcessed: "flink",
	contract.Alerts:                "flink",
	contract.DeadLetter:            "flink",
}

func checkKafka(ctx context.Context, cfg Config, col *collector) *KafkaStatus {
	ks := &KafkaStatus{Brokers: cfg.Brokers, Topics: []TopicStat{}, Lag: []Lag{}, FailedChecks: []CheckCount{}}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.RequestTimeoutOverhead(cfg.Timeout),
		kgo.RetryTimeout(cfg.Timeout), kgo.DialTimeout(cfg.Timeout))
	if err != nil {
		ks.Reason = err.Error()
		col.add(Kafka, ks.Reason)
		return ks
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	tctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	brokers, err := adm.ListBrokers(tctx)
	cancel()
	if err != nil {
		ks.Reason = shortErr(err)
		col.add(Kafka, fmt.Sprintf("broker unreachable at %s (%s)", strings.Join(cfg.Brokers, ","), ks.Reason))
		return ks
	}
	ks.Up, ks.BrokerCount = true, len(brokers)

	names := contract.Names()
	qctx, cancel := context.WithTimeout(ctx, 2*cfg.Timeout)
	defer cancel()
	details, err := adm.ListTopics(qctx, names...)
	if err != nil {
		col.add(Kafka, "list topics: "+shortErr(err))
		return ks
	}
	starts, _ := adm.ListStartOffsets(qctx, names...)
	ends, _ := adm.ListEndOffsets(qctx, names...)
	since := time.Now().Add(-cfg.Window)
	after, _ := adm.ListOffsetsAfterMilli(qctx, since.UnixMilli(), names...)
	for _, n := range names {
		ts := TopicStat{Name: n, Stage: stages[n]}
		d, ok := details[n]
		if !ok || d.Err != nil {
			col.add(Kafka, fmt.Sprintf("topic %s is missing (lakectl topics create)", n))
			ks.Topics = append(ks.Topics, ts)
			continue
		}
		ts.Exists, ts.Partitions = true, len(d.Partitions)
		for p := range d.Partitions {
			s, sok := starts.Lookup(n, p)
			e, eok := ends.Lookup(n, p)
			a, aok := after.Lookup(n, p)
			if sok && eok && s.Err == nil && e.Err == nil {
				ts.Records += e.Offset - s.Offset
			}
			if eok && aok && e.Err == nil && a.Err == nil && a.Offset >= 0 {
				ts.Recent += e.Offset - a.Offset
			}
		}
		ts.PerSecond = round1(float64(ts.Recent) / cfg.Window.Seconds())
		if n == contract.DeadLetter {
			ks.DeadLetters = ts.Records
		}
		ks.Topics = append(ks.Topics, ts)
	}

	// Dead letters per check and alert latency, from the window's records.
	checks := map[string]int64{}
	var latencies []float64
	if deadFrom := offsetsOf(after, contract.DeadLetter); len(deadFrom) > 0 {
		_ = scanRange(ctx, cl, contract.DeadLetter, deadFrom, offsetsOf(ends, contract.DeadLetter), cfg.SampleLimit, func(r *kgo.Record) {
			d, err := contract.DecodeDeadLetter(r.Value)
			if err != nil {
				checks["unreadable dead letter"]++
				return
			}
			for _, e := range d.Errors {
				checks[e.Field+"/"+e.Rule]++
			}
		})
	}
	for c, n := range checks {
		ks.FailedChecks = append(ks.FailedChecks, CheckCount{Check: c, PerMinute: round1(float64(n) / cfg.Window.Minutes())})
	}
	sort.Slice(ks.FailedChecks, func(i, j int) bool { return ks.FailedChecks[i].PerMinute > ks.FailedChecks[j].PerMinute })
	if alertFrom := offsetsOf(after, contract.Alerts); len(alertFrom) > 0 {
		_ = scanRange(ctx, cl, contract.Alerts, alertFrom, offsetsOf(ends, contract.Alerts), cfg.SampleLimit, func(r *kgo.Record) {
			a, err := contract.DecodeAlert(r.Value)
			if err != nil {
				return
			}
			at, err := a.Time()
			if err != nil || at.IsZero() {
				return
			}
			// The record keeps the raw event's timestamp: its generation time.
			latencies = append(latencies, float64(at.Sub(r.Timestamp).Microseconds())/1000)
		})
	}
	if len(latencies) > 0 {
		sort.Float64s(latencies)
		ks.AlertLatency = &Percentiles{N: int64(len(latencies)), P50: round1(quantile(latencies, 0.5)),
			P95: round1(quantile(latencies, 0.95)), P99: round1(quantile(latencies, 0.99)),
			Source: fmt.Sprintf("alerts of the last %s: alert_timestamp − generation time", cfg.Window)}
	}

	groups, err := adm.ListGroups(qctx)
	if err == nil && len(groups) > 0 {
		lags, err := adm.Lag(qctx, groups.Groups()...)
		if err == nil {
			for _, g := range lags.Sorted() {
				for _, l := range g.Lag.Sorted() {
					if l.Err != nil {
						continue
					}
					ks.Lag = append(ks.Lag, Lag{Group: g.Group, State: g.State, Topic: l.Topic, Partition: l.Partition,
						Committed: l.Commit.At, End: l.End.Offset, Lag: l.Lag})
					if cfg.MaxLag > 0 && l.Lag > cfg.MaxLag {
						col.add(Kafka, fmt.Sprintf("group %s lags %d records on %s[%d] (more than %d)", g.Group, l.Lag, l.Topic, l.Partition, cfg.MaxLag))
					}
				}
			}
		}
	}
	return ks
}

func offsetsOf(lo kadm.ListedOffsets, topic string) map[int32]int64 {
	out := map[int32]int64{}
	for p, o := range lo[topic] {
		if o.Err == nil && o.Offset >= 0 {
			out[p] = o.Offset
		}
	}
	return out
}

// quantile of sorted values by linear interpolation.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (sorted[hi]-sorted[lo])*(pos-float64(lo))
}

// scanRange reads committed records of topic from → to (exclusive) per
// partition, at most limit records, giving up after a short silence.
func scanRange(ctx context.Context, base *kgo.Client, topic string, from, to map[int32]int64, limit int, fn func(*kgo.Record)) error {
	remaining := map[int32]int64{}
	parts := map[int32]kgo.Offset{}
	for p, f := range from {
		if t, ok := to[p]; ok && t > f {
			remaining[p] = t
			parts[p] = kgo.NewOffset().At(f)
		}
	}
	if len(remaining) == 0 {
		return nil
	}
	opts := base.Opts()
	cl, err := kgo.NewClient(append(opts,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords())...)
	if err != nil {
		return err
	}
	defer cl.Close()
	seen := 0
	for len(remaining) > 0 && seen < limit {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if fs.NumRecords() == 0 && (pctx.Err() != nil || ctx.Err() != nil) {
			return nil
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := remaining[r.Partition]
			if !ok {
				return
			}
			if r.Offset < end && !r.Attrs.IsControl() && seen < limit {
				fn(r)
				seen++
			}
			if r.Offset >= end-1 {
				delete(remaining, r.Partition)
			}
		})
	}
	return nil
}
