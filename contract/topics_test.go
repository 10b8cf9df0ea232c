package contract_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/stack/kafkalocal"
)

var bare struct {
	once sync.Once
	b    *kafkalocal.Broker
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bare.b != nil {
		_ = bare.b.Stop()
	}
	os.Exit(code)
}

// bareBroker is this package's one broker, started without the contract
// topics (unlike kafkalocal.SharedT), so Ensure's creating is observable.
// Each test must leave the contract topics as Ensure wants them.
func bareBroker(t *testing.T) (*kafkalocal.Broker, *kadm.Client, context.Context) {
	t.Helper()
	bare.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		bare.b, bare.err = kafkalocal.Start(ctx, kafkalocal.Options{QuickStart: true})
	})
	if bare.err != nil {
		t.Fatal(bare.err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(bare.b.Bootstrap()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return bare.b, kadm.NewClient(cl), ctx
}

func alertRulesPolicy(t *testing.T, ctx context.Context, adm *kadm.Client) string {
	t.Helper()
	cfgs, err := adm.DescribeTopicConfigs(ctx, contract.AlertRules)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := cfgs.On(contract.AlertRules, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" {
			return c.MaybeValue()
		}
	}
	return ""
}

func TestEnsureTwiceCreatesOnceAndCompactsAlertRules(t *testing.T) {
	b, adm, ctx := bareBroker(t)
	before, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	brokers := []string{b.Bootstrap()}
	var first, second []contract.Status
	if err := contract.Ensure(ctx, brokers, contract.WithReport(func(s contract.Status) { first = append(first, s) })); err != nil {
		t.Fatal(err)
	}
	if err := contract.Ensure(ctx, brokers, contract.WithReport(func(s contract.Status) { second = append(second, s) })); err != nil {
		t.Fatalf("second Ensure on existing topics: %v", err)
	}
	// A new client: adm's metadata cache may predate the creations.
	_, fresh, _ := bareBroker(t)
	after, err := fresh.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}

	want := map[string]int{contract.RawTransactions: 3, contract.AlertRules: 1, contract.TransactionsProcessed: 3,
		contract.Alerts: 3, contract.DeadLetter: 3}
	for _, s := range first {
		if s.Created == before.Has(s.Name) {
			t.Errorf("first Ensure: %s created=%v, but it existed before: %v", s.Name, s.Created, before.Has(s.Name))
		}
	}
	for _, s := range second {
		if s.Created {
			t.Errorf("second Ensure re-created %s", s.Name)
		}
	}
	got := map[string]int{}
	for _, n := range after.Names() {
		got[n] = len(after[n].Partitions)
	}
	policy := alertRulesPolicy(t, ctx, adm)
	if len(first) != len(want) || len(second) != len(want) || len(got) != len(want) || policy != "compact" {
		t.Fatalf("reports %d and %d, topics %v (want %v), alert-rules cleanup.policy=%q (want compact)",
			len(first), len(second), got, want, policy)
	}
	for n, p := range want {
		if got[n] != p {
			t.Fatalf("topic %s has %d partitions, want %d", n, got[n], p)
		}
	}
}

func TestEnsureRejectsNonCompactedAlertRules(t *testing.T) {
	b, adm, ctx := bareBroker(t)
	if err := contract.Ensure(ctx, []string{b.Bootstrap()}); err != nil {
		t.Fatal(err)
	}
	alter := func(policy string) {
		t.Helper()
		resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "cleanup.policy", Value: kadm.StringPtr(policy)}}, contract.AlertRules)
		if err == nil {
			_, err = resp.On(contract.AlertRules, nil)
		}
		if err != nil {
			t.Fatalf("set alert-rules cleanup.policy=%s: %v", policy, err)
		}
	}
	alter("delete")
	t.Cleanup(func() { alter("compact") })

	// The broker applies config changes asynchronously; wait until it shows.
	for alertRulesPolicy(t, ctx, adm) != "delete" {
		if ctx.Err() != nil {
			t.Fatal("alert-rules never showed cleanup.policy=delete")
		}
		time.Sleep(50 * time.Millisecond)
	}
	err := contract.Ensure(ctx, []string{b.Bootstrap()})
	if err == nil || !strings.Contains(err.Error(), `alert-rules has cleanup.policy="delete"`) {
		t.Fatalf("Ensure with a non-compacted alert-rules returned %v, want an error naming the mismatch", err)
	}
}
