package tail

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/internal/testsupport"
	"github.com/finlake/finlake/stack/kafkalocal"
)

func TestMain(m *testing.M) { testsupport.Main(m) }

const alertJSON = `{"alert_id":"5d0c7a52-3a4b-5c1e-9f00-000000000001","transaction_id":"0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10","account_id":"AC0001234","rule_name":"high_value","rule_type":"threshold","rule_version":3,"severity":"high","alert_timestamp":"2026-11-26T01:02:04.000Z","description":"12000.00 USD > 10000 USD","transaction":{"transaction_id":"0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10","timestamp":"2026-11-26T01:02:03.456Z","account_id":"AC0001234","amount":11111.11,"currency":"EUR","merchant_name":"Bistro Lumiere","merchant_category":"dining","transaction_type":"purchase","location_country":"FR","status":"pending"}}`

// produceTxn writes values to topic in one transaction, committed or aborted.
func produceTxn(t *testing.T, brokers []string, topic string, commit bool, values ...string) {
	t.Helper()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte(v)}
	}
	testsupport.ProduceTxn(t, brokers, "tail-test-"+topic, commit, recs...)
}

func TestFollowShowsCommittedAlertsAndNeverAbortedOnes(t *testing.T) {
	b := kafkalocal.SharedT(t)
	brokers := []string{b.Bootstrap()}
	aborted := strings.Replace(alertJSON, "high_value", "aborted_rule", 1)
	produceTxn(t, brokers, contract.Alerts, false, aborted)
	produceTxn(t, brokers, contract.Alerts, true, alertJSON)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var lines []string
	err := Follow(ctx, Options{Brokers: brokers, Topic: contract.Alerts, FromBeginning: true, Max: 1}, func(r *kgo.Record) error {
		a, err := contract.DecodeAlert(r.Value)
		if err != nil {
			return err
		}
		lines = append(lines, FormatAlert(a, r.Timestamp))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "HIGH") || !strings.Contains(lines[0], "high_value") ||
		!strings.Contains(lines[0], "11111.11 EUR") || !strings.Contains(lines[0], "Bistro Lumiere FR") {
		t.Fatalf("unexpected rendering: %q", lines)
	}
}

func TestFollowRendersEveryDeadLetterError(t *testing.T) {
	b := kafkalocal.SharedT(t)
	brokers := []string{b.Bootstrap()}
	produceTxn(t, brokers, contract.DeadLetter, true, `{"errors":[{"field":"amount","rule":"non_zero","expected":"non-zero decimal","actual":"0"},{"field":"currency","rule":"enum","expected":"ISO 4217","actual":"XXX"}],"raw":"{\"amount\":0}","source":{"topic":"raw-transactions","partition":1,"offset":4711,"timestamp":"2026-11-26T01:02:03Z"},"dead_lettered_at":"2026-11-26T01:02:04Z"}`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out string
	err := Follow(ctx, Options{Brokers: brokers, Topic: contract.DeadLetter, FromBeginning: true, Max: 1}, func(r *kgo.Record) error {
		d, err := contract.DecodeDeadLetter(r.Value)
		out = FormatDeadLetter(d, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"raw-transactions[1]@4711", `amount non_zero (expected non-zero decimal, got "0")`, "currency enum", `raw: {"amount":0}`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in %q", want, out)
		}
	}
}

func TestFollowFailsFastWhenTheBrokerIsDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := Follow(ctx, Options{Brokers: []string{"127.0.0.1:1"}, Topic: contract.Alerts}, func(*kgo.Record) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "cannot reach Kafka") {
		t.Fatalf("want a cannot-reach error, got %v", err)
	}
}
