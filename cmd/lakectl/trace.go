package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/internal/termout"
	"github.com/finlake/finlake/trace"
)

func init() {
	register(&cli.Command{
		Name:      "trace",
		Usage:     "the story of one transaction: raw events, dead letters, lake rows and alerts",
		ArgsUsage: "TRANSACTION_ID",
		Description: `An investigator's first command. Shows the transaction's raw records on raw-transactions
(partition, offset, generation time, whether the job dead-lettered it), its dead letters
(every failed check), its rows in lake.transactions with the snapshot that first held each,
and its alerts in lake.alerts with the rule versions that raised them. The lake is read
through the Flight SQL server (lakectl serve, optionally --as-of), Kafka directly: the
dead-letter topic is scanned whole, raw-transactions from the earliest generation time
the lake rows and dead letters name. --no-kafka shows the lake's side only.

Examples:
  lakectl trace 0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10
  lakectl trace 0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10 --format json | jq .alerts`,
		Flags: append(append(flightFlags(), asOfFlags()...), brokersFlag(), tableOrJSONFlag(),
			&cli.BoolFlag{Name: "no-kafka", Usage: "do not read Kafka (raw events and dead letters)"},
			&cli.StringFlag{Name: "raw-topic", Value: contract.RawTransactions, Usage: "the raw transactions topic"},
			&cli.StringFlag{Name: "dead-letter-topic", Value: contract.DeadLetter, Usage: "the dead-letter topic"}),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			asJSON, err := wantJSON(cmd)
			if err != nil {
				return err
			}
			if cmd.Args().Len() != 1 || strings.TrimSpace(cmd.Args().First()) == "" {
				return badInput("trace needs exactly one argument, the transaction_id")
			}
			cl, err := openFlight(ctx, cmd)
			if err != nil {
				return err
			}
			defer cl.Close()
			o := trace.Options{Client: cl, RawTopic: cmd.String("raw-topic"), DeadLetterTopic: cmd.String("dead-letter-topic")}
			if !cmd.Bool("no-kafka") {
				o.Brokers = brokerList(cmd)
			}
			st, err := trace.Find(ctx, cmd.Args().First(), o)
			if errors.Is(err, trace.ErrNotFound) {
				return cli.Exit("lakectl: "+err.Error(), exitFailure)
			}
			if err != nil {
				return flightExit(err)
			}
			w := cmd.Root().Writer
			if asJSON {
				return writeJSON(w, st)
			}
			return renderStory(w, st)
		},
	})
}

func renderStory(w io.Writer, st *trace.Story) error {
	fmt.Fprintf(w, "transaction %s\n", st.TransactionID)
	section := func(title string, header []string, rows [][]string) error {
		fmt.Fprintf(w, "%s: %d\n", title, len(rows))
		if len(rows) == 0 {
			return nil
		}
		return termout.Render(w, header, rows)
	}
	var rows [][]string
	for _, e := range st.RawEvents {
		rows = append(rows, []string{e.Topic, strconv.Itoa(int(e.Partition)), strconv.FormatInt(e.Offset, 10), e.Timestamp, e.Status, strconv.FormatBool(e.DeadLettered)})
	}
	if err := section("raw events", []string{"topic", "partition", "offset", "generated", "status", "dead-lettered"}, rows); err != nil {
		return err
	}
	rows = nil
	for _, d := range st.DeadLetters {
		var errs []string
		for _, e := range d.Errors {
			errs = append(errs, fmt.Sprintf("%s %s (expected %s, got %s)", e.Field, e.Rule, e.Expected, e.Actual))
		}
		rows = append(rows, []string{fmt.Sprintf("%d:%d", d.Partition, d.Offset), fmt.Sprintf("%s %d:%d", d.Source.Topic, d.Source.Partition, d.Source.Offset),
			d.DeadLetteredAt, strings.Join(errs, "; ")})
	}
	if err := section("dead letters", []string{"dead-letter p:offset", "source", "dead-lettered at", "errors"}, rows); err != nil {
		return err
	}
	rows = nil
	for _, r := range st.LakeRows {
		rows = append(rows, []string{r.Status, r.Timestamp, r.AccountID, r.Amount + " " + r.Currency, r.AmountUSD, r.IsFlagged,
			fmt.Sprintf("%d:%d", r.KafkaPartition, r.KafkaOffset), r.FirstSnapshot + " @ " + r.FirstSnapshotAt})
	}
	if err := section("lake.transactions rows", []string{"status", "timestamp", "account", "amount", "amount_usd", "is_flagged", "processed p:offset", "first snapshot"}, rows); err != nil {
		return err
	}
	rows = nil
	for _, a := range st.Alerts {
		rows = append(rows, []string{a.Rule, a.RuleVersion, a.Severity, a.AlertTimestamp, a.FirstSnapshot + " @ " + a.FirstSnapshotAt, a.Description})
	}
	if err := section("alerts", []string{"rule", "version", "severity", "raised", "first snapshot", "description"}, rows); err != nil {
		return err
	}
	for _, n := range st.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	return nil
}
