package ingest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/lake"
)

func TestIngestLandsEveryCommittedRecordExactlyOnce(t *testing.T) {
	tt := newTopics(t)
	ctx := context.Background()
	p := newProducer(t, tt)
	for i := 0; i < 6; i++ {
		p.send(ctx, 500, true)
		if i%2 == 0 {
			p.send(ctx, 100, false) // aborted: read_committed must never land these
		}
	}
	cfg := testConfig(t, tt, t.TempDir())
	httpAddr, stop := runService(t, cfg)
	wantTx, wantAl := int(p.txSent.Load()), int(p.alSent.Load())
	waitFor(t, 90*time.Second, "all rows", func() bool {
		return rowCount(t, cfg.Lake, lake.TableTransactions) >= int64(wantTx) &&
			rowCount(t, cfg.Lake, lake.TableAlerts) >= int64(wantAl)
	})
	st := getJSON(t, "http://"+httpAddr+"/status")
	_, metrics := getText(t, "http://"+httpAddr+"/metrics")
	time.Sleep(2 * cfg.RunsInterval) // let a pipeline_runs row land
	stop()

	tx := countTable(t, cfg.Lake, lake.TableTransactions, "transaction_id", "amount", "timestamp")
	al := countTable(t, cfg.Lake, lake.TableAlerts, "alert_id", "transaction_timestamp", "amount")
	if tx.rows != wantTx || tx.distinctKeys != wantTx || tx.distinctOffsets != wantTx {
		t.Errorf("transactions: want %d rows, keys and offsets, got %+v", wantTx, tx)
	}
	if al.rows != wantAl || al.distinctKeys != wantAl || al.distinctOffsets != wantAl {
		t.Errorf("alerts: want %d rows, keys and offsets, got %+v", wantAl, al)
	}
	if tx.nonNull["amount"] != wantTx || al.nonNull["transaction_timestamp"] != wantAl || al.nonNull["amount"] != wantAl {
		t.Errorf("decoded columns must be filled: tx %v alerts %v", tx.nonNull, al.nonNull)
	}
	if runs := rowCount(t, cfg.Lake, lake.TablePipelineRuns); runs < 1 {
		t.Error("want at least one lake.pipeline_runs row")
	}
	tables, _ := st["tables"].(map[string]any)
	txSt, _ := tables[lake.TableTransactions].(map[string]any)
	if txSt["last_commit"] == nil || txSt["partitions"] == nil {
		t.Errorf("/status lacks last_commit or partitions: %v", txSt)
	}
	if !strings.Contains(metrics, `finlake_ingest_rows_committed_total{table="transactions"}`) {
		t.Error("/metrics lacks finlake_ingest_rows_committed_total")
	}
}

func TestPipelineRunsRecordCountsAndLatency(t *testing.T) {
	tt := newTopics(t)
	ctx := context.Background()
	p := newProducer(t, tt)
	cfg := testConfig(t, tt, t.TempDir())
	_, stop := runService(t, cfg)
	p.send(ctx, 300, true)
	waitFor(t, 60*time.Second, "rows", func() bool {
		return rowCount(t, cfg.Lake, lake.TableTransactions) >= 300
	})
	time.Sleep(2 * cfg.RunsInterval)
	stop()

	cat, closeFn, err := lake.OpenCatalog(ctx, cfg.Lake)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	tbl, err := cat.LoadTable(ctx, lake.Ident(lake.TablePipelineRuns))
	if err != nil {
		t.Fatal(err)
	}
	arrTbl, err := tbl.Scan(table.WithSelectedFields("transactions_written", "transactions_consumed",
		"storage_latency_p95_ms", "commits")).ToArrowTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer arrTbl.Release()
	var written, consumed int64
	var sawLatency bool
	rdr := newTableReader(arrTbl)
	for rdr.Next() {
		rec := rdr.RecordBatch()
		w := rec.Column(0)
		c := rec.Column(1)
		l := rec.Column(2)
		for i := 0; i < int(rec.NumRows()); i++ {
			written += int64Value(w, i)
			consumed += int64Value(c, i)
			if !l.IsNull(i) {
				sawLatency = true
			}
		}
	}
	if written != 300 || consumed != 300 {
		t.Errorf("pipeline_runs: want 300 consumed and written over all rows, got %d and %d", consumed, written)
	}
	if !sawLatency {
		t.Error("pipeline_runs: no row carries a storage latency p95")
	}
}

