package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/internal/termout"
	"github.com/finlake/finlake/rules"
)

// Exit codes shared by the client commands: 1 a runtime failure (a service
// unreachable, a query failing), 2 bad input (flags, a configuration file, SQL
// parameters) that the user has to fix before retrying.
const (
	exitFailure  = 1
	exitBadInput = 2
)

func badInput(format string, args ...any) error {
	return cli.Exit("lakectl: "+fmt.Sprintf(format, args...), exitBadInput)
}

func rulesKafka(cmd *cli.Command) rules.Kafka {
	return rules.Kafka{Brokers: brokerList(cmd), Topic: cmd.String("topic")}
}

func topicFlag() cli.Flag {
	return &cli.StringFlag{Name: "topic", Value: contract.AlertRules, Usage: "the compacted rules topic"}
}

func fxFlag() cli.Flag {
	return &cli.StringFlag{Name: "fx", Usage: "FX table to publish with the rules (default: fx_rates.yaml next to FILE; \"\" to leave the live table alone)"}
}

// fxPath resolves --fx: explicit wins (even ""), else the file next to FILE.
// Whether that file exists is left to rules.LoadFiles, which reports it after
// the rules file's own problems.
func fxPath(cmd *cli.Command, rulesFile string) string {
	if cmd.IsSet("fx") {
		return cmd.String("fx")
	}
	return filepath.Join(filepath.Dir(rulesFile), "fx_rates.yaml")
}

func rulesFileArg(cmd *cli.Command) (string, error) {
	if cmd.Args().Len() != 1 {
		return "", badInput("%s needs exactly one argument, the rules file (e.g. config/rules.yaml)", cmd.FullName())
	}
	return cmd.Args().First(), nil
}

// loadRules validates the files; an invalid configuration is bad input.
func loadRules(cmd *cli.Command) (rules.Set, error) {
	file, err := rulesFileArg(cmd)
	if err != nil {
		return rules.Set{}, err
	}
	set, err := rules.LoadFiles(file, fxPath(cmd, file))
	var ve *rules.ValidationError
	if errors.As(err, &ve) {
		msg := ve.Error()
		switch cmd.Name {
		case "validate":
		case "backtest":
			msg += "\nthe backtest did not run; fix the lines above and run again"
		default:
			msg += "\nnothing was published; fix the lines above and run again"
		}
		return rules.Set{}, cli.Exit(msg, exitBadInput)
	}
	if err != nil {
		return rules.Set{}, cli.Exit(err.Error(), exitBadInput)
	}
	return set, nil
}

func init() {
	register(&cli.Command{
		Name:  "rules",
		Usage: "validate, publish, show and watch the fraud rules on the alert-rules topic",
		Description: `Rules live in config/rules.yaml (and the FX table in config/fx_rates.yaml). lakectl
validates them, compares them with the live set on the compacted topic alert-rules,
bumps the version of every changed rule (new rules start at 1), publishes the changes
in one Kafka transaction and deletes removed rules with tombstones. The Flink job
applies them to later events without a restart.

Examples:
  lakectl rules validate config/rules.yaml
  lakectl rules apply config/rules.yaml --dry-run
  lakectl rules apply config/rules.yaml --fx config/fx_rates.yaml
  lakectl rules show --format json
  lakectl rules watch config/rules.yaml`,
		Commands: append([]*cli.Command{rulesValidateCmd(), rulesApplyCmd(), rulesShowCmd(), rulesWatchCmd()}, rulesExtra...),
	})
}

func rulesValidateCmd() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check a rules file (and its FX table) without touching Kafka",
		ArgsUsage: "FILE",
		Description: `Prints every problem with file:line:column, exit code 2 when there is any.

Examples:
  lakectl rules validate config/rules.yaml
  lakectl rules validate my-rules.yaml --fx config/fx_rates.yaml`,
		Flags: []cli.Flag{fxFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			set, err := loadRules(cmd)
			if err != nil {
				return err
			}
			fx := "no FX table"
			if set.FX != nil {
				fx = fmt.Sprintf("FX table with %d currencies", len(set.FX.USDPerUnit))
			}
			fmt.Fprintf(cmd.Root().Writer, "ok: %d rules, %s\n", len(set.Rules), fx)
			return nil
		},
	}
}

