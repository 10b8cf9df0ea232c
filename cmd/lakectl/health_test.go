//go:build duckdb_arrow

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/internal/health"
	"github.com/finlake/finlake/internal/testsupport"
	"github.com/finlake/finlake/stack/kafkalocal"
)

func TestHealthReportsEveryStoppedComponentAndExits1(t *testing.T) {
	env := []string{"FINLAKE_BROKERS=" + testsupport.FreeAddr(t), "FINLAKE_GENERATOR_URL=http://" + testsupport.FreeAddr(t),
		"FINLAKE_INGEST_URL=http://" + testsupport.FreeAddr(t), "FINLAKE_FLIGHT_URL=http://" + testsupport.FreeAddr(t), "FINLAKE_FLINK_URL=http://" + testsupport.FreeAddr(t)}
	r := lakectl(t, env, "", "health", "--format", "json", "--timeout", "1s")
	var rep health.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("exit %d: %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	if r.code != 1 || rep.Healthy || len(rep.Problems) != 5 {
		t.Fatalf("exit %d healthy=%v problems=%v", r.code, rep.Healthy, rep.Problems)
	}
	for _, c := range health.Components {
		found := false
		for _, p := range rep.Problems {
			found = found || strings.HasPrefix(p, c+": ") && (strings.Contains(p, "down") || strings.Contains(p, "unreachable"))
		}
		if !found {
			t.Errorf("no down/unreachable problem for %s in %v", c, rep.Problems)
		}
	}
}

// flinkREST serves the two Flink REST resources health reads, shaped as
// Flink 2.x answers them: no Flink cluster runs in Go tests.
func flinkREST(t *testing.T, lastAck time.Time) string {
	mux := http.NewServeMux()
	mux.HandleFunc("/jobs/overview", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"jobs":[{"jid":"old","name":"finlake-fraud","state":"FAILED","start-time":%d},
			{"jid":"abc123","name":"finlake-fraud","state":"RUNNING","start-time":%d,"end-time":-1,"duration":60000}]}`,
			time.Now().Add(-time.Hour).UnixMilli(), time.Now().Add(-10*time.Minute).UnixMilli())
	})
	mux.HandleFunc("/jobs/abc123/checkpoints", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"counts":{"restored":0,"total":12,"in_progress":0,"completed":11,"failed":1},
			"latest":{"completed":{"@class":"completed","id":11,"status":"COMPLETED","latest_ack_timestamp":%d,
			"state_size":2048,"end_to_end_duration":230,"external_path":"file:/tmp/cp"},"savepoint":null,"failed":null,"restored":null},
			"history":[]}`, lastAck.UnixMilli())
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// startLakectl runs a long-lived lakectl role (generate, ingest) until the test ends.
func startLakectl(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "LAKECTL_TEST_AS_MAIN=1", "FINLAKE_LOG_FORMAT=text"), env...)
	logf, _ := os.Create(t.TempDir() + "/" + args[0] + ".log")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
	return cmd
}

// processedTx is a transactions-processed record as the Flink job writes it,
// generated at gen and processed 300 ms later.
func processedTx(id string, gen time.Time) []byte {
	return []byte(fmt.Sprintf(
		`{"transaction_id":"%s","timestamp":"%s","account_id":"AC1","amount":12000.00,"currency":"USD","merchant_name":"M","merchant_category":"travel","transaction_type":"purchase","location_country":"US","status":"completed","amount_usd":12000.00,"processing_timestamp":"%s","partition_date":"%s","is_flagged":true}`,
		id, gen.Format(time.RFC3339Nano), gen.Add(300*time.Millisecond).Format(time.RFC3339Nano), gen.Format("2006-01-02")))
}

