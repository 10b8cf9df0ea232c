package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/urfave/cli/v3"

	"github.com/finlake/finlake/analytics"
	"github.com/finlake/finlake/flight/client"
	"github.com/finlake/finlake/flight/sqlrewrite"
	"github.com/finlake/finlake/internal/termout"
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// tableArg accepts "transactions" or "lake.transactions".
func tableArg(cmd *cli.Command) (string, error) {
	if cmd.Args().Len() < 1 {
		return "", badInput("%s needs a table name (lakectl tables lists them)", cmd.FullName())
	}
	name := strings.TrimPrefix(cmd.Args().First(), "lake.")
	if !identRE.MatchString(name) {
		return "", badInput("table %q: a table name is letters, digits and _ (e.g. transactions)", cmd.Args().First())
	}
	return name, nil
}

func init() {
	register(&cli.Command{
		Name:  "evolve",
		Usage: "evolve a table's schema without rewriting data (admin)",
		Description: `Examples:
  lakectl evolve add-column transactions risk_score double --comment "model score, 0..1"
  FINLAKE_TOKEN=$ADMIN_TOKEN lakectl evolve add-column alerts reviewed boolean`,
		Commands: []*cli.Command{{
			Name:      "add-column",
			Usage:     "add an optional column; older rows read NULL",
			ArgsUsage: "TABLE NAME TYPE",
			Description: `Sends ALTER TABLE lake.TABLE ADD COLUMN NAME TYPE [COMMENT '...'] to the Flight SQL
server, which commits an Iceberg schema change (no data rewrite), then prints the new
schema. Needs the admin token (FINLAKE_TOKEN) when the server has auth on; without
auth, only clients on the same machine may do it.

Types: boolean, int, bigint, float, double, decimal(P,S), date, time, timestamp,
timestamptz, string (varchar), uuid, binary.

Examples:
  lakectl evolve add-column transactions risk_score double --comment "fraud model score"
  lakectl evolve add-column lake.alerts analyst_note string`,
			Flags: append(flightFlags(), &cli.StringFlag{Name: "comment", Usage: "column documentation"}),
			Action: func(ctx context.Context, cmd *cli.Command) error {
				if cmd.Args().Len() != 3 {
					return badInput("add-column needs TABLE NAME TYPE, e.g. transactions risk_score double")
				}
				table, err := tableArg(cmd)
				if err != nil {
					return err
				}
				col, typ := cmd.Args().Get(1), cmd.Args().Get(2)
				if !identRE.MatchString(col) {
					return badInput("column %q: letters, digits and _, not starting with a digit", col)
				}
				sql := fmt.Sprintf("ALTER TABLE lake.%s ADD COLUMN %s %s", table, col, typ)
				if c := cmd.String("comment"); c != "" {
					sql += " COMMENT " + analytics.QuoteString(c)
				}
				// The server's own parser: a bad type is reported here, before
				// any connection, with the same list of types the server takes.
				toks, err := sqlrewrite.Tokenize(sql)
				if err == nil {
					_, err = sqlrewrite.ParseAddColumn(toks, "lake")
				}
				if err != nil {
					return badInput("%v", err)
				}
				cl, err := openFlight(ctx, cmd)
				if err != nil {
					return err
				}
				defer cl.Close()
				before, err := currentSchema(ctx, cl, table)
				if err != nil {
					return flightExit(err)
				}
				for _, f := range before.Fields() {
					if strings.EqualFold(f.Name, col) {
						return badInput("lake.%s already has a column %s (%s); pick another name", table, f.Name, sqlType(f.Type))
					}
				}
				rows, err := cl.Query(ctx, sql)
				if err != nil {
					return flightExit(err)
				}
				w := cmd.Root().Writer
				for rows.Next() {
					rec := rows.RecordBatch()
					for i := 0; i < int(rec.NumRows()); i++ {
						fmt.Fprintln(w, client.Text(rec.Column(0), i))
					}
				}
				err = rows.Err()
				rows.Close()
				if err != nil {
					return flightExit(client.Explain(cl.Config(), err))
				}
				schema, err := currentSchema(ctx, cl, table)
				if err != nil {
					return flightExit(err)
				}
				return printSchema(w, schema, col)
			},
		}},
	})
}

// currentSchema asks the server for the columns a query of table sees (at
// the client's as-of, when set).
func currentSchema(ctx context.Context, cl *client.Client, table string) (*arrow.Schema, error) {
	rows, err := cl.Query(ctx, "SELECT * FROM lake."+table+" LIMIT 0")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Schema(), rows.Err()
}

func printSchema(w interface{ Write([]byte) (int, error) }, s *arrow.Schema, mark string) error {
	var rows [][]string
	for _, f := range s.Fields() {
		note := ""
		if f.Name == mark {
			note = "← new"
		}
		rows = append(rows, []string{f.Name, sqlType(f.Type), fmt.Sprint(f.Nullable), note})
	}
	return termout.Render(w, []string{"column", "type", "nullable", ""}, rows)
}

// sqlType names an Arrow type the way the ALTER TABLE statement and Iceberg do.
func sqlType(t arrow.DataType) string {
	switch v := t.(type) {
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return "string"
	case *arrow.TimestampType:
		if v.TimeZone != "" {
			return "timestamptz"
		}
		return "timestamp"
	case *arrow.Decimal128Type:
		return fmt.Sprintf("decimal(%d,%d)", v.Precision, v.Scale)
	case *arrow.Date32Type:
		return "date"
	case *arrow.BooleanType:
		return "boolean"
	case *arrow.Int32Type:
		return "int"
	case *arrow.Int64Type:
		return "bigint"
	case *arrow.Float32Type:
		return "float"
	case *arrow.Float64Type:
		return "double"
	case *arrow.BinaryType, *arrow.LargeBinaryType:
		return "binary"
	case *arrow.Time64Type:
		return "time"
	}
	return t.String()
}
