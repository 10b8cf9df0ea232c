package testsupport

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/stack/kafkalocal"
)

// Main is the TestMain of a package whose tests use kafkalocal.SharedT or
// CatalogURI: it runs the tests, then stops the shared broker and PostgreSQL
// cluster (those that were started) before the binary exits with the tests'
// code.
func Main(m *testing.M) {
	code := m.Run()
	kafkalocal.StopShared()
	StopSharedPostgres()
	os.Exit(code)
}

// Client is a Kafka client of brokers with opts, closed when the test ends.
func Client(t testing.TB, brokers []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		t.Fatalf("kafka client for %v: %v", brokers, err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Compacted is the topic configuration of a compacted topic (the rules
// topic's cleanup policy).
func Compacted() map[string]*string {
	compact := "compact"
	return map[string]*string{"cleanup.policy": &compact}
}

// CreateTopics creates topics with the given partitions (replication 1) and
// configs on brokers and returns once the broker serves their offsets: a
// topic just created is not served at once, and a consumer or ListEndOffsets
// in that moment fails.
func CreateTopics(t testing.TB, brokers []string, partitions int32, configs map[string]*string, topics ...string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatalf("kafka client for %v: %v", brokers, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := adm.CreateTopics(ctx, partitions, 1, configs, topics...)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatalf("create topics %v: %v", topics, err)
	}
	for {
		ends, err := adm.ListEndOffsets(ctx, topics...)
		if err == nil && ends.Error() == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("topics %v not served within a minute: %v", topics, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ProduceTxn writes recs in one Kafka transaction of transactional id txnID,
// committed or aborted, as the Flink job writes; readers must then honour
// read_committed.
func ProduceTxn(t testing.TB, brokers []string, txnID string, commit bool, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.TransactionalID(txnID))
	if err != nil {
		t.Fatalf("transactional kafka client %s: %v", txnID, err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatalf("begin transaction %s: %v", txnID, err)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce in transaction %s: %v", txnID, err)
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatalf("end transaction %s (commit %t): %v", txnID, commit, err)
	}
}
