package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/urfave/cli/v3"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/internal/tail"
	"github.com/finlake/finlake/rules"
)

func tailFlags(topic string) []cli.Flag {
	return []cli.Flag{brokersFlag(),
		&cli.StringFlag{Name: "topic", Value: topic, Usage: "topic to follow"},
		&cli.BoolFlag{Name: "from-beginning", Usage: "start at the oldest record instead of new ones only"},
		&cli.StringFlag{Name: "format", Value: "pretty", Usage: "pretty (one line per record) or json (the record value, one per line)"},
		&cli.IntFlag{Name: "max", Usage: "stop after N records (0: follow until Ctrl-C)"},
	}
}

func checkTailFormat(cmd *cli.Command) error {
	if f := cmd.String("format"); f != "pretty" && f != "json" {
		return badInput("--format %q: want pretty or json", f)
	}
	return nil
}

func init() {
	register(&cli.Command{
		Name:  "alerts",
		Usage: "follow the fraud alerts the Flink job raises",
		Description: `Examples:
  lakectl alerts tail
  lakectl alerts tail --min-severity high
  lakectl alerts tail --from-beginning --format json | jq .rule_name`,
		Commands: []*cli.Command{{
			Name:  "tail",
			Usage: "print alerts as they arrive (committed records only)",
			Description: `Each line: alert time, severity, rule and version, account, amount, merchant and
country, the rule's explanation and the transaction id. No consumer group is used, so
tailing never appears as consumer lag.

Examples:
  lakectl alerts tail
  lakectl alerts tail --min-severity medium --from-beginning
  lakectl alerts tail --max 10 --format json`,
			Flags: append(tailFlags(contract.Alerts), &cli.StringFlag{Name: "min-severity", Value: "low",
				Usage: "show alerts of this severity and above: low, medium, high, critical"}),
			Action: func(ctx context.Context, cmd *cli.Command) error {
				if err := checkTailFormat(cmd); err != nil {
					return err
				}
				min := rules.SeverityRank(cmd.String("min-severity"))
				if min == 0 {
					return badInput("--min-severity %q: want one of %s", cmd.String("min-severity"), strings.Join(rules.Severities, ", "))
				}
				w := cmd.Root().Writer
				err := tail.Follow(ctx, tail.Options{Brokers: brokerList(cmd), Topic: cmd.String("topic"),
					FromBeginning: cmd.Bool("from-beginning"), Max: int(cmd.Int("max")),
					Filter: func(r *kgo.Record) bool {
						a, err := contract.DecodeAlert(r.Value)
						if err != nil {
							slog.Warn("skipping undecodable alert", "partition", r.Partition, "offset", r.Offset, "err", err)
							return false
						}
						return rules.SeverityRank(a.Severity) >= min
					}}, func(r *kgo.Record) error {
					a, err := contract.DecodeAlert(r.Value)
					if err != nil {
						return err
					}
					if cmd.String("format") == "json" {
						_, err = fmt.Fprintf(w, "%s\n", r.Value)
					} else {
						_, err = fmt.Fprintln(w, tail.FormatAlert(a, r.Timestamp))
					}
					return err
				})
				if err != nil {
					return cli.Exit(err.Error(), exitFailure)
				}
				return nil
			},
		}},
	})
	register(&cli.Command{
		Name:  "dlq",
		Usage: "follow the dead-letter topic: invalid events and why they were rejected",
		Description: `Examples:
  lakectl dlq tail
  lakectl dlq tail --from-beginning --max 20`,
		Commands: []*cli.Command{{
			Name:  "tail",
			Usage: "print dead letters as they arrive: source offset, every validation error, the raw value",
			Description: `Examples:
  lakectl dlq tail
  lakectl dlq tail --from-beginning --format json | jq '.errors[].rule'`,
			Flags: append(tailFlags(contract.DeadLetter), &cli.IntFlag{Name: "raw-chars", Value: 200, Usage: "show at most N characters of the raw value (0: all)"}),
			Action: func(ctx context.Context, cmd *cli.Command) error {
				if err := checkTailFormat(cmd); err != nil {
					return err
				}
				w := cmd.Root().Writer
				err := tail.Follow(ctx, tail.Options{Brokers: brokerList(cmd), Topic: cmd.String("topic"),
					FromBeginning: cmd.Bool("from-beginning"), Max: int(cmd.Int("max"))}, func(r *kgo.Record) error {
					if cmd.String("format") == "json" {
						_, err := fmt.Fprintf(w, "%s\n", r.Value)
						return err
					}
					d, err := contract.DecodeDeadLetter(r.Value)
					if err != nil {
						_, err = fmt.Fprintf(w, "undecodable dead letter at %s[%d]@%d: %s\n", r.Topic, r.Partition, r.Offset, r.Value)
						return err
					}
					_, err = fmt.Fprintln(w, tail.FormatDeadLetter(d, int(cmd.Int("raw-chars"))))
					return err
				})
				if err != nil {
					return cli.Exit(err.Error(), exitFailure)
				}
				return nil
			},
		}},
	})
}
