package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/finlake/finlake/flight/client"
	"github.com/finlake/finlake/internal/termout"
	"github.com/finlake/finlake/lake"
)

func openFlight(ctx context.Context, cmd *cli.Command) (*client.Client, error) {
	cfg, err := flightConfig(cmd)
	if err != nil {
		return nil, err
	}
	cl, err := client.Open(ctx, cfg)
	if err != nil {
		return nil, flightExit(err)
	}
	return cl, nil
}

func init() {
	register(&cli.Command{
		Name:  "tables",
		Usage: "list the lake's tables with rows, data files and snapshots",
		Description: `Lists the tables the Flight SQL server offers (Flight SQL GetTables) with the row and
file counts of their current snapshot.

Examples:
  lakectl tables
  lakectl tables --as-of -1h`,
		Flags: append(flightFlags(), asOfFlags()...),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			cl, err := openFlight(ctx, cmd)
			if err != nil {
				return err
			}
			defer cl.Close()
			sums, err := cl.TableSummaries(ctx)
			if err != nil {
				return flightExit(err)
			}
			var rows [][]string
			for _, t := range sums {
				rows = append(rows, []string{t.Name, t.Type, t.Rows, t.DataFiles, t.Snapshots})
			}
			return termout.Render(cmd.Root().Writer, []string{"table", "type", "rows", "data_files", "snapshots"}, rows)
		},
	})
	register(&cli.Command{
		Name:      "describe",
		Usage:     "show a table: columns, partitioning, rows, files and snapshots (optionally as of a past instant)",
		ArgsUsage: "TABLE",
		Description: `With --as-of or --snapshot, shows the schema and files of that snapshot: time travel
uses the schema the table had then.

Examples:
  lakectl describe transactions
  lakectl describe lake.alerts --as-of 2026-11-26T01:00:00Z
  lakectl describe transactions --snapshot 4170283520932425`,
		Flags: append(flightFlags(), asOfFlags()...),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			table, err := tableArg(cmd)
			if err != nil {
				return err
			}
			cl, err := openFlight(ctx, cmd)
			if err != nil {
				return err
			}
			defer cl.Close()
			schema, err := currentSchema(ctx, cl, table)
			if err != nil {
				return flightExit(err)
			}
			w := cmd.Root().Writer
			fmt.Fprintf(w, "table lake.%s\n", table)
			if err := printSchema(w, schema, ""); err != nil {
				return err
			}
			_, files, err := cl.TextRows(ctx, fmt.Sprintf("SELECT partition, record_count, file_size_in_bytes FROM %s", client.MetaTable(table, "files")))
			if err != nil {
				return flightExit(err)
			}
			var rowsTotal, bytes int64
			partKeys := map[string]bool{}
			partitions := map[string]bool{}
			for _, f := range files {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				b, _ := strconv.ParseInt(f[2], 10, 64)
				rowsTotal += n
				bytes += b
				partitions[f[0]] = true
				var p map[string]any
				if json.Unmarshal([]byte(f[0]), &p) == nil {
					for k := range p {
						partKeys[k] = true
					}
				}
			}
			part := "unpartitioned"
			if len(partKeys) > 0 {
				var ks []string
				for k := range partKeys {
					ks = append(ks, k)
				}
				sort.Strings(ks)
				part = strings.Join(ks, ", ") + fmt.Sprintf(" (%d partitions)", len(partitions))
			} else if len(files) == 0 {
				if d, ok := lake.TableDefOf(table); ok && d.DayOf != "" {
					part = fmt.Sprintf("%s_day = day(%s) (no data files yet)", d.DayOf, d.DayOf)
				}
			}
			_, snaps, err := cl.TextRows(ctx, fmt.Sprintf(
				"SELECT snapshot_id, committed_at, operation FROM %s ORDER BY committed_at DESC LIMIT 1", client.MetaTable(table, "snapshots")))
			if err != nil {
				return flightExit(err)
			}
			_, count, err := cl.TextRows(ctx, fmt.Sprintf("SELECT count(*) FROM %s", client.MetaTable(table, "snapshots")))
			if err != nil {
				return flightExit(err)
			}
			latest := "none"
			if len(snaps) == 1 {
				latest = fmt.Sprintf("%s at %s (%s)", snaps[0][0], snaps[0][1], snaps[0][2])
			}
			fmt.Fprintf(w, "partitioning: %s\nrows: %d\ndata files: %d (%s)\nsnapshots: %s, latest %s\n",
				part, rowsTotal, len(files), termout.Bytes(bytes), count[0][0], latest)
			return nil
		},
	})
	register(&cli.Command{
		Name:      "snapshots",
		Usage:     "list a table's snapshots: id, time, operation, rows and files added, Kafka offsets stored",
		ArgsUsage: "TABLE",
		Description: `Each ingest commit stores the next Kafka offset per partition in its snapshot summary
(exactly-once recovery); they are shown per topic as partition:offset.

Examples:
  lakectl snapshots transactions
  lakectl snapshots alerts --format json
  lakectl query --snapshot ID "SELECT count(*) FROM transactions"   # read one of them`,
		Flags: append(flightFlags(), tableOrJSONFlag(),
			&cli.IntFlag{Name: "limit", Value: 50, Usage: "newest N snapshots (0: all)"}),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			table, err := tableArg(cmd)
			if err != nil {
				return err
			}
			asJSON, err := wantJSON(cmd)
			if err != nil {
				return err
			}
			cl, err := openFlight(ctx, cmd)
			if err != nil {
				return err
			}
			defer cl.Close()
			out, err := cl.Snapshots(ctx, table, int(cmd.Int("limit")))
			if err != nil {
				return flightExit(err)
			}
			w := cmd.Root().Writer
			if asJSON {
				return writeJSON(w, out)
			}
			var rows [][]string
			for _, s := range out {
				rows = append(rows, []string{s.SnapshotID, s.CommittedAt, s.Operation, dash(s.AddedRows), dash(s.AddedFiles), dash(s.TotalRows), s.OffsetsText()})
			}
			return termout.Render(w, []string{"snapshot_id", "committed_at", "operation", "added_rows", "added_files", "total_rows", "kafka_offsets"}, rows)
		},
	})
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
