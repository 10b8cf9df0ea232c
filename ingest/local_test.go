package ingest

// Tests over a local SQLite catalog and warehouse, without Kafka: decoding,
// the commit protocol, and maintenance keeping the offsets.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/internal/testsupport"
	"github.com/finlake/finlake/lake"
)

func localLake(t testing.TB) (catalog.Catalog, lake.Config) {
	t.Helper()
	cfg := lake.Config{DataDir: t.TempDir(), CatalogURI: testsupport.CatalogURI(t)}
	cat, closeFn, err := lake.OpenCatalog(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeFn() })
	if err := lake.EnsureTables(context.Background(), cat); err != nil {
		t.Fatal(err)
	}
	return cat, cfg
}

func testWriter(t testing.TB, cat catalog.Catalog, tableName, topic string) *tableWriter {
	t.Helper()
	g, err := NewDiskGuard(t.TempDir(), 99.98, 99.99)
	if err != nil {
		t.Fatal(err)
	}
	return &tableWriter{
		cfg: WriterConfig{Table: tableName, Topic: topic, CommitInterval: time.Second, CommitRecords: 1000,
			ChunkRows: 7, CommitRetries: 3},
		cat: cat, guard: g, m: newMetrics(prometheus.NewRegistry()), win: newWindow(time.Now()),
		session: "test", log: slog.Default(), mem: memory.DefaultAllocator,
	}
}

func txJSON(i int) []byte {
	return fmt.Appendf(nil, `{"transaction_id":"tx-%06d","timestamp":"2026-11-26T01:02:03.456Z","account_id":"AC%07d",`+
		`"amount":%d.40,"currency":"EUR","merchant_name":"Bistro","merchant_category":"dining",`+
		`"transaction_type":"purchase","location_country":"FR","status":"pending","amount_usd":135.43,`+
		`"processing_timestamp":"2026-11-26T01:02:04Z","partition_date":"2026-11-26","is_flagged":false,"surprise":1}`, i, i%50, i)
}

// commitRecords runs n records from partition 0 starting at offset from
// through one batch and commit, as the writer's loop would.
func commitRecords(t testing.TB, w *tableWriter, from, n int, base lake.Offsets) lake.Offsets {
	t.Helper()
	next, _ := commitRecordsTimed(t, w, from, n, base)
	return next
}

// writeRecords builds a batch on tbl of n transactions at partition 0
// offsets [from, from+n) and writes its data files, ready for w.commit.
func writeRecords(t testing.TB, w *tableWriter, tbl *table.Table, from, n int) (*batch, []iceberg.DataFile) {
	t.Helper()
	b, err := w.newBatch(context.Background(), tbl)
	if err != nil {
		t.Fatal(err)
	}
	for i := from; i < from+n; i++ {
		if err := b.add(&kgo.Record{Partition: 0, Offset: int64(i), Timestamp: time.Now(), Value: txJSON(i)}); err != nil {
			t.Fatal(err)
		}
	}
	files, err := b.finish()
	if err != nil {
		t.Fatal(err)
	}
	return b, files
}

// commitRecordsTimed is commitRecords that also says how long the commit
// itself took (reload, offsets check, manifests, metadata.json, catalog),
// what ingest's commit latency is, without writing the data file.
func commitRecordsTimed(t testing.TB, w *tableWriter, from, n int, base lake.Offsets) (lake.Offsets, time.Duration) {
	t.Helper()
	ctx := context.Background()
	tbl, err := w.cat.LoadTable(ctx, w.ident())
	if err != nil {
		t.Fatal(err)
	}
	b, files := writeRecords(t, w, tbl, from, n)
	next := base.Clone()
	next[0] = int64(from + n)
	start := time.Now()
	if _, err := w.commit(ctx, b, files, base, next); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	b.release()
	return next, took
}

func countRows(t *testing.T, cat catalog.Catalog, name string) int64 {
	t.Helper()
	tbl, err := cat.LoadTable(context.Background(), lake.Ident(name))
	if err != nil {
		t.Fatal(err)
	}
	if tbl.CurrentSnapshot() == nil {
		return 0
	}
	tasks, err := tbl.Scan().PlanFiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, task := range tasks {
		n += task.File.Count()
	}
	return n
}

