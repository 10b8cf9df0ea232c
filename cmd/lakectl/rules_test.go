package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/internal/testsupport"
	"github.com/finlake/finlake/stack/kafkalocal"
)

func TestRulesApplyThenShowReadsTheSameRulesBack(t *testing.T) {
	b := kafkalocal.SharedT(t)
	env := []string{"FINLAKE_BROKERS=" + b.Bootstrap()}
	dir := t.TempDir()
	rules, _ := os.ReadFile("../../config/rules.yaml")
	fx, _ := os.ReadFile("../../config/fx_rates.yaml")
	os.WriteFile(filepath.Join(dir, "rules.yaml"), rules, 0o644)
	os.WriteFile(filepath.Join(dir, "fx_rates.yaml"), fx, 0o644)
	topic := "--topic=rules-cli-apply"
	createCompacted(t, b.Bootstrap(), "rules-cli-apply")

	lakectl(t, env, "", "rules", "apply", filepath.Join(dir, "rules.yaml"), topic).mustOK(t)
	changed := strings.Replace(string(rules), "amount_usd: 10000", "amount_usd: 25000", 1)
	os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(changed), 0o644)
	out := lakectl(t, env, "", "rules", "apply", filepath.Join(dir, "rules.yaml"), topic).mustOK(t).stdout
	if !strings.Contains(out, "params.amount_usd: 10000 → 25000") || !strings.Contains(out, "1 → 2") {
		t.Fatalf("apply did not show the change:\n%s", out)
	}
	var live struct {
		Rules []struct {
			Name    string         `json:"rule_name"`
			Version int            `json:"version"`
			Params  map[string]any `json:"params"`
		} `json:"rules"`
		FX struct {
			Version int `json:"version"`
		} `json:"fx_rates"`
	}
	show := lakectl(t, env, "", "rules", "show", "--format", "json", topic).mustOK(t).stdout
	if err := json.Unmarshal([]byte(show), &live); err != nil {
		t.Fatalf("%v in %s", err, show)
	}
	got := map[string]int{}
	for _, r := range live.Rules {
		got[r.Name] = r.Version
	}
	if len(got) != 4 || got["high_value"] != 2 || got["rapid_activity"] != 1 || live.FX.Version != 1 {
		t.Fatalf("live rules %v fx v%d, want high_value v2, others v1, fx v1", got, live.FX.Version)
	}
}

