package generator_test

import (
	"bytes"
	"context"
	"net"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/generator"
	"github.com/finlake/finlake/stack/kafkalocal"
)

// expected regenerates the deterministic stream a run produced.
func expected(t *testing.T, cfg generator.Config, n int) []generator.Record {
	return generate(t, cfg, n)
}

// consumeAll reads raw-transactions from the start until n records arrived
// (or the deadline), keeping each partition's records in offset order.
func consumeAll(t *testing.T, bootstrap string, n int) map[int32][]*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ConsumeTopics(contract.RawTransactions),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got := map[int32][]*kgo.Record{}
	total := 0
	for total < n && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			got[r.Partition] = append(got[r.Partition], r)
			total++
		})
	}
	// A short extra poll shows any record delivered twice.
	ectx, ecancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer ecancel()
	cl.PollFetches(ectx).EachRecord(func(r *kgo.Record) {
		got[r.Partition] = append(got[r.Partition], r)
		total++
	})
	if total != n {
		t.Fatalf("consumed %d records, produced %d", total, n)
	}
	return got
}

// sameStreamPerAccount checks that every account's records arrived exactly
// once and in generation order: Kafka keeps order per key.
func sameStreamPerAccount(t *testing.T, want []generator.Record, got map[int32][]*kgo.Record) {
	t.Helper()
	perKey := func(key []byte, val []byte, m map[string][][]byte) { m[string(key)] = append(m[string(key)], val) }
	w, g := map[string][][]byte{}, map[string][][]byte{}
	for _, r := range want {
		perKey(r.Key, r.Value, w)
	}
	for _, rs := range got {
		for _, r := range rs {
			perKey(r.Key, r.Value, g)
		}
	}
	if len(w) != len(g) {
		t.Fatalf("%d accounts produced, %d consumed", len(w), len(g))
	}
	for k, wv := range w {
		gv := g[k]
		if len(gv) != len(wv) {
			t.Fatalf("account %s: %d records produced, %d consumed", k, len(wv), len(gv))
		}
		for i := range wv {
			if !bytes.Equal(wv[i], gv[i]) {
				t.Fatalf("account %s record %d:\nproduced %s\nconsumed %s", k, i, wv[i], gv[i])
			}
		}
	}
}

func runToKafka(t *testing.T, ctx context.Context, cfg generator.Config, bootstrap string, count int64, buffer int) error {
	return runToKafkaStats(t, ctx, cfg, bootstrap, count, buffer, &generator.Stats{}, nil)
}

func runToKafkaStats(t *testing.T, ctx context.Context, cfg generator.Config, bootstrap string, count int64, buffer int,
	stats *generator.Stats, pacer *generator.Pacer) error {
	g, err := generator.New(cfg)
	if err != nil {
		return err
	}
	sink, err := generator.NewKafkaSink(generator.KafkaOptions{Brokers: []string{bootstrap}, BufferRecords: buffer}, stats)
	if err != nil {
		return err
	}
	defer sink.Close()
	if err := generator.Run(ctx, generator.RunOptions{Gen: g, Sink: sink, Stats: stats, Count: count, Pacer: pacer}); err != nil {
		return err
	}
	if p := stats.Produced.Load(); p != count {
		t.Errorf("%d records acknowledged, %d generated", p, count)
	}
	return nil
}

func TestFiveThousandRecordsAtFullSpeedArriveCompleteAndWellFormed(t *testing.T) {
	b := kafkalocal.StartT(t)
	cfg := testConfig(21)
	cfg.FraudRate, cfg.MalformedRate = 0.01, 0.01
	const n = 5_000
	before := time.Now()
	if err := runToKafka(t, context.Background(), cfg, b.Bootstrap(), n, 0); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	want := expected(t, cfg, n)
	got := consumeAll(t, b.Bootstrap(), n)
	sameStreamPerAccount(t, want, got)

	// The i-th record of an account is the i-th one generated for it (checked above).
	kinds := map[string][]string{}
	for _, r := range want {
		kinds[string(r.Key)] = append(kinds[string(r.Key)], r.Kind)
	}
	next := map[string]int{}
	parts := make([]int32, 0, len(got))
	for p := range got {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	chk := newContractChecker(time.Now())
	for _, p := range parts {
		for _, r := range got[p] {
			if r.Timestamp.Before(before.Add(-time.Second)) || r.Timestamp.After(after.Add(time.Second)) {
				t.Fatalf("record timestamp %v is not the generation time (run %v to %v)", r.Timestamp, before, after)
			}
			errs := chk.check(r.Value)
			k := kinds[string(r.Key)][next[string(r.Key)]]
			next[string(r.Key)]++
			if (k == "" && len(errs) > 0) || (k != "" && (len(errs) != 1 || errs[0] != k)) {
				t.Fatalf("partition %d offset %d (kind %q) fails %v: %s", p, r.Offset, k, errs, r.Value)
			}
		}
	}
}

func TestBrokerDownAtStartDeliversEverythingExactlyOnceWhenItComesUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	bootstrap := net.JoinHostPort("127.0.0.1", itoa(port))

	cfg := testConfig(22)
	cfg.FraudRate, cfg.MalformedRate = 0.01, 0.01
	const n = 3_000
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// A buffer smaller than the run: generation must block, not drop.
	go func() { done <- runToKafka(t, ctx, cfg, bootstrap, n, 500) }()

	time.Sleep(4 * time.Second)
	select {
	case err := <-done:
		t.Fatalf("run ended while the broker was down: %v", err)
	default:
	}
	b, err := kafkalocal.Start(ctx, kafkalocal.Options{Dir: t.TempDir(), Port: port, QuickStart: true})
	if err != nil {
		t.Fatalf("start broker on %d: %v", port, err)
	}
	t.Cleanup(func() { _ = b.Stop() })
	if err := contract.Ensure(ctx, []string{bootstrap}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	sameStreamPerAccount(t, expected(t, cfg, n), consumeAll(t, bootstrap, n))
}

func TestBrokerKilledMidRunLosesAndDuplicatesNothing(t *testing.T) {
	b := kafkalocal.StartT(t)
	cfg := testConfig(23)
	cfg.FraudRate, cfg.MalformedRate = 0.01, 0.01
	const n = 30_000
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stats := &generator.Stats{}
	done := make(chan error, 1)
	// Paced so the kill lands mid-run (about 2 s of traffic) however fast the machine.
	go func() {
		done <- runToKafkaStats(t, ctx, cfg, b.Bootstrap(), n, 2_000, stats, generator.NewPacer(10_000))
	}()

	for stats.Produced.Load() < 3_000 {
		if ctx.Err() != nil {
			t.Fatal("fewer than 3,000 records acknowledged before the deadline")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := b.Kill(); err != nil {
		t.Fatal(err)
	}
	killedAt := stats.Produced.Load()
	time.Sleep(2 * time.Second)
	if err := b.Restart(ctx); err != nil {
		t.Fatalf("restart broker: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if killedAt >= n {
		t.Fatalf("the run had finished (%d acknowledged) before the kill", killedAt)
	}
	sameStreamPerAccount(t, expected(t, cfg, n), consumeAll(t, b.Bootstrap(), n))
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
