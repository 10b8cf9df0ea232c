//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-adbc/go/adbc"
	"github.com/apache/arrow-adbc/go/adbc/driver/flightsql"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/lake"
	"github.com/finlake/finlake/stack"
)

// run carries what the phases of one pipeline share.
type run struct {
	p        *pipeline
	work     string
	rawFile  string         // the generator's input as a file, for the replay mode
	labels   string         // the generator's ground truth
	badValue map[string]int // malformed raw values (a multiset): never in the lake
}

// TestPipelineEndToEnd brings up one stack and runs, in order: 20,000
// transactions at full speed checked against the replay mode and the
// generator's labels; a rules hot reload; SIGKILL of each component while
// transactions flow. Sharing the stack keeps the whole within ~10 minutes.
func TestPipelineEndToEnd(t *testing.T) {
	r := &run{p: startPipeline(t), work: t.TempDir()}
	if !t.Run("full speed batch lands exactly once and matches replay", r.fullSpeed) {
		t.Log("later phases still run: they check their own invariants")
	}
	t.Run("rules hot reload changes alerts without restart", r.hotReload)
	t.Run("SIGKILL of each component loses and duplicates nothing", r.faults)
}

// event is the part of a transaction event the checks need.
type event struct {
	TransactionID string `json:"transaction_id"`
	Status        string `json:"status"`
}

type label struct {
	Label         string `json:"label"`
	Scenario      string `json:"scenario"`
	ExpectedRule  string `json:"expected_rule"`
	Kind          string `json:"kind"`
	TransactionID string `json:"transaction_id"`
	Seq           int64  `json:"seq"`
}

