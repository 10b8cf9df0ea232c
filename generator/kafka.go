package generator

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
)

// KafkaOptions configure the producer.
type KafkaOptions struct {
	Brokers []string
	Topic   string // default contract.RawTransactions
	// BufferRecords bounds memory while the broker is slow or down: once this
	// many records await acknowledgement, Write blocks (default 50,000).
	BufferRecords int
	Extra         []kgo.Opt
}

// KafkaSink produces records keyed by account_id with franz-go's idempotent
// producer: unlimited retries with exponential backoff (250 ms doubling to
// 5 s) and no delivery timeout, so a broker outage delays records but neither
// drops nor duplicates them.
type KafkaSink struct {
	cl      *kgo.Client
	stats   *Stats
	max     int64
	lastLog atomic.Int64
}

// NewKafkaSink connects lazily: it succeeds even while the broker is down.
func NewKafkaSink(o KafkaOptions, stats *Stats) (*KafkaSink, error) {
	if o.Topic == "" {
		o.Topic = contract.RawTransactions
	}
	if o.BufferRecords <= 0 {
		o.BufferRecords = 50_000
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.DefaultProduceTopic(o.Topic),
		kgo.MaxBufferedRecords(o.BufferRecords),
		// Defaults kept on purpose: unlimited record retries, no delivery timeout.
		// The topic may not exist yet when the broker comes up (topics are
		// created by `lakectl topics create`); keep the records until it does.
		kgo.UnknownTopicRetries(-1),
		kgo.ProducerLinger(5 * time.Millisecond),
		kgo.ProducerBatchCompression(kgo.Lz4Compression(), kgo.NoCompression()),
	}
	opts = append(opts, o.Extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka client for %v: %w", o.Brokers, err)
	}
	return &KafkaSink{cl: cl, stats: stats, max: int64(o.BufferRecords)}, nil
}

// Client exposes the underlying client (tests read back through their own).
func (s *KafkaSink) Client() *kgo.Client { return s.cl }

// Write blocks while the buffer is full. The record itself gets a context
// that is never canceled: a record once buffered is delivered even when the
// run is interrupted (Flush then waits for it), since franz-go fails buffered
// records whose context ends.
func (s *KafkaSink) Write(ctx context.Context, r *Record) error {
	for s.cl.BufferedProduceRecords() >= s.max {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Timestamp left zero: franz-go stamps the wall clock at Produce, the
	// generation time the pipeline measures latency from.
	s.cl.Produce(context.Background(), &kgo.Record{Key: r.Key, Value: r.Value}, s.done)
	return nil
}

func (s *KafkaSink) done(r *kgo.Record, err error) {
	if err == nil {
		s.stats.Produced.Add(1)
		return
	}
	s.stats.Errors.Add(1)
	now := time.Now().UnixNano()
	if last := s.lastLog.Load(); now-last > int64(5*time.Second) && s.lastLog.CompareAndSwap(last, now) {
		slog.Error("record not delivered", "topic", r.Topic, "err", err)
	}
}

func (s *KafkaSink) Flush(ctx context.Context) error {
	if err := s.cl.Flush(ctx); err != nil {
		return fmt.Errorf("flush producer (%d records still buffered): %w", s.cl.BufferedProduceRecords(), err)
	}
	return nil
}

func (s *KafkaSink) Close() error { s.cl.Close(); return nil }

func (s *KafkaSink) Buffered() int64 { return s.cl.BufferedProduceRecords() }
func (s *KafkaSink) Retains() bool   { return true }
