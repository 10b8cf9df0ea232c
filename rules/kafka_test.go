package rules

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/internal/testsupport"
	"github.com/finlake/finlake/stack/kafkalocal"
)

func TestMain(m *testing.M) { testsupport.Main(m) }

// testKafka gives a fresh compacted rules topic on the shared real broker.
func testKafka(t *testing.T) Kafka {
	t.Helper()
	brokers := []string{kafkalocal.SharedT(t).Bootstrap()}
	name := "rules-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	testsupport.CreateTopics(t, brokers, 1, testsupport.Compacted(), name)
	return Kafka{Brokers: brokers, Topic: name}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// rawRecords reads every record of the topic, tombstones included, in order.
func rawRecords(t *testing.T, k Kafka) []*kgo.Record {
	t.Helper()
	var out []*kgo.Record
	if err := scanTopic(ctxT(t), k.Brokers, k.Topic, nil, func(r *kgo.Record) { out = append(out, r) }); err != nil {
		t.Fatal(err)
	}
	return out
}

func loadShipped(t *testing.T) Set {
	t.Helper()
	set, err := LoadFiles("../config/rules.yaml", "../config/fx_rates.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestApplyPublishesTheContractRecordsKeyedByRuleName(t *testing.T) {
	k := testKafka(t)
	if _, err := k.Apply(ctxT(t), loadShipped(t)); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rawRecords(t, k) {
		got[string(r.Key)] = string(r.Value)
	}
	want := map[string]string{
		"high_value":       `{"rule_name":"high_value","rule_type":"threshold","version":1,"enabled":true,"severity":"high","description":"Single transaction above 10,000 USD equivalent","params":{"amount_usd":10000}}`,
		"rapid_activity":   `{"rule_name":"rapid_activity","rule_type":"velocity","version":1,"enabled":true,"severity":"medium","description":"Five or more transactions on one account within one minute","params":{"count":5,"window":"1m"}}`,
		"quiet_hours":      `{"rule_name":"quiet_hours","rule_type":"time_of_day","version":1,"enabled":true,"severity":"low","description":"Activity between 01:00 and 05:00 UTC, when legitimate customers rarely transact","params":{"end":"05:00","start":"01:00","timezone":"UTC"}}`,
		"unusual_location": `{"rule_name":"unusual_location","rule_type":"new_country","version":1,"enabled":true,"severity":"medium","description":"An established account transacting in a country it has not used in 30 days","params":{"lookback":"30d","min_history":3}}`,
		FXKey:              `{"usd_per_unit":{"EUR":1.08,"GBP":1.27,"JPY":0.0067,"USD":1},"version":1}`,
	}
	for key, w := range want {
		if got[key] != w {
			t.Errorf("record %s:\n got  %s\n want %s", key, got[key], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d keys, want %d: %v", len(got), len(want), got)
	}
}

func TestReapplyingAnUnchangedFilePublishesNothing(t *testing.T) {
	k := testKafka(t)
	set := loadShipped(t)
	if _, err := k.Apply(ctxT(t), set); err != nil {
		t.Fatal(err)
	}
	before := len(rawRecords(t, k))
	plan, err := k.Apply(ctxT(t), set)
	if err != nil {
		t.Fatal(err)
	}
	if after := len(rawRecords(t, k)); plan.Pending() != 0 || after != before {
		t.Fatalf("second apply published: pending=%d records %d → %d", plan.Pending(), before, after)
	}
}

func TestChangedRuleGetsTheNextVersionAndARemovedRuleATombstone(t *testing.T) {
	k := testKafka(t)
	set := loadShipped(t)
	for i := 0; i < 2; i++ { // two changes: version 1 → 2 → 3
		r := set.Rules["high_value"]
		r.Params = map[string]any{"amount_usd": json.Number([]string{"20000", "30000"}[i])}
		if i == 0 {
			if _, err := k.Apply(ctxT(t), set); err != nil {
				t.Fatal(err)
			}
		}
		set.Rules["high_value"] = r
		if _, err := k.Apply(ctxT(t), set); err != nil {
			t.Fatal(err)
		}
	}
	delete(set.Rules, "quiet_hours")
	if _, err := k.Apply(ctxT(t), set); err != nil {
		t.Fatal(err)
	}
	live, err := k.ReadLive(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	recs := rawRecords(t, k)
	last := recs[len(recs)-1]
	if hv := live.Rules["high_value"]; hv.Version != 3 || canon(hv.Params["amount_usd"]) != "30000" {
		t.Errorf("high_value live = %+v, want version 3 amount_usd 30000", hv)
	}
	if _, still := live.Rules["quiet_hours"]; still || string(last.Key) != "quiet_hours" || last.Value != nil {
		t.Errorf("quiet_hours not deleted by a tombstone: live=%v last record %s=%q", still, last.Key, last.Value)
	}
	if live.Rules["rapid_activity"].Version != 1 {
		t.Errorf("an unchanged rule's version moved: %+v", live.Rules["rapid_activity"])
	}
}

func TestWatchKeepsTheLastGoodRulesWhenTheFileBecomesInvalid(t *testing.T) {
	k := testKafka(t)
	dir := t.TempDir()
	rulesPath, fxPath := filepath.Join(dir, "rules.yaml"), filepath.Join(dir, "fx_rates.yaml")
	shipped, _ := os.ReadFile("../config/rules.yaml")
	fx, _ := os.ReadFile("../config/fx_rates.yaml")
	// Editors save by writing a temporary file and renaming it over the old one.
	save := func(name string, data []byte) {
		tmp := filepath.Join(dir, "."+filepath.Base(name)+".swp")
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, name); err != nil {
			t.Fatal(err)
		}
	}
	save(rulesPath, shipped)
	save(fxPath, fx)

	results := make(chan error, 16)
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, WatchOptions{RulesPath: rulesPath, FXPath: fxPath, Kafka: k, Debounce: 100 * time.Millisecond,
			OnApply: func(_ Plan, err error) { results <- err }})
	}()
	next := func() error {
		select {
		case err := <-results:
			return err
		case <-time.After(time.Minute):
			t.Fatal("watch did not apply within a minute")
			return nil
		}
	}
	if err := next(); err != nil {
		t.Fatalf("initial apply: %v", err)
	}

	save(rulesPath, []byte(strings.Replace(string(shipped), "amount_usd: 10000", "amount_usd: ten thousand", 1)))
	var ve *ValidationError
	if err := next(); !errors.As(err, &ve) || ve.Problems[0].Line != 10 {
		t.Fatalf("want a validation error at line 10, got %v", err)
	}
	live, _ := k.ReadLive(ctxT(t))
	if v := live.Rules["high_value"]; v.Version != 1 || canon(v.Params["amount_usd"]) != "10000" {
		t.Fatalf("invalid file changed the live rule: %+v", v)
	}

	save(rulesPath, []byte(strings.Replace(string(shipped), "amount_usd: 10000", "amount_usd: 5000", 1)))
	if err := next(); err != nil {
		t.Fatalf("apply after fix: %v", err)
	}
	live, _ = k.ReadLive(ctxT(t))
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("watch returned %v", err)
	}
	if v := live.Rules["high_value"]; v.Version != 2 || canon(v.Params["amount_usd"]) != "5000" {
		t.Fatalf("fixed file not applied: %+v", v)
	}
}

func TestReadLiveIgnoresAnAbortedPublishAndReturnsPromptly(t *testing.T) {
	k := testKafka(t)
	if _, err := k.Apply(ctxT(t), loadShipped(t)); err != nil {
		t.Fatal(err)
	}
	// A publisher that gives up: its records and the abort marker end the log.
	bad := Rule{Name: "high_value", Type: "threshold", Version: 99, Enabled: true, Severity: "low", Description: "x", Params: map[string]any{"amount_usd": 1}}
	v, _ := bad.Encode()
	testsupport.ProduceTxn(t, k.Brokers, "aborting-publisher", false, &kgo.Record{Topic: k.Topic, Key: []byte("high_value"), Value: v})
	start := time.Now()
	live, err := k.ReadLive(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if hv := live.Rules["high_value"]; hv.Version != 1 || time.Since(start) > 5*time.Second {
		t.Fatalf("high_value = %+v after %s; want version 1, read without waiting for a timeout", hv, time.Since(start))
	}
}

// The job's dead letter for the live version of a rule (the contract vector's
// bytes, pointed at this test's rules topic) is reported for that rule; one
// for an older version of it, and transaction dead letters, are not.
func TestRejectionsFindTheJobsDeadLetterForEachLiveRecordOnly(t *testing.T) {
	k := testKafka(t)
	dlt := "dead-letter-" + strings.ToLower(t.Name())
	testsupport.CreateTopics(t, k.Brokers, 2, nil, dlt)
	set := loadShipped(t)
	if _, err := k.Apply(ctxT(t), set); err != nil {
		t.Fatal(err)
	}
	old, err := k.ReadLive(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	r := set.Rules["rapid_activity"]
	r.Params = map[string]any{"count": int64(6), "window": "1m"}
	set.Rules["rapid_activity"] = r
	if _, err := k.Apply(ctxT(t), set); err != nil {
		t.Fatal(err)
	}
	live, err := k.ReadLive(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	vec, err := os.ReadFile("../contract/testdata/dead_letter_rule.json")
	if err != nil {
		t.Fatal(err)
	}
	deadLetter := func(c Coord, field string) []byte {
		var d map[string]any
		if err := json.Unmarshal(vec, &d); err != nil {
			t.Fatal(err)
		}
		d["source"] = map[string]any{"topic": k.Topic, "partition": c.Partition, "offset": c.Offset, "timestamp": nil}
		d["errors"].([]any)[0].(map[string]any)["field"] = field
		b, _ := json.Marshal(d)
		return b
	}
	cl := testsupport.Client(t, k.Brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	recs := []*kgo.Record{
		{Topic: dlt, Partition: 1, Key: []byte("rapid_activity"), Value: deadLetter(live.Records["rapid_activity"], "params.count")},
		{Topic: dlt, Partition: 1, Key: []byte("AC0000001"), Value: vector(t, "dead_letter.json")},
		// Later on the same partition, for the version before: it must not win.
		{Topic: dlt, Partition: 1, Key: []byte("rapid_activity"), Value: deadLetter(old.Records["rapid_activity"], "params.window")},
	}
	if err := cl.ProduceSync(ctxT(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	got, err := k.Rejections(ctxT(t), live, dlt)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got["rapid_activity"].Errors) != 1 || got["rapid_activity"].Errors[0].Field != "params.count" {
		t.Fatalf("want the one rejection of rapid_activity's live record, got %+v", got)
	}
}

func vector(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../contract/testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRejectionsWithoutADeadLetterTopicAreNoneNotAnError(t *testing.T) {
	k := testKafka(t)
	if _, err := k.Apply(ctxT(t), loadShipped(t)); err != nil {
		t.Fatal(err)
	}
	live, err := k.ReadLive(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.Rejections(ctxT(t), live, "no-such-dead-letter-topic")
	if err != nil || len(got) != 0 {
		t.Fatalf("want no rejections and no error, got %v, %v", got, err)
	}
}
