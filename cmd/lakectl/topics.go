package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/urfave/cli/v3"

	"github.com/finlake/finlake/contract"
)

func init() {
	register(&cli.Command{
		Name:  "topics",
		Usage: "create and list the Kafka topics of the finlake contract",
		Description: `The contract's topics: ` + strings.Join(contract.Names(), ", ") + `.
Data topics get 3 partitions; alert-rules 1 partition with cleanup.policy=compact.

Examples:
  lakectl topics create --brokers 127.0.0.1:9092
  FINLAKE_BROKERS=127.0.0.1:9092 lakectl topics list`,
		Commands: []*cli.Command{
			{
				Name:  "create",
				Usage: "create the contract's missing topics and check the existing ones (idempotent)",
				Description: `Prints one line per topic: created or found, its partitions and checked configs.
Fails (exit 1) if an existing topic breaks the contract, e.g. a non-compacted alert-rules.

Example:
  lakectl topics create --brokers 127.0.0.1:9092 --partitions 6`,
				Flags: []cli.Flag{brokersFlag(),
					&cli.IntFlag{Name: "partitions", Value: contract.DefaultDataPartitions,
						Usage: "partitions of newly created data topics (alert-rules always has 1)"}},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					w := cmd.Root().Writer
					err := contract.Ensure(ctx, brokerList(cmd),
						contract.WithDataPartitions(int32(cmd.Int("partitions"))),
						contract.WithReport(func(s contract.Status) {
							what := "found"
							if s.Created {
								what = "created"
							}
							fmt.Fprintf(w, "%-8s %-24s partitions=%d%s\n", what, s.Name, s.Partitions, configString(s.Configs))
						}))
					if err != nil {
						return cli.Exit(fmt.Sprintf("lakectl topics create: %v", err), 1)
					}
					return nil
				},
			},
			{
				Name:        "list",
				Usage:       "list the cluster's topics with partitions and the sum of their end offsets",
				Description: "Example:\n  lakectl topics list --brokers 127.0.0.1:9092",
				Flags:       []cli.Flag{brokersFlag()},
				Action:      topicsList,
			},
		},
	})
}

func configString(c map[string]string) string {
	var sb strings.Builder
	for k, v := range c {
		fmt.Fprintf(&sb, " %s=%s", k, v)
	}
	return sb.String()
}

func topicsList(ctx context.Context, cmd *cli.Command) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerList(cmd)...))
	if err != nil {
		return cli.Exit(fmt.Sprintf("lakectl topics list: %v", err), 1)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	td, err := adm.ListTopics(ctx)
	if err != nil {
		return cli.Exit(fmt.Sprintf("lakectl topics list: is Kafka up at %s? %v", cmd.String("brokers"), err), 1)
	}
	ends, err := adm.ListEndOffsets(ctx, td.Names()...)
	if err != nil {
		return cli.Exit(fmt.Sprintf("lakectl topics list: end offsets: %v", err), 1)
	}
	w := cmd.Root().Writer
	fmt.Fprintf(w, "%-24s %10s %12s\n", "TOPIC", "PARTITIONS", "END OFFSETS")
	names := td.Names()
	sort.Strings(names)
	for _, name := range names {
		var total int64
		ends.Each(func(o kadm.ListedOffset) {
			if o.Topic == name && o.Err == nil {
				total += o.Offset
			}
		})
		fmt.Fprintf(w, "%-24s %10d %12d\n", name, len(td[name].Partitions), total)
	}
	return nil
}
