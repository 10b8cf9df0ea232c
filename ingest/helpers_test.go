package ingest

// Test helpers for the tests against the real local Kafka broker: per-test
// topics, a transactional producer of contract-shaped records, the service
// run in-process, and exact row/key counts read back through iceberg-go.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/internal/testsupport"
	"github.com/finlake/finlake/lake"
	"github.com/finlake/finlake/stack/kafkalocal"
)

func TestMain(m *testing.M) { testsupport.Main(m) }

// testTopics are a test's own two topics on the shared broker.
type testTopics struct {
	brokers      []string
	transactions string
	alerts       string
}

var nonWord = regexp.MustCompile(`[^a-zA-Z0-9]+`)

func newTopics(t *testing.T) testTopics {
	t.Helper()
	b := kafkalocal.SharedT(t)
	base := strings.ToLower(nonWord.ReplaceAllString(t.Name(), "-"))
	tt := testTopics{brokers: []string{b.Bootstrap()}, transactions: base + "-tx", alerts: base + "-alerts"}
	testsupport.CreateTopics(t, tt.brokers, 3, nil, tt.transactions, tt.alerts)
	return tt
}

// producer writes contract-shaped records in Kafka transactions, as the
// Flink job does, so read_committed matters.
type producer struct {
	t      *testing.T
	cl     *kgo.Client
	topics testTopics
	extra  string // extra JSON fields appended to every transaction record
	txSent atomic.Int64
	alSent atomic.Int64
}

func newProducer(t *testing.T, tt testTopics) *producer {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(tt.brokers...),
		kgo.TransactionalID("test-"+uuid.NewString()), kgo.TransactionTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &producer{t: t, cl: cl, topics: tt}
}

func enrichedTx(id string, i int, extra string) []byte {
	ts := time.Date(2026, 11, 24+i%3, i%24, i%60, i%60, (i%1000)*1e6, time.UTC)
	return fmt.Appendf(nil, `{"transaction_id":%q,"timestamp":%q,"account_id":"AC%07d","amount":%d.%02d,`+
		`"currency":"EUR","merchant_name":"Bistro Lumiere","merchant_category":"dining","transaction_type":"purchase",`+
		`"location_country":"FR","status":"pending","amount_usd":%d.%02d,"processing_timestamp":%q,`+
		`"partition_date":%q,"is_flagged":%t%s}`,
		id, ts.Format(time.RFC3339Nano), i%97, 1+i%5000, i%100, 1+i%5000, i%100, time.Now().UTC().Format(time.RFC3339Nano),
		ts.Format(time.DateOnly), i%10 == 0, extra)
}

func alertJSON(txID string, i int) []byte {
	return fmt.Appendf(nil, `{"alert_id":%q,"transaction_id":%q,"account_id":"AC%07d","rule_name":"high_value",`+
		`"rule_type":"threshold","rule_version":1,"severity":"high","alert_timestamp":%q,`+
		`"description":"amount above 10000 USD","transaction":%s}`,
		uuid.NewSHA1(uuid.NameSpaceOID, []byte(txID+"high_value")).String(), txID, i%97,
		time.Now().UTC().Format(time.RFC3339Nano), enrichedTx(txID, i, ""))
}

// send produces n transactions (every 5th with an alert) in one Kafka
// transaction, committed or aborted. Returns the transaction ids.
func (p *producer) send(ctx context.Context, n int, commit bool) {
	p.t.Helper()
	if err := p.cl.BeginTransaction(); err != nil {
		p.t.Fatalf("begin transaction: %v", err)
	}
	var recs []*kgo.Record
	alerts := 0
	for i := 0; i < n; i++ {
		id := uuid.NewString()
		idx := int(p.txSent.Load()) + i
		recs = append(recs, &kgo.Record{Topic: p.topics.transactions, Key: fmt.Appendf(nil, "AC%07d", idx%97),
			Value: enrichedTx(id, idx, p.extra)})
		if idx%5 == 0 {
			alerts++
			recs = append(recs, &kgo.Record{Topic: p.topics.alerts, Key: []byte(id), Value: alertJSON(id, idx)})
		}
	}
	if err := p.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		p.t.Fatalf("produce: %v", err)
	}
	end := kgo.TryAbort
	if commit {
		end = kgo.TryCommit
	}
	if err := p.cl.EndTransaction(ctx, end); err != nil {
		p.t.Fatalf("end transaction: %v", err)
	}
	if commit {
		p.txSent.Add(int64(n))
		p.alSent.Add(int64(alerts))
	}
}