func rulesApplyCmd() *cli.Command {
	return &cli.Command{
		Name:      "apply",
		Usage:     "validate FILE, show the changes against the live rules and publish them",
		ArgsUsage: "FILE",
		Description: `A changed rule gets version = live version + 1, a new one version 1; a rule missing
from FILE is deleted (tombstone). The FX table gets max(file version, live + 1) when it
changed. All records go in one Kafka transaction.

Examples:
  lakectl rules apply config/rules.yaml
  lakectl rules apply config/rules.yaml --dry-run
  lakectl rules apply config/rules.yaml --fx config/fx_rates.yaml --brokers 127.0.0.1:9092`,
		Flags: []cli.Flag{fxFlag(), brokersFlag(), topicFlag(),
			&cli.BoolFlag{Name: "dry-run", Usage: "show the changes, publish nothing"}},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			set, err := loadRules(cmd)
			if err != nil {
				return err
			}
			live, err := rulesKafka(cmd).ReadLive(ctx)
			if err != nil {
				return cli.Exit(err.Error(), exitFailure)
			}
			plan := rules.Diff(live, set)
			w := cmd.Root().Writer
			if err := printPlan(w, plan); err != nil {
				return err
			}
			if plan.Pending() == 0 {
				fmt.Fprintln(w, "the live rules already match; nothing to publish")
				return nil
			}
			if cmd.Bool("dry-run") {
				fmt.Fprintf(w, "dry run: %d change(s) not published\n", plan.Pending())
				return nil
			}
			n, err := rulesKafka(cmd).Publish(ctx, plan)
			if err != nil {
				return cli.Exit(err.Error(), exitFailure)
			}
			fmt.Fprintf(w, "published %d record(s) to %s\n", n, rulesKafka(cmd).Topic)
			return nil
		},
	}
}

func printPlan(w io.Writer, p rules.Plan) error {
	var rows [][]string
	for _, c := range p.Changes {
		ver := func(v any) string {
			switch x := v.(type) {
			case *rules.Rule:
				return strconv.FormatInt(x.Version, 10)
			case *rules.FXTable:
				return strconv.FormatInt(x.Version, 10)
			}
			return "-"
		}
		version := ver(c.New)
		if c.Kind == rules.Update || c.Kind == rules.Delete {
			version = ver(c.Old) + " → " + ver(c.New)
		}
		details := strings.Join(c.Details, "; ")
		if c.Kind == rules.Add {
			if r, ok := c.New.(*rules.Rule); ok {
				details = fmt.Sprintf("%s %s %s", r.Type, r.Severity, rules.ParamsString(r.Params))
			}
		}
		rows = append(rows, []string{c.Key, c.Kind, version, details})
	}
	return termout.Render(w, []string{"key", "change", "version", "details"}, rows)
}

