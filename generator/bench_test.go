package generator_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/generator"
	"github.com/finlake/finlake/stack/kafkalocal"
)

// BenchmarkGenerateAndEncode measures one generator producing JSON lines
// (the whole model: accounts, amounts, lifecycle, scenarios, malformed) at
// the default settings. Target: 500,000 records/s on this 2-core machine.
func BenchmarkGenerateAndEncode(b *testing.B) {
	g, err := generator.New(testConfig(1))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	var bytes int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := g.Next(buf[:0])
		bytes += int64(len(r.Value)) + 1
		buf = r.Value
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(bytes)/float64(b.N), "B/record")
}

// BenchmarkGenerateAndEncodeParallel runs one independent generator per core
// (e.g. one per partition range), the way to use both cores.
func BenchmarkGenerateAndEncodeParallel(b *testing.B) {
	seed := uint64(0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		seed++
		g, err := generator.New(testConfig(seed))
		if err != nil {
			b.Error(err)
			return
		}
		buf := make([]byte, 0, 512)
		for pb.Next() {
			buf = g.Next(buf[:0]).Value
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkProduceToLocalBroker measures records/s acknowledged by a real
// local broker (full JIT, not QuickStart) through the generator's Kafka sink,
// then Kafka's own kafka-producer-perf-test on the same broker, topic and
// record size. Set FINLAKE_BENCH_RECORDS to change the record count (default 1,000,000).
func BenchmarkProduceToLocalBroker(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("FINLAKE_BENCH_RECORDS"); v != "" {
		fmt.Sscan(v, &n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	broker, err := kafkalocal.Start(ctx, kafkalocal.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer broker.Stop()
	if err := contract.Ensure(ctx, []string{broker.Bootstrap()}); err != nil {
		b.Fatal(err)
	}
	// Warm the broker's JIT first so neither side pays for it.
	if _, _, err := kafkalocal.ProducerPerfTest(ctx, broker.Classpath(), broker.Bootstrap(), contract.RawTransactions, n/5, 285); err != nil {
		b.Fatal(err)
	}
	var bytesOut, recs int64
	var took time.Duration
	for i := 0; i < b.N; i++ {
		g, err := generator.New(testConfig(uint64(100 + i)))
		if err != nil {
			b.Fatal(err)
		}
		stats := &generator.Stats{}
		sink, err := generator.NewKafkaSink(generator.KafkaOptions{Brokers: []string{broker.Bootstrap()}}, stats)
		if err != nil {
			b.Fatal(err)
		}
		counting := &countingSink{Sink: sink}
		start := time.Now()
		if err := generator.Run(ctx, generator.RunOptions{Gen: g, Sink: counting, Stats: stats, Count: int64(n)}); err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
		sink.Close()
		bytesOut += counting.bytes
		recs += int64(n)
	}
	size := int(bytesOut / recs)
	ours := float64(recs) / took.Seconds()
	b.ReportMetric(ours, "records/s")
	b.ReportMetric(float64(size), "B/record")
	theirs, _, err := kafkalocal.ProducerPerfTest(ctx, broker.Classpath(), broker.Bootstrap(), contract.RawTransactions, n, size)
	if err != nil {
		b.Fatal(err)
	}
	// The same tool with our producer's batching and compression (lz4,
	// 5 ms linger, 1 MB batches), to separate client from settings.
	matched, _, err := kafkalocal.ProducerPerfTest(ctx, broker.Classpath(), broker.Bootstrap(), contract.RawTransactions, n, size,
		"compression.type=lz4", "linger.ms=5", "batch.size=1000000")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(theirs, "perf-test-records/s")
	b.ReportMetric(matched, "perf-test-lz4-records/s")
	fmt.Printf("produce to local broker, %d records of %d B, idempotent, acks=all:\n"+
		"  finlake generator (franz-go, lz4, linger 5ms):             %8.0f records/s\n"+
		"  kafka-producer-perf-test, Kafka defaults:                   %8.0f records/s\n"+
		"  kafka-producer-perf-test, lz4, linger.ms=5, batch.size=1MB: %8.0f records/s\n",
		n, size, ours, theirs, matched)
}

type countingSink struct {
	generator.Sink
	bytes int64
}

func (c *countingSink) Write(ctx context.Context, r *generator.Record) error {
	c.bytes += int64(len(r.Value))
	return c.Sink.Write(ctx, r)
}