// tableCounts reads a table through iceberg-go: rows, distinct values of
// key, and distinct Kafka (partition, offset) pairs.
type counted struct {
	rows, distinctKeys, distinctOffsets int
	nonNull                             map[string]int
}

func countTable(t *testing.T, cfg lake.Config, name, key string, nonNullCols ...string) counted {
	t.Helper()
	ctx := context.Background()
	cat, closeFn, err := lake.OpenCatalog(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	tbl, err := cat.LoadTable(ctx, lake.Ident(name))
	if err != nil {
		t.Fatal(err)
	}
	c := counted{nonNull: map[string]int{}}
	if tbl.CurrentSnapshot() == nil {
		return c
	}
	cols := append([]string{key, lake.ColKafkaPartition, lake.ColKafkaOffset}, nonNullCols...)
	_, recs, err := tbl.Scan(table.WithSelectedFields(cols...)).ToArrowRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	offs := map[[2]int64]bool{}
	for rec, err := range recs {
		if err != nil {
			t.Fatal(err)
		}
		sc := rec.Schema()
		k := rec.Column(sc.FieldIndices(key)[0]).(*array.String)
		p := rec.Column(sc.FieldIndices(lake.ColKafkaPartition)[0]).(*array.Int32)
		o := rec.Column(sc.FieldIndices(lake.ColKafkaOffset)[0]).(*array.Int64)
		for i := 0; i < int(rec.NumRows()); i++ {
			keys[k.Value(i)] = true
			offs[[2]int64{int64(p.Value(i)), o.Value(i)}] = true
		}
		for _, col := range nonNullCols {
			if idx := sc.FieldIndices(col); len(idx) > 0 {
				a := rec.Column(idx[0])
				c.nonNull[col] += a.Len() - a.NullN()
			}
		}
		c.rows += int(rec.NumRows())
		rec.Release()
	}
	c.distinctKeys, c.distinctOffsets = len(keys), len(offs)
	return c
}

// rowCount is the cheap count (manifest record counts) for polling.
func rowCount(t *testing.T, cfg lake.Config, name string) int64 {
	t.Helper()
	ctx := context.Background()
	cat, closeFn, err := lake.OpenCatalog(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	return countRows(t, cat, name)
}

// waitFor polls cond every 200ms until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testsupport.Eventually(t, timeout, 200*time.Millisecond, what, cond)
}

// runService starts the ingest in-process; the returned stop waits for it.
func runService(t *testing.T, cfg Config) (httpAddr string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	cfg.OnReady = func(addr string) { ready <- addr }
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ingest: %v", err)
		}
	}
	t.Cleanup(stop)
	select {
	case httpAddr = <-ready:
	case err := <-done:
		t.Fatalf("ingest did not start: %v", err)
	case <-time.After(90 * time.Second):
		t.Fatal("ingest not ready after 90s")
	}
	return httpAddr, stop
}

func testConfig(t *testing.T, tt testTopics, dataDir string) Config {
	cfg := DefaultConfig()
	cfg.Lake = lake.Config{DataDir: dataDir, CatalogURI: testsupport.CatalogURI(t)}
	cfg.Brokers = tt.brokers
	cfg.TransactionsTopic, cfg.AlertsTopic = tt.transactions, tt.alerts
	cfg.Group = "finlake-ingest-" + tt.transactions
	cfg.CommitInterval = 500 * time.Millisecond
	cfg.CommitRecords = 2000
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.RunsInterval = time.Second
	cfg.MaintainInterval = 0
	return cfg
}

func getJSON(t *testing.T, url string) map[string]any {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", url, err)
	}
	return m
}

func getText(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// keepNewest is a retention policy that keeps only main's newest n
// snapshots (and the resume point): no window, no interval tags.
func keepNewest(n int) lake.RetentionPolicy {
	return lake.RetentionPolicy{KeepAll: 0, KeepEvery: time.Hour, Retain: 0, MinKeep: n}
}
