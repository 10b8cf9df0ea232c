//go:build duckdb_arrow

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/internal/testsupport"
	"github.com/finlake/finlake/stack/kafkalocal"
)

// ownTopic creates a 1-partition topic named after the test on broker and
// gives a function that sums its end offsets (records produced so far).
func ownTopic(t *testing.T, brokers, name string) func() int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, name); err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	return func() int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ends, err := adm.ListEndOffsets(ctx, name)
		if err != nil {
			t.Fatalf("end offsets of %s: %v", name, err)
		}
		var n int64
		ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
		return n
	}
}

type genStatus struct {
	Rate      string
	Paused    bool
	Generated int64
}

func generatorStatus(t *testing.T, addr string) (genStatus, bool) {
	resp, err := http.Get("http://" + addr + "/status")
	if err != nil {
		return genStatus{}, false
	}
	defer resp.Body.Close()
	var st genStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("generator /status: %v", err)
	}
	return st, true
}

func TestGenerateAtRate0ProducesNothingUntilSetRateResumesIt(t *testing.T) {
	b := kafkalocal.SharedT(t)
	records := ownTopic(t, b.Bootstrap(), "gen-paused")
	addr := testsupport.FreeAddr(t)
	startLakectl(t, nil, "generate", "--brokers", b.Bootstrap(), "--topic", "gen-paused", "--rate", "0",
		"--http", addr, "--progress=false")

	deadline := time.Now().Add(time.Minute)
	for {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("generator not ready (connected to Kafka) within a minute")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	st, _ := generatorStatus(t, addr)
	if n := records(); n != 0 || st.Generated != 0 || !st.Paused || st.Rate != "0" {
		t.Fatalf("3 s after starting at --rate 0: %d records in the topic, status %+v; want none and paused", n, st)
	}

	lakectl(t, nil, "", "generate", "set-rate", "50", "--http", addr).mustOK(t)
	deadline = time.Now().Add(30 * time.Second)
	for records() < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d records 30 s after set-rate 50", records())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st, _ := generatorStatus(t, addr); st.Paused || st.Rate != "50" {
		t.Fatalf("status after set-rate 50: %+v", st)
	}
}

func TestGenerateAtRateMaxProducesAsFastAsTheBrokerTakesRecords(t *testing.T) {
	b := kafkalocal.SharedT(t)
	records := ownTopic(t, b.Bootstrap(), "gen-max")
	const n = 20_000 // at the default 10 transactions/s this would take over half an hour
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "generate", "--brokers", b.Bootstrap(), "--topic", "gen-max",
		"--rate", "max", "--count", "20000", "--http", "off", "--progress=false")
	cmd.Env = append(os.Environ(), "LAKECTL_TEST_AS_MAIN=1", "FINLAKE_LOG_FORMAT=text")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generate --rate max --count %d did not finish within 2 minutes: %v\n%s", n, err, out)
	}
	if got := records(); got != n {
		t.Fatalf("%d records in the topic, want %d", got, n)
	}
}

func TestGenerateRejectsARateOutsideTheAllowedFormsWithExitCode2(t *testing.T) {
	for _, rate := range []string{"-1", "fast", "NaN"} {
		for _, args := range [][]string{
			{"generate", "--rate", rate, "--count", "1", "--output", "-", "--http", "off"},
			{"generate", "set-rate", "--http", testsupport.FreeAddr(t), "--", rate}, // "--": -1 would read as a flag
		} {
			r := lakectl(t, nil, "", args...)
			if r.code != 2 || !strings.Contains(r.stderr, `0 to pause, or "max" for as fast as possible`) || r.stdout != "" {
				t.Errorf("lakectl %v: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
			}
		}
	}
}

func TestServeWithHTTPOffServesFlightSQLWithoutTheHTTPPort(t *testing.T) {
	addr := serveLake(t, t.TempDir(), "off")
	lakectl(t, nil, "", "tables", "--flight", "grpc://"+addr).mustOK(t)
}

func TestIngestWithHTTPOffRunsUntilInterrupted(t *testing.T) {
	b := kafkalocal.SharedT(t)
	cmd := exec.Command(os.Args[0], "ingest", "--brokers", b.Bootstrap(), "--data", t.TempDir(), "--http", "off",
		"--group", "ingest-http-off")
	cmd.Env = append(os.Environ(), "LAKECTL_TEST_AS_MAIN=1", "FINLAKE_LOG_FORMAT=text")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		t.Fatalf("ingest --http off exited on its own: %v\n%s", err, out.String())
	case <-time.After(5 * time.Second):
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("ingest --http off after an interrupt: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("ingest still running 30 s after an interrupt\n%s", out.String())
	}
}
