// Package contract is the one Go home of the finlake contract's facts: the
// Kafka topics (names, specs, creating them idempotently on a cluster), the
// record types that travel on them (records.go, held to the shared vectors
// in testdata/ that flinkjob's tests also read) and the layout of the data
// directory (datadir.go).
package contract

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The contract's topic names (see ARCHITECTURE.md, "Kafka topics").
const (
	RawTransactions       = "raw-transactions"
	AlertRules            = "alert-rules"
	TransactionsProcessed = "transactions-processed"
	Alerts                = "alerts"
	DeadLetter            = "dead-letter"
)

// DefaultDataPartitions is the partition count of the data topics: enough to
// exercise per-partition offsets and parallel Flink sources on a laptop.
const DefaultDataPartitions = 3

// Spec is one topic's shape.
type Spec struct {
	Name              string
	Partitions        int32
	ReplicationFactor int16
	// Configs are set on creation; the ones in Required are also checked on
	// existing topics, since the pipeline is wrong without them.
	Configs  map[string]string
	Required []string
}

// Specs returns the contract's topics with data topics of dataPartitions
// partitions (DefaultDataPartitions when <= 0). alert-rules has a single
// partition so rules and the FX table are read in the order they were
// written, and is compacted so the latest value of every rule survives.
func Specs(dataPartitions int32) []Spec {
	if dataPartitions <= 0 {
		dataPartitions = DefaultDataPartitions
	}
	data := func(name string) Spec {
		return Spec{Name: name, Partitions: dataPartitions, ReplicationFactor: 1}
	}
	return []Spec{
		data(RawTransactions),
		{Name: AlertRules, Partitions: 1, ReplicationFactor: 1,
			Configs: map[string]string{"cleanup.policy": "compact"}, Required: []string{"cleanup.policy"}},
		data(TransactionsProcessed),
		data(Alerts),
		data(DeadLetter),
	}
}

// Names lists the contract's topic names.
func Names() []string {
	var n []string
	for _, s := range Specs(0) {
		n = append(n, s.Name)
	}
	return n
}

// Status reports what Ensure did with one topic.
type Status struct {
	Name       string
	Created    bool // false: it existed already
	Partitions int32
	Configs    map[string]string // the Required configs as found
}

type options struct {
	dataPartitions int32
	report         func(Status)
	timeout        time.Duration
}

// Option tunes Ensure.
type Option func(*options)

// WithDataPartitions sets the partition count for newly created data topics.
func WithDataPartitions(n int32) Option { return func(o *options) { o.dataPartitions = n } }

// WithReport receives one Status per topic, in contract order.
func WithReport(f func(Status)) Option { return func(o *options) { o.report = f } }

// WithTimeout bounds the whole call (default 60 s).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// Ensure creates the contract's missing topics and checks the existing ones,
// returning once every partition has a leader (producers can start at once).
// Existing topics are fine as they are, except when a required config
// differs (e.g. alert-rules not compacted) or alert-rules has more than one
// partition: then it returns an error naming the topic and how to fix it.
func Ensure(ctx context.Context, brokers []string, opts ...Option) error {
	o := options{timeout: 60 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return fmt.Errorf("topics: kafka client for %v: %w", brokers, err)
	}
	defer cl.Close()
	return EnsureWith(ctx, cl, opts...)
}

