package topics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/stack/kafkalocal"
	"github.com/finlake/finlake/topics"
)

// bareBroker is a broker of the test's own with no topics yet.
func bareBroker(t *testing.T) (*kafkalocal.Broker, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	b, err := kafkalocal.Start(ctx, kafkalocal.Options{Dir: t.TempDir(), QuickStart: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Stop() })
	return b, ctx
}

func TestEnsureTwiceCreatesOnceAndCompactsAlertRules(t *testing.T) {
	b, ctx := bareBroker(t)
	brokers := []string{b.Bootstrap()}
	var first, second []topics.Status
	if err := topics.Ensure(ctx, brokers, topics.WithReport(func(s topics.Status) { first = append(first, s) })); err != nil {
		t.Fatal(err)
	}
	if err := topics.Ensure(ctx, brokers, topics.WithReport(func(s topics.Status) { second = append(second, s) })); err != nil {
		t.Fatalf("second Ensure on existing topics: %v", err)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	td, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfgs, err := adm.DescribeTopicConfigs(ctx, topics.AlertRules)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := cfgs.On(topics.AlertRules, nil)
	if err != nil {
		t.Fatal(err)
	}
	policy := ""
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" {
			policy = c.MaybeValue()
		}
	}

	want := map[string]int{topics.RawTransactions: 3, topics.AlertRules: 1, topics.TransactionsProcessed: 3,
		topics.Alerts: 3, topics.DeadLetter: 3}
	got := map[string]int{}
	for _, n := range td.Names() {
		got[n] = len(td[n].Partitions)
	}
	created := 0
	for _, s := range first {
		if s.Created {
			created++
		}
	}
	for _, s := range second {
		if s.Created {
			t.Errorf("second Ensure re-created %s", s.Name)
		}
	}
	if len(got) != len(want) || created != len(want) || len(second) != len(want) || policy != "compact" {
		t.Fatalf("topics %v (want %v), created %d then %d reported, alert-rules cleanup.policy=%q (want compact)",
			got, want, created, len(second), policy)
	}
	for n, p := range want {
		if got[n] != p {
			t.Fatalf("topic %s has %d partitions, want %d", n, got[n], p)
		}
	}
}

func TestEnsureRejectsNonCompactedAlertRules(t *testing.T) {
	b, ctx := bareBroker(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Bootstrap()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": kadm.StringPtr("delete")}, topics.AlertRules)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatal(err)
	}

	err = topics.Ensure(ctx, []string{b.Bootstrap()})
	if err == nil || !strings.Contains(err.Error(), "alert-rules has cleanup.policy=\"delete\"") {
		t.Fatalf("Ensure with a non-compacted alert-rules returned %v, want an error naming the mismatch", err)
	}
}