func (r *run) fullSpeed(t *testing.T) {
	p := r.p
	const count = 20000
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour).Format(time.RFC3339)
	// Two hours of simulated time from yesterday 00:00 UTC crosses into the
	// quiet hours; 1% fraud scenarios and 1% malformed records.
	genArgs := []string{"generate", "--seed", "20261126", "--start", start, "--backfill", "2h", "--rate", "3",
		"--count", fmt.Sprint(count), "--fraud-rate", "0.01", "--malformed-rate", "0.01", "--progress=false"}
	r.rawFile = filepath.Join(r.work, "raw.jsonl")
	r.labels = filepath.Join(r.work, "labels.jsonl")
	ctx := context.Background()
	if out, err := p.lakectl(ctx, append(genArgs, "--output", r.rawFile, "--labels", r.labels)...).CombinedOutput(); err != nil {
		t.Fatalf("generate to file: %v\n%s", err, out)
	}
	lines := readLines(t, r.rawFile)
	if len(lines) != count {
		t.Fatalf("generator wrote %d records, want %d", len(lines), count)
	}

	alerts := follow(t, p.brokers(), contract.Alerts)
	genStart := time.Now()
	if out, err := p.lakectl(ctx, append(genArgs, "--http", "off", "--labels", filepath.Join(r.work, "labels-kafka.jsonl"))...).CombinedOutput(); err != nil {
		t.Fatalf("generate to Kafka: %v\n%s", err, out)
	}
	genTook := time.Since(genStart)
	t.Logf("generator: %d records in %s = %.0f records/s (process start included)", count, genTook.Round(time.Millisecond), count/genTook.Seconds())

	// Ground truth: the labels name malformed records by their position.
	malformed := map[int64]bool{}
	var scenarios []label
	for _, l := range readLines(t, r.labels) {
		var lb label
		mustJSON(t, l, &lb)
		switch lb.Label {
		case "malformed":
			malformed[lb.Seq] = true
		case "scenario":
			scenarios = append(scenarios, lb)
		}
	}
	r.badValue = map[string]int{}
	want := map[string]bool{}
	for i, line := range lines {
		if malformed[int64(i)] {
			r.badValue[string(line)]++
			continue
		}
		var ev event
		mustJSON(t, line, &ev)
		want[ev.TransactionID+"/"+ev.Status] = true
	}
	if len(malformed) == 0 || len(scenarios) == 0 {
		t.Fatalf("the input has %d malformed records and %d scenarios; the test needs both", len(malformed), len(scenarios))
	}

	// The Kafka run must be the same stream as the file (same seed and clock).
	gen := map[string]int64{}
	rawCount := 0
	rawValues := map[string]int{}
	drain(t, p.brokers(), contract.RawTransactions, 3*time.Second, func(rec *kgo.Record) {
		rawCount++
		rawValues[string(rec.Value)]++
		var ev event
		if json.Unmarshal(rec.Value, &ev) == nil {
			if _, ok := gen[ev.TransactionID+"/"+ev.Status]; !ok {
				gen[ev.TransactionID+"/"+ev.Status] = rec.Timestamp.UnixMilli()
			}
		}
	})
	fileValues := map[string]int{}
	for _, l := range lines {
		fileValues[string(l)]++
	}
	if rawCount != count || !equalCounts(rawValues, fileValues) {
		t.Fatalf("raw-transactions holds %d records, differing from the file's %d: the generator is not deterministic for a seed", rawCount, count)
	}

	// Every valid event exactly once in lake.transactions.
	got := waitLake(t, p.lake(), "transactions", len(want), 4*time.Minute)
	checkExactlyOnce(t, got, want)

	// Dead letters: exactly the malformed records.
	dead := map[string]int{}
	drain(t, p.brokers(), contract.DeadLetter, 3*time.Second, func(rec *kgo.Record) {
		var dl contract.DeadLetterRecord
		mustJSON(t, rec.Value, &dl)
		switch {
		case dl.Raw != nil:
			dead[*dl.Raw]++
		case dl.RawBase64 != nil:
			b, _ := base64.StdEncoding.DecodeString(*dl.RawBase64)
			dead[string(b)]++
		}
		if len(dl.Errors) == 0 {
			t.Errorf("dead letter without errors: %s", rec.Value)
		}
	})
	if !equalCounts(dead, r.badValue) {
		t.Errorf("dead-letter holds %d records, the labels name %d malformed ones; %s", total(dead), total(r.badValue), diffCounts(dead, r.badValue))
	}

	// lake.alerts equals the replay mode on the same input.
	replayDir := filepath.Join(r.work, "replay")
	jar := filepath.Join(p.root, "flinkjob", "target", "finlake-flinkjob.jar")
	if j := os.Getenv("FINLAKE_FLINK_JAR"); j != "" {
		jar = j
	}
	rulesDir := filepath.Dir(p.rules)
	rc := exec.Command("java", "-jar", jar, "--replay", r.rawFile, "--rules", p.rules,
		"--fx", filepath.Join(rulesDir, "fx_rates.yaml"), "--out", replayDir)
	if out, err := rc.CombinedOutput(); err != nil {
		t.Fatalf("replay mode: %v\n%s", err, tail(out, 3000))
	}
	wantAlerts := map[string]int{}
	for _, l := range readLines(t, filepath.Join(replayDir, "alerts.jsonl")) {
		var a map[string]any
		mustJSON(t, l, &a)
		wantAlerts[alertKey(fmt.Sprint(a["alert_id"]), fmt.Sprint(a["transaction_id"]), fmt.Sprint(a["rule_name"]),
			fmt.Sprint(a["rule_version"]), fmt.Sprint(a["severity"]))]++
	}
	gotAlerts := waitAlerts(t, p.lake(), total(wantAlerts), 2*time.Minute)
	if !equalCounts(gotAlerts, wantAlerts) {
		t.Errorf("lake.alerts (%d) differs from the replay's alerts.jsonl (%d): %s", total(gotAlerts), total(wantAlerts), diffCounts(gotAlerts, wantAlerts))
	}

	// Every labelled scenario raised its rule's alert.
	byTxRule := map[string]bool{}
	for k := range gotAlerts {
		f := strings.Split(k, "|")
		byTxRule[f[1]+"|"+f[2]] = true
	}
	missed := 0
	for _, s := range scenarios {
		if !byTxRule[s.TransactionID+"|"+s.ExpectedRule] {
			missed++
			if missed <= 5 {
				t.Errorf("scenario %s on %s raised no %s alert", s.Scenario, s.TransactionID, s.ExpectedRule)
			}
		}
	}
	t.Logf("%d scenarios, %d missed; %d alerts; %d dead letters", len(scenarios), missed, total(gotAlerts), total(dead))

	// Latency, measured outside the pipeline: alert visibility to a
	// read_committed consumer, and the Iceberg commit holding each row.
	var alertMS []float64
	for _, s := range alerts.take() {
		alertMS = append(alertMS, float64(s.at.Sub(s.rec.Timestamp).Milliseconds()))
	}
	t.Logf("full speed, generation → alert (read_committed): %s", percentiles(alertMS))
	t.Logf("full speed, generation → storage (Iceberg commit): %s", percentiles(snapshotLatencies(t, loadTable(t, p.lake(), "transactions"), gen)))
}