// EnsureWith is Ensure on a caller's client (not closed).
func EnsureWith(ctx context.Context, cl *kgo.Client, opts ...Option) error {
	o := options{}
	for _, f := range opts {
		f(&o)
	}
	adm := kadm.NewClient(cl)
	specs := Specs(o.dataPartitions)
	names := Names()
	partitions, err := partitionCounts(ctx, cl, names)
	if err != nil {
		return fmt.Errorf("topics: list topics (is Kafka up at the given --brokers?): %w", err)
	}
	created := map[string]bool{}
	for _, s := range specs {
		if _, ok := partitions[s.Name]; ok {
			continue
		}
		var cfg map[string]*string
		for k, v := range s.Configs {
			if cfg == nil {
				cfg = map[string]*string{}
			}
			cfg[k] = kadm.StringPtr(v)
		}
		resp, err := adm.CreateTopic(ctx, s.Partitions, s.ReplicationFactor, cfg, s.Name)
		if err == nil {
			err = resp.Err
		}
		switch {
		case err == nil:
			created[s.Name] = true
			partitions[s.Name] = resp.NumPartitions
		case errors.Is(err, kerr.TopicAlreadyExists):
			// Created by someone else since we listed: judge it like any
			// existing topic.
			p, err := partitionCounts(ctx, cl, []string{s.Name})
			if err != nil {
				return fmt.Errorf("topics: describe %s: %w", s.Name, err)
			}
			partitions[s.Name] = p[s.Name]
		default:
			return fmt.Errorf("topics: create %s: %w", s.Name, err)
		}
	}
	if err := waitServed(ctx, cl, names); err != nil {
		return err
	}
	configs, err := describeConfigs(ctx, adm, names)
	if err != nil {
		return err
	}
	var problems []string
	for _, s := range specs {
		st := Status{Name: s.Name, Created: created[s.Name], Partitions: partitions[s.Name]}
		rc, _ := configs.On(s.Name, nil)
		for _, k := range s.Required {
			got := ""
			for _, c := range rc.Configs {
				if c.Key == k {
					got = c.MaybeValue()
				}
			}
			if st.Configs == nil {
				st.Configs = map[string]string{}
			}
			st.Configs[k] = got
			if got != s.Configs[k] {
				problems = append(problems, fmt.Sprintf("%s has %s=%q, want %q (kafka-configs --alter --entity-type topics --entity-name %s --add-config %s=%s, or delete and re-create it)",
					s.Name, k, got, s.Configs[k], s.Name, k, s.Configs[k]))
			}
		}
		if s.Name == AlertRules && st.Partitions != 1 {
			problems = append(problems, fmt.Sprintf("%s has %d partitions, want 1 so rule updates keep their order (delete and re-create it)", s.Name, st.Partitions))
		}
		if o.report != nil {
			o.report(st)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("topics: existing topics do not match the contract: %s", strings.Join(problems, "; "))
	}
	return nil
}

// partitionCounts asks a broker directly for the partition counts of the
// names that exist. kadm's listings answer from the client's metadata cache
// (up to MetadataMinAge, 5 s, old), which can still say a topic is missing
// that was just created.
func partitionCounts(ctx context.Context, cl *kgo.Client, names []string) (map[string]int32, error) {
	req := kmsg.NewPtrMetadataRequest()
	for _, n := range names {
		t := kmsg.NewMetadataRequestTopic()
		t.Topic = kmsg.StringPtr(n)
		req.Topics = append(req.Topics, t)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	out := map[string]int32{}
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		switch err := kerr.ErrorForCode(t.ErrorCode); {
		case err == nil, errors.Is(err, kerr.LeaderNotAvailable): // the latter: just created
			out[*t.Topic] = int32(len(t.Partitions))
		case errors.Is(err, kerr.UnknownTopicOrPartition):
		default:
			return nil, fmt.Errorf("metadata of %s: %w", *t.Topic, err)
		}
	}
	return out, nil
}

// waitServed returns once every partition of the topics has a leader, so
// that a producer started right after Ensure does not meet a topic the
// broker has created but does not serve yet.
func waitServed(ctx context.Context, cl *kgo.Client, names []string) error {
	req := kmsg.NewPtrMetadataRequest()
	for _, n := range names {
		t := kmsg.NewMetadataRequestTopic()
		t.Topic = kmsg.StringPtr(n)
		req.Topics = append(req.Topics, t)
	}
	for {
		resp, err := req.RequestWith(ctx, cl)
		var waiting []string
		if err == nil {
			for _, t := range resp.Topics {
				served := t.ErrorCode == 0 && len(t.Partitions) > 0
				for _, p := range t.Partitions {
					served = served && p.ErrorCode == 0 && p.Leader >= 0
				}
				if !served && t.Topic != nil {
					waiting = append(waiting, *t.Topic)
				}
			}
			if len(waiting) == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("no leader yet for %v", waiting)
			}
			return fmt.Errorf("topics: waiting for the topics to be served: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// describeConfigs retries while a just created topic is not yet in the
// broker's metadata (it answers UNKNOWN_TOPIC_OR_PARTITION for a moment).
func describeConfigs(ctx context.Context, adm *kadm.Client, names []string) (kadm.ResourceConfigs, error) {
	for {
		rcs, err := adm.DescribeTopicConfigs(ctx, names...)
		if err != nil {
			return nil, fmt.Errorf("topics: describe configs: %w", err)
		}
		var failed error
		for _, n := range names {
			rc, err := rcs.On(n, nil)
			if err == nil {
				err = rc.Err
			}
			if err != nil {
				failed = fmt.Errorf("topics: configs of %s: %w", n, err)
				if !errors.Is(err, kerr.UnknownTopicOrPartition) {
					return nil, failed
				}
			}
		}
		if failed == nil {
			return rcs, nil
		}
		select {
		case <-ctx.Done():
			return nil, failed
		case <-time.After(100 * time.Millisecond):
		}
	}
}
