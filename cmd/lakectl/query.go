package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v3"
	"golang.org/x/term"

	"github.com/finlake/finlake/analytics"
	"github.com/finlake/finlake/flight/client"
)

func flightFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "flight", Value: client.DefaultURI, Sources: cli.EnvVars("FINLAKE_FLIGHT"),
			Usage: "Flight SQL server (lakectl serve)"},
		&cli.StringFlag{Name: "token", Sources: cli.EnvVars("FINLAKE_TOKEN"),
			Usage: "bearer token when the server requires one (prefer the FINLAKE_TOKEN variable: flags show in ps)"},
	}
}

func asOfFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "as-of", Usage: "pin every table to this instant: RFC 3339 (2026-11-26T01:00:00Z), a date (UTC) or relative (-15m, -2h, -1d)"},
		&cli.StringFlag{Name: "snapshot", Usage: "pin to an Iceberg snapshot id (lakectl snapshots TABLE lists them)"},
	}
}

// maskFlag asks the server to mask the call like a share token's: every
// account_id a pseudonym (the server enforces it; see README, Sharing).
func maskFlag() cli.Flag {
	return &cli.BoolFlag{Name: "mask", Usage: "get account_id as the server's pseudonyms, as a share token would (for results you pass on)"}
}

func outputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "format", Value: "table", Usage: "table, csv, json or jsonl (csv/json/jsonl stream rows as they arrive)"},
		&cli.IntFlag{Name: "max-rows", Value: 1000, Usage: "rows shown by --format table (others are unlimited)"},
	}
}

// flightConfig builds the connection settings, resolving --as-of/--snapshot.
func flightConfig(cmd *cli.Command) (client.Config, error) {
	cfg := client.Config{URI: cmd.String("flight"), Token: cmd.String("token"), Mask: cmd.Bool("mask")}
	asOf, snap := cmd.String("as-of"), cmd.String("snapshot")
	if asOf != "" && snap != "" {
		return cfg, badInput("--as-of and --snapshot both pin the query; give one")
	}
	if snap != "" {
		for _, c := range snap {
			if c < '0' || c > '9' {
				return cfg, badInput("--snapshot %q: a snapshot id is a number (lakectl snapshots TABLE lists them)", snap)
			}
		}
		cfg.AsOf = snap
	}
	if asOf != "" {
		v, err := client.ResolveAsOf(asOf, time.Now())
		if err != nil {
			return cfg, badInput("%v", err)
		}
		cfg.AsOf = v
	}
	return cfg, nil
}

// flightExit maps a Flight SQL failure to an exit: the server refusing the
// SQL (syntax, unknown table, bad as-of) is bad input, the rest a failure.
func flightExit(err error) error {
	var fe *client.Error
	if errors.As(err, &fe) && fe.Kind == client.KindInvalid {
		return cli.Exit("lakectl: "+err.Error(), exitBadInput)
	}
	return cli.Exit("lakectl: "+err.Error(), exitFailure)
}

// writeJSON is every command's --format json (or --json) output: v indented, one document.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func checkFormat(cmd *cli.Command) error {
	f := cmd.String("format")
	for _, ok := range client.Formats {
		if f == ok {
			return nil
		}
	}
	return badInput("--format %q: want %s", f, strings.Join(client.Formats, ", "))
}

// runSQL sends sql and streams the result to the command's writer.
func runSQL(ctx context.Context, cmd *cli.Command, sql string) error {
	cl, err := openFlight(ctx, cmd)
	if err != nil {
		return err
	}
	defer cl.Close()
	rows, err := cl.Query(ctx, sql)
	if err != nil {
		return flightExit(err)
	}
	defer rows.Close()
	if at := cl.Config().AsOf; at != "" {
		// Time travel answers from the newest kept snapshot at or before the
		// instant: say which, on stderr so the result stays clean.
		fmt.Fprint(cmd.Root().ErrWriter, client.AnsweredByText(at, rows.AnsweredBy()))
	}
	if _, err := client.Write(cmd.Root().Writer, rows, client.WriteOptions{
		Format: cmd.String("format"), MaxTableRows: int(cmd.Int("max-rows"))}); err != nil {
		return flightExit(client.Explain(cl.Config(), err))
	}
	return nil
}

func init() {
	register(&cli.Command{
		Name:      "query",
		Usage:     "run SQL against the lake through the Flight SQL server, optionally as of a past instant",
		ArgsUsage: "[SQL]",
		Description: `The SQL comes from the arguments, from -f FILE, or from standard input. Tables are
lake.transactions, lake.alerts, lake.pipeline_runs (or without "lake."); per-table time
travel is FOR TIMESTAMP AS OF TIMESTAMP '...' / FOR VERSION AS OF <id>; metadata tables
are "transactions$snapshots", "transactions$history", "transactions$files".

--as-of / --snapshot pin every table of the query (the x-finlake-as-of call header); an
instant answers from the newest kept snapshot at or before it (see lakectl maintain for
what retention keeps), and stderr names the snapshot that answered for each table. An
instant before the oldest kept snapshot, or an expired snapshot id, is an error naming
the oldest instant still available.
--param name=value replaces :name in the SQL by a literal typed by its look (integer,
decimal, true/false, else a quoted string); saved analyses (lakectl run) declare types.

Examples:
  lakectl query "SELECT count(*) FROM lake.transactions"
  lakectl query --as-of -15m "SELECT status, count(*) FROM transactions GROUP BY status"
  lakectl query --snapshot 4170283520932425 -f report.sql --format csv > report.csv
  lakectl query --param acct=AC0001234 "SELECT * FROM lake.alerts WHERE account_id = :acct"
  echo 'SELECT * FROM "transactions$snapshots"' | lakectl query --format jsonl
  lakectl query --mask --format csv "SELECT * FROM lake.alerts" > alerts-to-share.csv`,
		Flags: append(append(append(flightFlags(), asOfFlags()...), outputFlags()...), maskFlag(),
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "read the SQL from FILE"},
			&cli.StringSliceFlag{Name: "param", Aliases: []string{"p"}, Usage: "name=value for :name in the SQL (repeatable)"}),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if err := checkFormat(cmd); err != nil {
				return err
			}
			sql, err := readSQL(cmd)
			if err != nil {
				return err
			}
			params, err := analytics.ParseParams(cmd.StringSlice("param"))
			if err != nil {
				return badInput("%v", err)
			}
			lits := map[string]string{}
			for k, v := range params {
				if lits[k], err = analytics.Literal(analytics.InferType(v), v, time.Now()); err != nil {
					return badInput("--param %s: %v", k, err)
				}
			}
			if sql, err = analytics.Substitute(sql, lits); err != nil {
				return badInput("%v", err)
			}
			return runSQL(ctx, cmd, sql)
		},
	})
}

func readSQL(cmd *cli.Command) (string, error) {
	file := cmd.String("file")
	args := strings.TrimSpace(strings.Join(cmd.Args().Slice(), " "))
	switch {
	case file != "" && args != "":
		return "", badInput("give the SQL as an argument or with -f, not both")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", badInput("read SQL: %v", err)
		}
		return string(b), nil
	case args != "":
		return args, nil
	}
	in := cmd.Root().Reader
	if in == nil {
		in = os.Stdin
	}
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return "", badInput("no SQL: give it as an argument, with -f FILE, or on standard input (see lakectl query --help)")
	}
	b, err := io.ReadAll(in)
	if err != nil {
		return "", fmt.Errorf("read SQL from stdin: %w", err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return "", badInput("no SQL on standard input")
	}
	return string(b), nil
}