func (r *run) hotReload(t *testing.T) {
	p := r.p
	processed := follow(t, p.brokers(), contract.TransactionsProcessed)
	alerts := follow(t, p.brokers(), contract.Alerts)
	flinkRestarts := p.status(stack.Flink).Restarts
	var n int
	probe := func(amount string) string {
		n++
		id := uuid.NewString()
		acct := fmt.Sprintf("ACRELOAD%04d", n)
		v := fmt.Sprintf(`{"transaction_id":%q,"timestamp":%q,"account_id":%q,"amount":%s,"currency":"USD","merchant_name":"Probe Store","merchant_category":"retail","transaction_type":"purchase","location_country":"US","status":"completed"}`,
			id, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), acct, amount)
		produce(t, p.brokers(), contract.RawTransactions, []byte(acct), []byte(v))
		return id
	}
	var seenProcessed = map[string]bool{}
	var highValue = map[string]int{} // transaction_id → rule_version of its high_value alert
	collect := func() {
		for _, s := range processed.take() {
			var ev event
			if json.Unmarshal(s.rec.Value, &ev) == nil {
				seenProcessed[ev.TransactionID] = true
			}
		}
		for _, s := range alerts.take() {
			if a, err := contract.DecodeAlert(s.rec.Value); err == nil && a.RuleName == "high_value" {
				highValue[a.TransactionID] = int(a.RuleVersion)
			}
		}
	}
	// processedThenAlert waits until the job has emitted id (its alerts are
	// in the same Kafka transaction) and says whether high_value fired.
	processedThenAlert := func(id string) (bool, int) {
		deadline := time.Now().Add(2 * time.Minute)
		for !seenProcessed[id] {
			if time.Now().After(deadline) {
				t.Fatalf("probe %s never reached transactions-processed", id)
			}
			time.Sleep(100 * time.Millisecond)
			collect()
		}
		time.Sleep(500 * time.Millisecond)
		collect()
		v, ok := highValue[id]
		return ok, v
	}

	if fired, _ := processedThenAlert(probe("5000.00")); fired {
		t.Fatal("5,000 USD raised high_value under the 10,000 USD threshold")
	}
	b, err := os.ReadFile(p.rules)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`amount_usd:\s*10000`)
	if !re.Match(b) {
		t.Fatalf("config/rules.yaml no longer has amount_usd: 10000; update this test")
	}
	tmp := p.rules + ".tmp"
	if err := os.WriteFile(tmp, re.ReplaceAll(b, []byte("amount_usd: 2000")), 0o644); err != nil {
		t.Fatal(err)
	}
	edited := time.Now()
	if err := os.Rename(tmp, p.rules); err != nil {
		t.Fatal(err)
	}
	// Probe until the new threshold is in force.
	var version int
	for {
		fired, v := processedThenAlert(probe("5000.00"))
		if fired {
			version = v
			break
		}
		if time.Since(edited) > 2*time.Minute {
			t.Fatal("2 minutes after lowering the threshold to 2,000 USD, 5,000 USD still raises no high_value alert")
		}
		time.Sleep(time.Second)
	}
	t.Logf("threshold change in force %s after the file was saved (rule_version %d)", time.Since(edited).Round(100*time.Millisecond), version)
	if fired, _ := processedThenAlert(probe("1500.00")); fired {
		t.Error("1,500 USD raised high_value under the new 2,000 USD threshold")
	}
	if fired, _ := processedThenAlert(probe("2500.00")); !fired {
		t.Error("2,500 USD raised no high_value under the new 2,000 USD threshold")
	}
	if got := p.status(stack.Flink).Restarts; got != flinkRestarts {
		t.Errorf("the Flink job restarted (%d → %d) during the rules reload", flinkRestarts, got)
	}
}

