package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/iceberg-go/catalog"

	"github.com/finlake/finlake/lake"
)

// writeReplay writes a replay --out directory with n enriched transactions
// and one alert on the first of them.
func writeReplay(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	var tx []string
	for i := 0; i < n; i++ {
		tx = append(tx, string(txJSON(i)))
	}
	alert := `{"alert_id":"a1","transaction_id":"tx-000000","account_id":"AC0000000","rule_name":"quiet_hours","rule_type":"time_of_day",` +
		`"rule_version":1,"severity":"low","alert_timestamp":"2026-11-26T09:00:00Z","description":"at 01:02 UTC",` +
		`"transaction":{"transaction_id":"tx-000000","timestamp":"2026-11-26T01:02:03.456Z","account_id":"AC0000000","amount":0.40,` +
		`"currency":"EUR","merchant_name":"Bistro","merchant_category":"dining","transaction_type":"purchase","location_country":"FR","status":"pending"}}`
	os.WriteFile(filepath.Join(dir, "transactions-processed.jsonl"), []byte(strings.Join(tx, "\n")+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "alerts.jsonl"), []byte(alert+"\n"), 0o644)
	return dir
}

func snapshotCount(t *testing.T, cat catalog.Catalog, name string) int {
	t.Helper()
	tbl, err := cat.LoadTable(context.Background(), lake.Ident(name))
	if err != nil {
		t.Fatal(err)
	}
	return len(tbl.Metadata().Snapshots())
}

func TestLoadReplayLandsEveryLineInRoundsOfCommitsWithAPipelineRunPerRound(t *testing.T) {
	cat, cfg := localLake(t)
	dir := writeReplay(t, 7)

	written, err := LoadReplay(context.Background(), ReplayOptions{Lake: cfg, Dir: dir, Commits: 3, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}

	got := [][2]int64{
		{countRows(t, cat, lake.TableTransactions), int64(snapshotCount(t, cat, lake.TableTransactions))},
		{countRows(t, cat, lake.TableAlerts), int64(snapshotCount(t, cat, lake.TableAlerts))},
		{countRows(t, cat, lake.TablePipelineRuns), written[lake.TablePipelineRuns]},
	}
	want := [][2]int64{{7, 3}, {1, 1}, {3, 3}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("(rows, snapshots or reported runs) of transactions, alerts, pipeline_runs: got %v, want %v", got, want)
		}
	}
}

func TestLoadReplayTakesKafkaTimestampFromTheRawRecordsGenerationTime(t *testing.T) {
	cat, cfg := localLake(t)
	if _, err := LoadReplay(context.Background(), ReplayOptions{Lake: cfg, Dir: writeReplay(t, 2), Commits: 1}); err != nil {
		t.Fatal(err)
	}

	tbl, err := cat.LoadTable(context.Background(), lake.Ident(lake.TableAlerts))
	if err != nil {
		t.Fatal(err)
	}
	at, err := tbl.Scan().ToArrowTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	col := at.Column(at.Schema().FieldIndices(lake.ColKafkaTimestamp)[0]).Data().Chunk(0)
	if got := col.ValueStr(0); got != "2026-11-26T01:02:03.456Z" {
		t.Fatalf("alert kafka_timestamp: got %s, want the transaction's own timestamp 2026-11-26T01:02:03.456Z", got)
	}
}