func TestHealthOfARunningPipeline(t *testing.T) {
	// Its own broker: health reads the contract topics, which other tests of
	// this binary write on the shared one.
	b := kafkalocal.StartT(t)
	brokers := b.Bootstrap()
	ctx := context.Background()

	// Real services as lakectl processes: generator, ingest and the Flight SQL
	// server; Flink's REST API is a stand-in.
	genHTTP, ingHTTP := testsupport.FreeAddr(t), testsupport.FreeAddr(t)
	gen := startLakectl(t, nil, "generate", "--brokers", brokers, "--http", genHTTP, "--rate", "20", "--progress=false")
	data := t.TempDir()
	startLakectl(t, nil, "ingest", "--brokers", brokers, "--data", data, "--http", ingHTTP, "--commit-interval", "500ms")
	flightHTTP := testsupport.FreeAddr(t)
	serveLake(t, data, flightHTTP)

	// What the Flink job would write: processed transactions, alerts raised
	// 300 ms after generation, and dead letters.
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	gen0 := time.Now().Add(-2 * time.Second).UTC().Truncate(time.Millisecond) // Kafka timestamps are in ms
	var recs []*kgo.Record
	for i := 0; i < 4; i++ {
		id := fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", i)
		recs = append(recs,
			&kgo.Record{Topic: contract.TransactionsProcessed, Key: []byte("AC1"), Timestamp: gen0, Value: processedTx(id, gen0)},
			&kgo.Record{Topic: contract.Alerts, Key: []byte(id), Timestamp: gen0, Value: []byte(fmt.Sprintf(
				`{"alert_id":"a%d","transaction_id":"%s","account_id":"AC1","rule_name":"high_value","rule_type":"threshold","rule_version":1,"severity":"high","alert_timestamp":"%s","description":"d","transaction":{}}`,
				i, id, gen0.Add(300*time.Millisecond).Format(time.RFC3339Nano)))})
	}
	for i := 0; i < 3; i++ {
		recs = append(recs, &kgo.Record{Topic: contract.DeadLetter, Key: []byte("k"), Timestamp: gen0, Value: []byte(
			`{"errors":[{"field":"amount","rule":"non_zero","expected":"non-zero decimal","actual":"0"}],"raw":"{}","source":{"topic":"raw-transactions","partition":0,"offset":1,"timestamp":"x"},"dead_lettered_at":"x"}`)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	env := []string{"FINLAKE_BROKERS=" + brokers, "FINLAKE_GENERATOR_URL=http://" + genHTTP, "FINLAKE_INGEST_URL=http://" + ingHTTP,
		"FINLAKE_FLIGHT_URL=http://" + flightHTTP, "FINLAKE_FLINK_URL=" + flinkREST(t, time.Now().Add(-10*time.Second))}
	var rep health.Report
	var last result
	deadline := time.Now().Add(90 * time.Second)
	for {
		last = lakectl(t, env, "", "health", "--format", "json")
		rep = health.Report{}
		_ = json.Unmarshal([]byte(last.stdout), &rep)
		settled := last.code == 0 && rep.Latency["storage"].N >= 4 && len(rep.Kafka.Lag) > 0
		if settled || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if last.code != 0 || !rep.Healthy {
		t.Fatalf("not healthy within 90s: exit %d problems %v\n%s", last.code, rep.Problems, last.stderr)
	}
	for _, s := range rep.Services {
		if !s.Up || !s.Ready {
			t.Errorf("%s: up=%v ready=%v %s", s.Name, s.Up, s.Ready, s.Reason)
		}
		if s.Name == health.Generator && s.Metrics["produced_records"] <= 0 {
			t.Errorf("generator metrics: %v", s.Metrics)
		}
	}
	if rep.Flink.State != "RUNNING" || rep.Flink.LastCheckpointID != 11 {
		t.Errorf("flink: %+v", rep.Flink)
	}
	if a := rep.Latency["alert"]; a.N != 4 || a.P50 != 300 || a.P99 != 300 {
		t.Errorf("alert latency: %+v", a)
	}
	if len(rep.Kafka.FailedChecks) != 1 || rep.Kafka.FailedChecks[0].Check != "amount/non_zero" || rep.Kafka.FailedChecks[0].PerMinute != 3 {
		t.Errorf("dead letters per check: %+v", rep.Kafka.FailedChecks)
	}
	var raw health.TopicStat
	for _, ts := range rep.Kafka.Topics {
		if ts.Name == contract.RawTransactions {
			raw = ts
		}
	}
	if raw.Recent == 0 {
		t.Errorf("no generator throughput on %s: %+v", contract.RawTransactions, raw)
	}
	ingestLag := false
	for _, l := range rep.Kafka.Lag {
		ingestLag = ingestLag || (l.Group == "finlake-ingest" && l.Topic == contract.TransactionsProcessed)
	}
	if !ingestLag {
		t.Errorf("no lag row for the ingest group: %+v", rep.Kafka.Lag)
	}

	// The generator stops: health says so and exits 1.
	_ = gen.Process.Kill()
	r := lakectl(t, env, "", "health")
	if r.code != 1 || !strings.Contains(r.stdout, "generator: down at http://"+genHTTP) {
		t.Fatalf("after stopping the generator: exit %d\n%s", r.code, r.stdout)
	}
	// A stale checkpoint is a problem too.
	env[len(env)-1] = "FINLAKE_FLINK_URL=" + flinkREST(t, time.Now().Add(-10*time.Minute))
	r = lakectl(t, env, "", "health", "--ignore", "generator")
	if r.code != 1 || !strings.Contains(r.stdout, "last checkpoint 11 completed") {
		t.Fatalf("stale checkpoint: exit %d\n%s", r.code, r.stdout)
	}
	t.Logf("lakectl health:\n%s", r.stdout)
}