func (r *run) faults(t *testing.T) {
	p := r.p
	_, stopGen := p.startGenerator(t, filepath.Join(r.work, "generate-faults.log"),
		"--rate", "300", "--http", "off", "--malformed-rate", "0", "--fraud-rate", "0.002", "--progress=false")
	time.Sleep(15 * time.Second)
	for _, name := range []string{stack.Kafka, stack.Flink, stack.Ingest, stack.Serve} {
		took := p.killAndAwaitRecovery(name)
		t.Logf("SIGKILL %s: healthy again after %s", name, took.Round(100*time.Millisecond))
		if took > time.Minute {
			t.Errorf("%s took %s to recover, over a minute", name, took)
		}
		time.Sleep(15 * time.Second)
	}
	stopGen()

	// Every valid event ever produced (all phases) once in the lake.
	bad := map[string]int{}
	for k, v := range r.badValue {
		bad[k] = v
	}
	want := map[string]bool{}
	drain(t, p.brokers(), contract.RawTransactions, 5*time.Second, func(rec *kgo.Record) {
		if bad[string(rec.Value)] > 0 {
			bad[string(rec.Value)]--
			return
		}
		var ev event
		if err := json.Unmarshal(rec.Value, &ev); err != nil || ev.TransactionID == "" {
			t.Fatalf("unlabelled invalid record on raw-transactions: %s", tail(rec.Value, 200))
		}
		want[ev.TransactionID+"/"+ev.Status] = true
	})
	got := waitLake(t, p.lake(), "transactions", len(want), 5*time.Minute)
	checkExactlyOnce(t, got, want)

	// The restarted Flight server answers with what the lake holds.
	var rows int
	for _, c := range got {
		rows += c
	}
	if n := flightCount(t, fmt.Sprintf("grpc://127.0.0.1:%d", p.ports.Flight), "SELECT count(*) FROM lake.transactions"); n != int64(rows) {
		t.Errorf("Flight SQL counts %d rows in lake.transactions, iceberg-go %d", n, rows)
	}
}

// waitLake polls the table until it holds at least want rows (or the time
// is up) and returns its (transaction_id/status) → row count.
func waitLake(t *testing.T, lk lake.Config, name string, want int, within time.Duration) map[string]int {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := map[string]int{}
		rows := 0
		scanStrings(t, loadTable(t, lk, name), []string{"transaction_id", "status"}, func(v []string) {
			got[v[0]+"/"+v[1]]++
			rows++
		})
		if rows >= want || time.Now().After(deadline) {
			if rows < want {
				t.Logf("lake.%s holds %d rows after %s, want %d", name, rows, within, want)
			}
			// A little longer, so a duplicate committed late is seen too.
			if rows >= want {
				time.Sleep(5 * time.Second)
				got = map[string]int{}
				scanStrings(t, loadTable(t, lk, name), []string{"transaction_id", "status"}, func(v []string) { got[v[0]+"/"+v[1]]++ })
			}
			return got
		}
		time.Sleep(2 * time.Second)
	}
}