func TestSchemaChangeWhileIngestingLosesNothing(t *testing.T) {
	tt := newTopics(t)
	ctx := context.Background()
	p := newProducer(t, tt)
	p.extra = `,"risk_score":0.75`
	cfg := testConfig(t, tt, t.TempDir())
	cfg.CommitInterval = 200 * time.Millisecond
	_, stop := runService(t, cfg)

	produceDone := make(chan struct{})
	go func() {
		defer close(produceDone)
		for i := 0; i < 30; i++ {
			p.send(ctx, 100, true)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	waitFor(t, 60*time.Second, "first rows", func() bool {
		return rowCount(t, cfg.Lake, lake.TableTransactions) > 500
	})
	// The schema change commits while ingest is committing every 200ms.
	cat, closeFn, err := lake.OpenCatalog(ctx, cfg.Lake)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	var evolved bool
	for attempt := 0; attempt < 20 && !evolved; attempt++ {
		tbl, err := cat.LoadTable(ctx, lake.Ident(lake.TableTransactions))
		if err != nil {
			t.Fatal(err)
		}
		txn := tbl.NewTransaction()
		if err := txn.UpdateSchema(true, false).AddColumn([]string{"risk_score"}, iceberg.PrimitiveTypes.Float64,
			"model risk score", false, nil).Commit(); err != nil {
			t.Fatal(err)
		}
		_, err = txn.Commit(ctx)
		evolved = err == nil
	}
	if !evolved {
		t.Fatal("could not commit the schema change")
	}
	<-produceDone
	want := int(p.txSent.Load())
	waitFor(t, 60*time.Second, "all rows", func() bool {
		return rowCount(t, cfg.Lake, lake.TableTransactions) >= int64(want)
	})
	time.Sleep(time.Second)
	stop()
	c := countTable(t, cfg.Lake, lake.TableTransactions, "transaction_id", "risk_score")
	if c.rows != want || c.distinctKeys != want {
		t.Fatalf("want %d rows and keys, got %+v", want, c)
	}
	if n := c.nonNull["risk_score"]; n == 0 || n >= want {
		t.Fatalf("risk_score: want it filled after the change and NULL before, got %d non-null of %d", n, want)
	}
}

func newTableReader(tbl arrow.Table) *array.TableReader { return array.NewTableReader(tbl, 0) }

func int64Value(a arrow.Array, i int) int64 {
	if a.IsNull(i) {
		return 0
	}
	return a.(*array.Int64).Value(i)
}

func TestScheduledMaintenanceInTheServiceKeepsCountsExact(t *testing.T) {
	tt := newTopics(t)
	ctx := context.Background()
	p := newProducer(t, tt)
	cfg := testConfig(t, tt, t.TempDir())
	cfg.CommitInterval = 100 * time.Millisecond
	cfg.MaintainInterval = time.Second
	cfg.Maintain.Retention = keepNewest(2)
	httpAddr, stop := runService(t, cfg)
	for i := 0; i < 10; i++ {
		p.send(ctx, 100, true)
		time.Sleep(150 * time.Millisecond)
	}
	want := int(p.txSent.Load())
	waitFor(t, 60*time.Second, "all rows", func() bool {
		return rowCount(t, cfg.Lake, lake.TableTransactions) >= int64(want)
	})
	waitFor(t, 30*time.Second, "a scheduled maintenance run", func() bool {
		_, m := getText(t, "http://"+httpAddr+"/metrics")
		return strings.Contains(m, `finlake_ingest_maintenance_runs_total{outcome="ok",table="transactions"}`)
	})
	p.send(ctx, 100, true) // ingest goes on after maintenance
	want += 100
	waitFor(t, 60*time.Second, "rows after maintenance", func() bool {
		return rowCount(t, cfg.Lake, lake.TableTransactions) >= int64(want)
	})
	time.Sleep(300 * time.Millisecond)
	_, m := getText(t, "http://"+httpAddr+"/metrics")
	stop()
	var commits float64
	for _, line := range strings.Split(m, "\n") {
		if v, ok := strings.CutPrefix(line, `finlake_ingest_commits_total{table="transactions"} `); ok {
			commits, _ = strconv.ParseFloat(v, 64)
		}
	}

	cat, closeFn, err := lake.OpenCatalog(ctx, cfg.Lake)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	tbl, err := cat.LoadTable(ctx, lake.Ident(lake.TableTransactions))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tbl.Metadata().Snapshots()); float64(n) >= commits {
		t.Errorf("scheduled expiry should leave fewer snapshots (%d) than ingest commits (%v)", n, commits)
	}
	c := countTable(t, cfg.Lake, lake.TableTransactions, "transaction_id")
	if c.rows != want || c.distinctKeys != want || c.distinctOffsets != want {
		t.Fatalf("want %d rows/keys/offsets, got %+v", want, c)
	}
}

func TestGracefulStopCommitsTheBatchInHand(t *testing.T) {
	tt := newTopics(t)
	ctx := context.Background()
	p := newProducer(t, tt)
	cfg := testConfig(t, tt, t.TempDir())
	cfg.CommitInterval = time.Hour // only the stop can commit
	httpAddr, stop := runService(t, cfg)
	p.send(ctx, 250, true)
	waitFor(t, 30*time.Second, "250 records consumed", func() bool {
		_, m := getText(t, "http://"+httpAddr+"/metrics")
		return strings.Contains(m, `finlake_ingest_records_consumed_total{table="transactions"} 250`)
	})
	if n := rowCount(t, cfg.Lake, lake.TableTransactions); n != 0 {
		t.Fatalf("nothing should be committed before the interval, got %d rows", n)
	}
	stop()
	c := countTable(t, cfg.Lake, lake.TableTransactions, "transaction_id")
	if c.rows != 250 || c.distinctKeys != 250 {
		t.Fatalf("after a graceful stop: want the 250 consumed rows committed, got %+v", c)
	}
}

func TestPartitionsAddedToATopicAreConsumed(t *testing.T) {
	tt := newTopics(t)
	ctx := context.Background()
	p := newProducer(t, tt)
	cfg := testConfig(t, tt, t.TempDir())
	cfg.PartitionCheck = 500 * time.Millisecond
	_, stop := runService(t, cfg)
	p.send(ctx, 200, true)
	waitFor(t, 30*time.Second, "first rows", func() bool {
		return rowCount(t, cfg.Lake, lake.TableTransactions) >= 200
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(tt.brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	res, err := kadm.NewClient(cl).UpdatePartitions(ctx, 5, tt.transactions)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatalf("grow %s to 5 partitions: %v", tt.transactions, err)
	}
	waitFor(t, 30*time.Second, "5 partitions in the metadata", func() bool {
		d, err := kadm.NewClient(cl).ListTopics(ctx, tt.transactions)
		return err == nil && len(d[tt.transactions].Partitions) == 5
	})
	p2 := newProducer(t, tt) // fresh metadata: keys now hash over 5 partitions
	p2.send(ctx, 600, true)
	want := int(p.txSent.Load() + p2.txSent.Load())
	waitFor(t, 60*time.Second, "rows from the new partitions", func() bool {
		return rowCount(t, cfg.Lake, lake.TableTransactions) >= int64(want)
	})
	stop()
	c := countTable(t, cfg.Lake, lake.TableTransactions, "transaction_id")
	if c.rows != want || c.distinctKeys != want {
		t.Fatalf("want %d rows and keys, got %+v", want, c)
	}
	cat, closeFn, err := lake.OpenCatalog(ctx, cfg.Lake)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	tbl, _ := cat.LoadTable(ctx, lake.Ident(lake.TableTransactions))
	o, _, _ := lake.LatestOffsets(tbl, tt.transactions)
	if len(o) != 5 {
		t.Fatalf("want offsets for 5 partitions, got %s", o.Encode())
	}
}
