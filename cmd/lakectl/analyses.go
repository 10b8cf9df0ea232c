package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/finlake/finlake/analytics"
	"github.com/finlake/finlake/analytics/queries"
	"github.com/finlake/finlake/internal/termout"
)

const defaultQueriesDir = "analytics/queries"

func queriesDirFlag() cli.Flag {
	return &cli.StringFlag{Name: "queries-dir", Sources: cli.EnvVars("FINLAKE_QUERIES"),
		Usage: "directory of saved analyses (default ./analytics/queries when it exists, else the copy built into lakectl)"}
}

// loadAnalyses reads the saved analyses from --queries-dir, ./analytics/queries
// or, outside a checkout, the copy embedded in the binary.
func loadAnalyses(cmd *cli.Command) ([]analytics.Analysis, string, error) {
	dir := cmd.String("queries-dir")
	var fsys fs.FS
	from := dir
	switch {
	case dir != "":
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, "", badInput("--queries-dir %s: not a directory", dir)
		}
		fsys = os.DirFS(dir)
	default:
		if st, err := os.Stat(defaultQueriesDir); err == nil && st.IsDir() {
			fsys, from = os.DirFS(defaultQueriesDir), defaultQueriesDir
		} else {
			fsys, from = queries.FS, "built-in"
		}
	}
	all, err := analytics.Load(fsys)
	if err != nil {
		return nil, from, badInput("saved analyses in %s: %v", from, err)
	}
	return all, from, nil
}

func paramSummary(ps []analytics.Param) string {
	var parts []string
	for _, p := range ps {
		s := p.Name + " " + p.Type
		if p.Default != "" {
			s += " = " + p.Default
		} else {
			s += " (required)"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "\n")
}

func init() {
	register(&cli.Command{
		Name:  "analyses",
		Usage: "list the saved analyses that lakectl run can run",
		Description: `Saved analyses are the .sql files of analytics/queries, each with a header:

  -- name: daily_volume
  -- description: Transactions and volume per day, currency and transaction type
  -- param: from date default current_date - INTERVAL 7 DAY

Parameter types: date, timestamp, bigint, double, varchar, boolean, asof (a snapshot id
or time that expands to a whole FOR ... AS OF clause). Defaults are SQL expressions.

Examples:
  lakectl analyses
  lakectl analyses --format json | jq '.[].name'`,
		Flags: []cli.Flag{queriesDirFlag(), tableOrJSONFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			asJSON, err := wantJSON(cmd)
			if err != nil {
				return err
			}
			all, from, err := loadAnalyses(cmd)
			if err != nil {
				return err
			}
			w := cmd.Root().Writer
			if asJSON {
				type jp struct {
					Name    string `json:"name"`
					Type    string `json:"type"`
					Default string `json:"default,omitempty"`
				}
				type ja struct {
					Name        string `json:"name"`
					Description string `json:"description"`
					File        string `json:"file"`
					Params      []jp   `json:"params"`
				}
				out := []ja{}
				for _, a := range all {
					j := ja{Name: a.Name, Description: a.Description, File: a.File, Params: []jp{}}
					for _, p := range a.Params {
						j.Params = append(j.Params, jp{p.Name, p.Type, p.Default})
					}
					out = append(out, j)
				}
				return writeJSON(w, out)
			}
			var rows [][]string
			for _, a := range all {
				rows = append(rows, []string{a.Name, paramSummary(a.Params), a.Description})
			}
			if err := termout.Render(w, []string{"name", "params", "description"}, rows); err != nil {
				return err
			}
			fmt.Fprintf(w, "%d analyses (%s); run one with: lakectl run NAME [--param k=v] [--as-of -1h]\n", len(all), from)
			return nil
		},
	})
	register(&cli.Command{
		Name:      "run",
		Usage:     "run a saved analysis (see lakectl analyses) through the Flight SQL server",
		ArgsUsage: "NAME",
		Description: `Parameters are checked against their declared types and substituted as SQL literals
(strings quoted, dates/timestamps/numbers validated), so a value can never become SQL.
Parameters not given take their default.

Examples:
  lakectl run daily_volume
  lakectl run daily_volume --param from=2026-11-20 --param to=2026-11-26 --format csv
  lakectl run top_flagged_accounts --param top=5 --as-of -1h
  lakectl run snapshot_diff --param before=-30m
  lakectl run top_flagged_accounts --mask
  lakectl run alerts_with_transactions --param min_severity=high --show-sql`,
		Flags: append(append(append(flightFlags(), asOfFlags()...), outputFlags()...), maskFlag(), queriesDirFlag(),
			&cli.StringSliceFlag{Name: "param", Aliases: []string{"p"}, Usage: "name=value (repeatable)"},
			&cli.BoolFlag{Name: "show-sql", Usage: "print the SQL that would run and exit"}),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() != 1 {
				return badInput("run needs one analysis name (lakectl analyses lists them)")
			}
			if err := checkFormat(cmd); err != nil {
				return err
			}
			all, _, err := loadAnalyses(cmd)
			if err != nil {
				return err
			}
			a, err := analytics.Find(all, cmd.Args().First())
			if err != nil {
				return badInput("%v", err)
			}
			params, err := analytics.ParseParams(cmd.StringSlice("param"))
			if err != nil {
				return badInput("%v", err)
			}
			sql, err := a.Render(params, time.Now())
			if err != nil {
				return badInput("%v", err)
			}
			if cmd.Bool("show-sql") {
				fmt.Fprintln(cmd.Root().Writer, sql)
				return nil
			}
			return runSQL(ctx, cmd, sql)
		},
	})
}