func waitAlerts(t *testing.T, lk lake.Config, want int, within time.Duration) map[string]int {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := map[string]int{}
		scanStrings(t, loadTable(t, lk, "alerts"), []string{"alert_id", "transaction_id", "rule_name", "rule_version", "severity"},
			func(v []string) { got[alertKey(v...)]++ })
		if total(got) >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(2 * time.Second)
	}
}

func alertKey(f ...string) string { return strings.Join(f, "|") }

func checkExactlyOnce(t *testing.T, got map[string]int, want map[string]bool) {
	t.Helper()
	checkExactlyOnceIn(t, "lake.transactions", got, want)
}

// checkExactlyOnceIn checks that where holds each wanted (transaction_id/status) once and nothing else.
func checkExactlyOnceIn(t *testing.T, where string, got map[string]int, want map[string]bool) {
	t.Helper()
	var missing, dup, extra []string
	for k := range want {
		switch c := got[k]; {
		case c == 0:
			missing = append(missing, k)
		case c > 1:
			dup = append(dup, fmt.Sprintf("%s×%d", k, c))
		}
	}
	for k := range got {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	if len(missing)+len(dup)+len(extra) > 0 {
		sort.Strings(missing)
		sort.Strings(dup)
		sort.Strings(extra)
		t.Errorf("%s vs %d valid events: %d missing %v, %d duplicated %v, %d unexpected %v",
			where, len(want), len(missing), head(missing), len(dup), head(dup), len(extra), head(extra))
	} else {
		t.Logf("%s holds each of the %d valid events exactly once", where, len(want))
	}
}

func head(s []string) []string { return s[:min(5, len(s))] }

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func diffCounts(got, want map[string]int) string {
	var onlyGot, onlyWant []string
	for k, v := range got {
		if want[k] < v {
			onlyGot = append(onlyGot, k)
		}
	}
	for k, v := range want {
		if got[k] < v {
			onlyWant = append(onlyWant, k)
		}
	}
	sort.Strings(onlyGot)
	sort.Strings(onlyWant)
	return fmt.Sprintf("%d extra %v; %d missing %v", len(onlyGot), head(onlyGot), len(onlyWant), head(onlyWant))
}

// flightCount runs a one-value query through the ADBC Flight SQL driver.
func flightCount(t *testing.T, uri, query string) int64 {
	t.Helper()
	var n int64
	found := false
	flightBatches(t, uri, query, time.Minute, nil, func(rec arrow.RecordBatch) bool {
		if rec.NumRows() == 0 {
			return true
		}
		switch c := rec.Column(0).(type) {
		case *array.Int64:
			n = c.Value(0)
		default:
			fmt.Sscan(c.ValueStr(0), &n)
		}
		found = true
		return false
	})
	if !found {
		t.Fatalf("%s: no rows", query)
	}
	return n
}

// flightScan streams a query's whole result and counts its rows.
func flightScan(t *testing.T, uri, query string) int64 {
	t.Helper()
	var n int64
	flightBatches(t, uri, query, 5*time.Minute, map[string]string{flightsql.OptionWithMaxMsgSize: "67108864"},
		func(rec arrow.RecordBatch) bool { n += rec.NumRows(); return true })
	return n
}

// flightBatches runs query through the ADBC Flight SQL driver (with the
// driver options opts) and hands each result batch to fn until fn returns
// false; the query and the reading share the one deadline within.
func flightBatches(t *testing.T, uri, query string, within time.Duration, opts map[string]string, fn func(arrow.RecordBatch) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	dbOpts := map[string]string{adbc.OptionKeyURI: uri}
	maps.Copy(dbOpts, opts)
	db, err := flightsql.NewDriver(memory.DefaultAllocator).NewDatabase(dbOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cnx, err := db.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cnx.Close()
	st, err := cnx.NewStatement()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.SetSqlQuery(query); err != nil {
		t.Fatal(err)
	}
	rdr, _, err := st.ExecuteQuery(ctx)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rdr.Release()
	for rdr.Next() {
		if !fn(rdr.RecordBatch()) {
			return
		}
	}
	if err := rdr.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