func TestRulesApplyRejectsAnInvalidFileWithLineNumbersAndExitCode2(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "rules.yaml")
	os.WriteFile(bad, []byte("rules:\n  - rule_name: x\n    rule_type: threshold\n    severity: severe\n    description: d\n    params: {amount_usd: 5}\n"), 0o644)
	// No broker at all: validation comes first and publishes nothing.
	r := lakectl(t, []string{"FINLAKE_BROKERS=127.0.0.1:1"}, "", "rules", "apply", bad, "--fx", "")
	if r.code != 2 || !strings.Contains(r.stderr, "rules.yaml:4:15: rules[0].severity: bad severity \"severe\"") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestRulesValidateOutsideConfigReportsTheFilesOwnErrorsThenTheMissingFXTable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "my-rules.yaml")
	os.WriteFile(file, []byte("rules:\n  - rule_name: big\n    rule_type: threshold\n    severity: severe\n    description: d\n    params: {amount_usd: -5}\n"), 0o644)

	r := lakectl(t, nil, "", "rules", "validate", file)

	severity := strings.Index(r.stderr, "my-rules.yaml:4:15: rules[0].severity: bad severity")
	amount := strings.Index(r.stderr, "my-rules.yaml:6:")
	fx := strings.Index(r.stderr, filepath.Join(dir, "fx_rates.yaml")+": no FX table here: pass --fx PATH")
	if r.code != 2 || severity < 0 || amount < 0 || fx < severity || fx < amount || !strings.Contains(r.stderr, "3 problem(s)") {
		t.Fatalf("want exit 2 with both rule errors, then the FX hint; exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestAlertsTailFiltersBySeverity(t *testing.T) {
	b := kafkalocal.SharedT(t)
	cl := testsupport.Client(t, []string{b.Bootstrap()})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alert := func(rule, sev string) *kgo.Record {
		return &kgo.Record{Topic: "alerts-cli-tail", Key: []byte(rule), Value: []byte(`{"alert_id":"a-` + rule + `","transaction_id":"t-` + rule +
			`","account_id":"AC1","rule_name":"` + rule + `","rule_type":"threshold","rule_version":1,"severity":"` + sev +
			`","alert_timestamp":"2026-11-26T01:00:00Z","description":"d","transaction":{"amount":1.00,"currency":"USD"}}`)}
	}
	// Its own topic: other tests of this binary share the broker's alerts topic.
	testsupport.CreateTopics(t, []string{b.Bootstrap()}, 3, nil, "alerts-cli-tail")
	if err := cl.ProduceSync(ctx, alert("low_one", "low"), alert("critical_one", "critical"), alert("medium_one", "medium")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// Partitions interleave, so ask for both records at or above medium and compare as a set.
	out := lakectl(t, []string{"FINLAKE_BROKERS=" + b.Bootstrap()}, "", "alerts", "tail", "--topic", "alerts-cli-tail", "--from-beginning", "--min-severity", "medium", "--max", "2").mustOK(t).stdout
	if strings.Contains(out, "low_one") || !strings.Contains(out, "critical_one") || !strings.Contains(out, "medium_one") {
		t.Fatalf("unexpected tail output:\n%s", out)
	}
}

func createCompacted(t *testing.T, bootstrap, name string) {
	t.Helper()
	testsupport.CreateTopics(t, []string{bootstrap}, 1, testsupport.Compacted(), name)
}

func TestRulesWatchProcessSurvivesAnInvalidSaveAndAppliesTheFix(t *testing.T) {
	b := kafkalocal.SharedT(t)
	createCompacted(t, b.Bootstrap(), "rules-cli-watch")
	env := []string{"FINLAKE_BROKERS=" + b.Bootstrap()}
	dir := t.TempDir()
	rules, _ := os.ReadFile("../../config/rules.yaml")
	fx, _ := os.ReadFile("../../config/fx_rates.yaml")
	file := filepath.Join(dir, "rules.yaml")
	os.WriteFile(file, rules, 0o644)
	os.WriteFile(filepath.Join(dir, "fx_rates.yaml"), fx, 0o644)
	logPath := filepath.Join(dir, "watch.log")
	logf, _ := os.Create(logPath)
	cmd := exec.Command(os.Args[0], "rules", "watch", file, "--topic", "rules-cli-watch", "--debounce", "100ms")
	cmd.Env = append(append(os.Environ(), "LAKECTL_TEST_AS_MAIN=1", "FINLAKE_LOG_FORMAT=text"), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	}()
	highValue := func() string { // "version amount_usd" of the live high_value rule
		out := lakectl(t, env, "", "rules", "show", "--format", "json", "--topic", "rules-cli-watch").mustOK(t).stdout
		var live struct {
			Rules []struct {
				Name    string         `json:"rule_name"`
				Version int            `json:"version"`
				Params  map[string]any `json:"params"`
			} `json:"rules"`
		}
		_ = json.Unmarshal([]byte(out), &live)
		for _, r := range live.Rules {
			if r.Name == "high_value" {
				return fmt.Sprintf("v%d %v", r.Version, r.Params["amount_usd"])
			}
		}
		return ""
	}
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for got := highValue(); got != want; got = highValue() {
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(logPath)
				t.Fatalf("high_value is %q, want %q\n%s", got, want, log)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitFor("v1 10000")

	os.WriteFile(file+".tmp", []byte(strings.Replace(string(rules), "window: 1m", "window: soon", 1)), 0o644)
	os.Rename(file+".tmp", file)
	deadline := time.Now().Add(time.Minute)
	for {
		log, _ := os.ReadFile(logPath)
		if strings.Contains(string(log), `rules.yaml:19:15 path=rules[1].params.window problem="\"soon\" is not a duration`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line-numbered error logged:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case err := <-exited:
		t.Fatalf("watch exited on an invalid file: %v", err)
	default:
	}
	if got := highValue(); got != "v1 10000" {
		t.Fatalf("the invalid save changed the live rules: %s", got)
	}

	os.WriteFile(file+".tmp", []byte(strings.Replace(string(rules), "amount_usd: 10000", "amount_usd: 15000", 1)), 0o644)
	os.Rename(file+".tmp", file)
	waitFor("v2 15000")
}

func TestDLQTailShowsEveryFailedCheckOfADeadLetter(t *testing.T) {
	b := kafkalocal.SharedT(t)
	cl := testsupport.Client(t, []string{b.Bootstrap()})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	testsupport.CreateTopics(t, []string{b.Bootstrap()}, 1, nil, "dlq-cli-tail")
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "dlq-cli-tail", Value: []byte(`{"errors":[` +
		`{"field":"amount","rule":"non_zero","expected":"non-zero decimal","actual":"0"},` +
		`{"field":"currency","rule":"enum","expected":"ISO 4217","actual":"XXX"}],` +
		`"raw":"{\"amount\":0,\"currency\":\"XXX\"}","source":{"topic":"raw-transactions","partition":2,"offset":17,"timestamp":"2026-11-26T01:00:00Z"},` +
		`"dead_lettered_at":"2026-11-26T01:00:01Z"}`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	out := lakectl(t, []string{"FINLAKE_BROKERS=" + b.Bootstrap()}, "", "dlq", "tail", "--topic", "dlq-cli-tail", "--from-beginning", "--max", "1").mustOK(t).stdout
	want := "2026-11-26T01:00:01Z  raw-transactions[2]@17  amount non_zero (expected non-zero decimal, got \"0\"); currency enum (expected ISO 4217, got \"XXX\")\n" +
		"    raw: {\"amount\":0,\"currency\":\"XXX\"}\n"
	if out != want {
		t.Fatalf("got\n%q\nwant\n%q", out, want)
	}
}