func TestDecodeMapsFieldsCountsUnknownAndNullsMissing(t *testing.T) {
	sc := lake.AlertsSchema()
	rb, err := newRowBuilder(sc, memory.DefaultAllocator, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.release()
	alert := `{"alert_id":"a1","transaction_id":"t1","account_id":"AC1","rule_name":"high_value","rule_type":"threshold",
	  "rule_version":3,"severity":"high","alert_timestamp":"2026-11-26T01:02:05+01:00","description":"amount 12000.10 USD > 10000",
	  "params":{"amount_usd":10000},
	  "transaction":{"transaction_id":"t1","account_id":"AC1","timestamp":"2026-11-26T00:02:03.456Z","amount":12000.100,
	    "currency":"USD","merchant_name":"Big Shop","location_country":"US","status":"pending"}}`
	unknown, err := rb.add([]byte(alert), KafkaMeta{Partition: 2, Offset: 9, Timestamp: time.UnixMilli(1000)})
	if err != nil {
		t.Fatal(err)
	}
	rec := rb.flush()
	defer rec.Release()
	// params (an object with no column of its own: amount_usd unknown) and transaction.status.
	if unknown != 2 {
		t.Errorf("unknown fields: want 2, got %d", unknown)
	}
	col := func(name string) int { return rec.Schema().FieldIndices(name)[0] }
	if got := rec.Column(col("amount")).ValueStr(0); got != "12000.1" {
		t.Errorf("amount: want 12000.1 (trailing zeros are no rounding), got %s", got)
	}
	if got := rec.Column(col("alert_timestamp")).ValueStr(0); got != "2026-11-26T00:02:05Z" {
		t.Errorf("alert_timestamp: want UTC 00:02:05, got %s", got)
	}
	if got := rec.Column(col("transaction_timestamp")).ValueStr(0); got != "2026-11-26T00:02:03.456Z" {
		t.Errorf("transaction_timestamp from transaction.timestamp: got %s", got)
	}
	if got := rec.Column(col("kafka_offset")).ValueStr(0); got != "9" {
		t.Errorf("kafka_offset: got %s", got)
	}
	if _, err := rb.add([]byte(`{"alert_id":"a2"}`), KafkaMeta{}); err != nil {
		t.Fatal(err)
	}
	rec2 := rb.flush()
	defer rec2.Release()
	if !rec2.Column(col("severity")).IsNull(0) {
		t.Error("a column the record lacks must be NULL")
	}
	if _, err := rb.add([]byte(`[1,2]`), KafkaMeta{}); err == nil {
		t.Error("a JSON array must be rejected as invalid")
	}
}

func TestParseDecimalIsExactAndNeverRounds(t *testing.T) {
	cases := map[string]int64{"125.40": 12540, "125.4": 12540, "-0.01": -1, "1e2": 10000, "10.500": 1050, "-0.010": -1,
		"1E+3": 100000, "9999999999999999.99": 999999999999999999, "12": 1200, "0.1": 10, "1000.0": 100000}
	for in, want := range cases {
		got, err := parseDecimal([]byte(in), 18, 2)
		if err != nil || got != decimal128.FromI64(want) {
			t.Errorf("%s: want %d, got %v (%v)", in, want, got, err)
		}
	}
	for _, bad := range []string{"10000000000000000.00", "abc", "", "1.2.3", "0.005", "-0.005", "10.005", "1e-3",
		"12345678901234567", "1e999999999", "1.2345678901234568e+16"} {
		if _, err := parseDecimal([]byte(bad), 18, 2); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// An amount ingest cannot store exactly is never rounded or NULLed: the record
// takes the bad-record path (an error, counted invalid), and every row that
// lands carries its amount digit for digit.
func TestInexactAmountsAreRejectedNotRoundedAndNoLandedRowHasANullAmount(t *testing.T) {
	cat, _ := localLake(t)
	w := testWriter(t, cat, lake.TableTransactions, contract.TransactionsProcessed)
	ctx := context.Background()
	tbl, err := cat.LoadTable(ctx, w.ident())
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.newBatch(ctx, tbl)
	if err != nil {
		t.Fatal(err)
	}
	amounts := []struct {
		text   string
		stored string // as Arrow prints the decimal(18,2); "" = rejected
	}{
		{"12.34", "12.34"}, {"10.005", ""}, {"10.500", "10.5"}, {"12345678901234567", ""}, {`"ten"`, ""},
		{"9999999999999999.99", "9999999999999999.99"}, {"1.2345678901234568e+16", ""}, {"1E+3", "1000"},
	}
	want := map[string]string{}
	for i, a := range amounts {
		v := bytes.Replace(txJSON(i), []byte(fmt.Sprintf(`"amount":%d.40`, i)), []byte(`"amount":`+a.text), 1)
		v = bytes.Replace(v, []byte(`"amount_usd":135.43`), []byte(`"amount_usd":`+a.text), 1)
		err := b.add(&kgo.Record{Partition: 0, Offset: int64(i), Timestamp: time.Now(), Value: v})
		if a.stored == "" {
			if !errors.Is(err, ErrInexactDecimal) {
				t.Errorf("amount %s: want ErrInexactDecimal, got %v", a.text, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("amount %s: %v", a.text, err)
		}
		want[fmt.Sprintf("tx-%06d", i)] = a.stored + " " + a.stored
	}
	if b.pending.Invalid != 4 {
		t.Errorf("records counted invalid: want 4, got %d", b.pending.Invalid)
	}
	files, err := b.finish()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.commit(ctx, b, files, lake.Offsets{}, lake.Offsets{0: int64(len(amounts))}); err != nil {
		t.Fatal(err)
	}
	b.release()

	tbl, err = cat.LoadTable(ctx, w.ident())
	if err != nil {
		t.Fatal(err)
	}
	at, err := tbl.Scan(table.WithSelectedFields("transaction_id", "amount", "amount_usd")).ToArrowTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	got := map[string]string{}
	tr := array.NewTableReader(at, 0)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			if rec.Column(1).IsNull(i) || rec.Column(2).IsNull(i) {
				t.Errorf("row %s: NULL amount for a record that carried one", rec.Column(0).ValueStr(i))
			}
			got[rec.Column(0).ValueStr(i)] = rec.Column(1).ValueStr(i) + " " + rec.Column(2).ValueStr(i)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("landed amounts:\n got %v\nwant %v", got, want)
	}
}

func TestRetriedCommitOfAnAlreadyCommittedBatchWritesNothing(t *testing.T) {
	cat, _ := localLake(t)
	w := testWriter(t, cat, lake.TableTransactions, contract.TransactionsProcessed)
	ctx := context.Background()
	base := commitRecords(t, w, 0, 20, lake.Offsets{})

	tbl, _ := cat.LoadTable(ctx, w.ident())
	b, err := w.newBatch(ctx, tbl)
	if err != nil {
		t.Fatal(err)
	}
	for i := 20; i < 50; i++ {
		_ = b.add(&kgo.Record{Partition: 0, Offset: int64(i), Timestamp: time.Now(), Value: txJSON(i)})
	}
	files, err := b.finish()
	if err != nil {
		t.Fatal(err)
	}
	next := lake.Offsets{0: 50}
	if _, err := w.commit(ctx, b, files, base, next); err != nil {
		t.Fatal(err)
	}
	// The same batch again, as after a commit whose reply was lost.
	if _, err := w.commit(ctx, b, files, base, next); err != nil {
		t.Fatalf("second commit of the same batch: %v", err)
	}
	b.release()
	if n := countRows(t, cat, lake.TableTransactions); n != 50 {
		t.Fatalf("want 50 rows, got %d", n)
	}
	// A batch that overlaps the table's offsets without being covered by
	// them (another writer) is refused.
	tbl, _ = cat.LoadTable(ctx, w.ident())
	b2, _ := w.newBatch(ctx, tbl)
	_ = b2.add(&kgo.Record{Partition: 0, Offset: 55, Timestamp: time.Now(), Value: txJSON(55)})
	files2, _ := b2.finish()
	if _, err := w.commit(ctx, b2, files2, lake.Offsets{0: 20}, lake.Offsets{0: 60}); err == nil {
		t.Fatal("a stale batch must not commit")
	}
	b2.abort()
	if n := countRows(t, cat, lake.TableTransactions); n != 50 {
		t.Fatalf("after the refused batch: want 50 rows, got %d", n)
	}
}

func TestCompactionSnapshotCarriesOffsetsAndKeepsRows(t *testing.T) {
	cat, _ := localLake(t)
	w := testWriter(t, cat, lake.TableTransactions, contract.TransactionsProcessed)
	off := lake.Offsets{}
	for i := 0; i < 4; i++ {
		off = commitRecords(t, w, i*25, 25, off)
	}
	opts := DefaultMaintainOptions()
	opts.SkipExpire, opts.SkipOrphans = true, true
	rep, err := Maintain(context.Background(), cat, lake.TableTransactions, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.FilesRewritten < 4 {
		t.Fatalf("want the 4 small files compacted, report %+v", rep)
	}
	tbl, _ := cat.LoadTable(context.Background(), w.ident())
	cur := tbl.CurrentSnapshot()
	if cur.Summary.Operation != table.OpReplace {
		t.Fatalf("current snapshot should be the compaction (replace), got %s", cur.Summary.Operation)
	}
	got, err := lake.DecodeOffsets(cur.Summary.Properties[lake.OffsetsProperty(contract.TransactionsProcessed)])
	if err != nil || !got.Equal(lake.Offsets{0: 100}) {
		t.Fatalf("compaction snapshot offsets: want {0:100}, got %v (%v)", got, err)
	}
	if n := countRows(t, cat, lake.TableTransactions); n != 100 {
		t.Fatalf("want 100 rows after compaction, got %d", n)
	}
}

func TestExpiryNeverExpiresTheNewestOffsetSnapshot(t *testing.T) {
	cat, _ := localLake(t)
	ctx := context.Background()
	w := testWriter(t, cat, lake.TableTransactions, contract.TransactionsProcessed)
	off := commitRecords(t, w, 0, 10, lake.Offsets{})
	off = commitRecords(t, w, 10, 10, off)
	// Snapshots without offsets on top (another tool appending), so that a
	// retain-last of 1 alone would expire the offset carrier.
	for i := 0; i < 3; i++ {
		tbl, _ := cat.LoadTable(ctx, w.ident())
		b, _ := w.newBatch(ctx, tbl)
		_ = b.add(&kgo.Record{Partition: 9, Offset: int64(i), Timestamp: time.Now(), Value: txJSON(1000 + i)})
		files, err := b.finish()
		if err != nil {
			t.Fatal(err)
		}
		txn := tbl.NewTransaction()
		if err := txn.AddDataFiles(ctx, files, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := txn.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		b.release()
	}
	opts := DefaultMaintainOptions()
	opts.SkipCompact, opts.SkipOrphans = true, true
	opts.Retention = keepNewest(1)
	rep, err := Maintain(ctx, cat, lake.TableTransactions, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.SnapshotsExpired != 1 {
		t.Fatalf("want exactly the oldest snapshot expired, report %+v", rep)
	}
	tbl, _ := cat.LoadTable(ctx, w.ident())
	got, snap, err := lake.LatestOffsets(tbl, contract.TransactionsProcessed)
	if err != nil || snap == nil || !got.Equal(off) {
		t.Fatalf("after expiry: want offsets %v, got %v (snapshot %v, %v)", off, got, snap, err)
	}
}

// The writer commits on the table its batch was built on, without loading it
// again; when something else committed since (here maintenance behind its
// back, as `lakectl maintain` from another process would), the catalog
// refuses the pinned commit and the retry reloads: every row lands exactly
// once and the offsets end where the records do.
func TestCommitOnAStaleHeldTableRetriesAndLandsEveryRowOnce(t *testing.T) {
	cat, cfg := localLake(t)
	w := testWriter(t, cat, lake.TableTransactions, contract.TransactionsProcessed)
	ctx := context.Background()
	tbl, err := cat.LoadTable(ctx, w.ident())
	if err != nil {
		t.Fatal(err)
	}
	off := lake.Offsets{}
	const batches, rows = 12, 3
	retried := 0
	opts := DefaultMaintainOptions()
	opts.SkipOrphans = true
	for i := 0; i < batches; i++ {
		if i == 4 || i == 8 { // a snapshot the writer's held table does not know
			if _, err := Maintain(ctx, cat, lake.TableTransactions, opts); err != nil {
				t.Fatal(err)
			}
		}
		b, files := writeRecords(t, w, tbl, i*rows, rows)
		next := lake.Offsets{0: int64((i + 1) * rows)}
		if tbl, err = w.commit(ctx, b, files, off, next); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		b.release()
		off = next
		retried += w.status().LastCommit.Retries
	}
	if retried < 2 {
		t.Fatalf("want the two commits after maintenance retried on a reloaded table, retries=%d", retried)
	}
	c := countTable(t, cfg, lake.TableTransactions, "transaction_id")
	if c.rows != batches*rows || c.distinctOffsets != batches*rows || c.distinctKeys != batches*rows {
		t.Fatalf("want %d rows, each once: %+v", batches*rows, c)
	}
	cur, err := cat.LoadTable(ctx, w.ident())
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := lake.LatestOffsets(cur, contract.TransactionsProcessed)
	if err != nil || !got.Equal(lake.Offsets{0: batches * rows}) {
		t.Fatalf("offsets: want {0:%d}, got %v (%v)", batches*rows, got, err)
	}
}