func rulesShowCmd() *cli.Command {
	return &cli.Command{
		Name:  "show",
		Usage: "print the live rules as the Flink job sees them (read back from alert-rules)",
		Description: `Reads the compacted topic from the beginning to its end (committed records only) and
keeps the latest record per rule; deleted rules are not shown. The job column says whether the Flink
job rejected that record (its dead letter on --dead-letter-topic, with the field and check; the job then
keeps the rule's previous version in force); "-" means no rejection was found.

Examples:
  lakectl rules show
  lakectl rules show --format json | jq '.rules[] | select(.enabled)'`,
		Flags: []cli.Flag{brokersFlag(), topicFlag(),
			&cli.StringFlag{Name: "dead-letter-topic", Value: contract.DeadLetter, Usage: "where the job dead-letters rules it rejects"},
			tableOrJSONFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			asJSON, err := wantJSON(cmd)
			if err != nil {
				return err
			}
			live, err := rulesKafka(cmd).ReadLive(ctx)
			if err != nil {
				return cli.Exit(err.Error(), exitFailure)
			}
			rejected, err := rulesKafka(cmd).Rejections(ctx, live, cmd.String("dead-letter-topic"))
			if err != nil {
				return cli.Exit(err.Error(), exitFailure)
			}
			w := cmd.Root().Writer
			if asJSON {
				out := struct {
					Rules    []rules.Rule               `json:"rules"`
					FX       *rules.FXTable             `json:"fx_rates"`
					Rejected map[string]rules.Rejection `json:"rejected_by_job"`
				}{Rules: []rules.Rule{}, FX: live.FX, Rejected: rejected}
				for _, n := range live.Names() {
					out.Rules = append(out.Rules, live.Rules[n])
				}
				return writeJSON(w, out)
			}
			var rows [][]string
			for _, n := range live.Names() {
				r := live.Rules[n]
				rows = append(rows, []string{r.Name, r.Type, strconv.FormatInt(r.Version, 10),
					strconv.FormatBool(r.Enabled), r.Severity, rules.ParamsString(r.Params), jobVerdict(rejected, n), r.Description})
			}
			if err := termout.Render(w, []string{"rule_name", "rule_type", "version", "enabled", "severity", "params", "job", "description"}, rows); err != nil {
				return err
			}
			if j, ok := rejected[rules.FXKey]; ok && live.FX != nil {
				fmt.Fprintf(w, "the job REJECTED FX table v%d and keeps the previous one: %s\n", live.FX.Version, jobVerdict(map[string]rules.Rejection{"": j}, ""))
			}
			if live.FX != nil {
				var parts []string
				for _, c := range sortedKeys(live.FX.USDPerUnit) {
					parts = append(parts, c+"="+string(live.FX.USDPerUnit[c]))
				}
				fmt.Fprintf(w, "FX table v%d (USD per unit): %s\n", live.FX.Version, strings.Join(parts, " "))
			} else {
				fmt.Fprintln(w, "no FX table published (lakectl rules apply FILE --fx config/fx_rates.yaml)")
			}
			return nil
		},
	}
}

// jobVerdict is the job column of rules show: the rejection of the rule's
// live record, or "-".
func jobVerdict(rejected map[string]rules.Rejection, name string) string {
	rj, ok := rejected[name]
	if !ok {
		return "-"
	}
	var parts []string
	for _, e := range rj.Errors {
		parts = append(parts, fmt.Sprintf("%s %s (expected %s, got %s)", e.Field, e.Rule, e.Expected, e.Actual))
	}
	return "REJECTED: " + strings.Join(parts, "; ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func rulesWatchCmd() *cli.Command {
	return &cli.Command{
		Name:      "watch",
		Usage:     "apply FILE now and again on every change, until interrupted",
		ArgsUsage: "FILE",
		Description: `Watches the directory of FILE (and of the FX table), so editors that save by renaming
are seen. Changes are debounced. An invalid file is logged with its line numbers and
nothing is published: the job keeps the last good rules, and the watch keeps running.
A Kafka failure is retried.

Examples:
  lakectl rules watch config/rules.yaml
  lakectl --log-format text rules watch config/rules.yaml --fx config/fx_rates.yaml`,
		Flags: []cli.Flag{fxFlag(), brokersFlag(), topicFlag(),
			&cli.DurationFlag{Name: "debounce", Value: 300_000_000, Usage: "quiet time after a change before applying"}},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			file, err := rulesFileArg(cmd)
			if err != nil {
				return err
			}
			// The watch needs the FX file's directory up front, so a missing
			// default table stops it here rather than on every change.
			fx := fxPath(cmd, file)
			if _, err := os.Stat(fx); err != nil && !cmd.IsSet("fx") {
				return badInput("no FX table at %s: pass --fx PATH, or --fx \"\" to leave the live FX table alone", fx)
			}
			err = rules.Watch(ctx, rules.WatchOptions{RulesPath: file, FXPath: fx, Kafka: rulesKafka(cmd), Debounce: cmd.Duration("debounce")})
			if err != nil {
				return cli.Exit(err.Error(), exitFailure)
			}
			return nil
		},
	}
}
