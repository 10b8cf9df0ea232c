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

// queryRows runs sql and gives every row as text (for small metadata results).
func queryRows(ctx context.Context, cl *client.Client, sql string) ([]string, [][]string, error) {
	rows, err := cl.Query(ctx, sql)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var cols []string
	for _, f := range rows.Schema().Fields() {
		cols = append(cols, f.Name)
	}
	var out [][]string
	for rows.Next() {
		rec := rows.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			r := make([]string, rec.NumCols())
			for c := range r {
				r[c] = client.Text(rec.Column(c), i)
			}
			out = append(out, r)
		}
	}
	return cols, out, rows.Err()
}

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

func metaTable(table, kind string) string { return `"` + table + "$" + kind + `"` }

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
			refs, err := cl.Tables(ctx)
			if err != nil {
				return flightExit(err)
			}
			sort.Slice(refs, func(i, j int) bool { return refs[i].Schema+refs[i].Name < refs[j].Schema+refs[j].Name })
			var rows [][]string
			for _, r := range refs {
				if strings.Contains(r.Name, "$") {
					continue
				}
				stats := []string{"?", "?", "?"}
				_, res, err := queryRows(ctx, cl, fmt.Sprintf(
					"SELECT (SELECT coalesce(sum(record_count), 0) FROM %s), (SELECT count(*) FROM %s), (SELECT count(*) FROM %s)",
					metaTable(r.Name, "files"), metaTable(r.Name, "files"), metaTable(r.Name, "snapshots")))
				if err == nil && len(res) == 1 {
					stats = res[0]
				}
				rows = append(rows, append([]string{r.Schema + "." + r.Name, r.Type}, stats...))
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
			_, files, err := queryRows(ctx, cl, fmt.Sprintf("SELECT partition, record_count, file_size_in_bytes FROM %s", metaTable(table, "files")))
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
				for _, d := range lake.Tables() {
					if d.Name == table && d.DayOf != "" {
						part = fmt.Sprintf("%s_day = day(%s) (no data files yet)", d.DayOf, d.DayOf)
					}
				}
			}
			_, snaps, err := queryRows(ctx, cl, fmt.Sprintf(
				"SELECT snapshot_id, committed_at, operation FROM %s ORDER BY committed_at DESC LIMIT 1", metaTable(table, "snapshots")))
			if err != nil {
				return flightExit(err)
			}
			_, count, err := queryRows(ctx, cl, fmt.Sprintf("SELECT count(*) FROM %s", metaTable(table, "snapshots")))
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
		Flags: append(flightFlags(), &cli.StringFlag{Name: "format", Value: "table", Usage: "table or json"},
			&cli.IntFlag{Name: "limit", Value: 50, Usage: "newest N snapshots (0: all)"}),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			table, err := tableArg(cmd)
			if err != nil {
				return err
			}
			format := cmd.String("format")
			if format != "table" && format != "json" {
				return badInput("--format %q: want table or json", format)
			}
			cl, err := openFlight(ctx, cmd)
			if err != nil {
				return err
			}
			defer cl.Close()
			sql := fmt.Sprintf(`SELECT snapshot_id, committed_at, operation, parent_id, CAST(to_json(summary) AS VARCHAR) AS summary
FROM %s ORDER BY committed_at DESC, snapshot_id DESC`, metaTable(table, "snapshots"))
			if n := cmd.Int("limit"); n > 0 {
				sql += fmt.Sprintf(" LIMIT %d", n)
			}
			_, res, err := queryRows(ctx, cl, sql)
			if err != nil {
				return flightExit(err)
			}
			type snap struct {
				SnapshotID  string            `json:"snapshot_id"`
				CommittedAt string            `json:"committed_at"`
				Operation   string            `json:"operation"`
				ParentID    string            `json:"parent_id,omitempty"`
				AddedRows   string            `json:"added_records,omitempty"`
				AddedFiles  string            `json:"added_data_files,omitempty"`
				TotalRows   string            `json:"total_records,omitempty"`
				Offsets     map[string]string `json:"kafka_offsets,omitempty"`
				Summary     map[string]string `json:"summary"`
			}
			var out []snap
			for _, r := range res {
				s := snap{SnapshotID: r[0], CommittedAt: r[1], Operation: r[2], Summary: map[string]string{}}
				if r[3] != "NULL" {
					s.ParentID = r[3]
				}
				_ = json.Unmarshal([]byte(r[4]), &s.Summary)
				s.AddedRows, s.AddedFiles, s.TotalRows = s.Summary["added-records"], s.Summary["added-data-files"], s.Summary["total-records"]
				for k, v := range s.Summary {
					if topic, ok := strings.CutPrefix(k, lake.OffsetsPropertyPrefix); ok {
						if s.Offsets == nil {
							s.Offsets = map[string]string{}
						}
						s.Offsets[topic] = v
					}
				}
				out = append(out, s)
			}
			w := cmd.Root().Writer
			if format == "json" {
				if out == nil {
					out = []snap{}
				}
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			var rows [][]string
			for _, s := range out {
				var offs []string
				for _, t := range sortedKeys(s.Offsets) {
					offs = append(offs, t+" "+compactOffsets(s.Offsets[t]))
				}
				rows = append(rows, []string{s.SnapshotID, s.CommittedAt, s.Operation, dash(s.AddedRows), dash(s.AddedFiles), dash(s.TotalRows), strings.Join(offs, "\n")})
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

// compactOffsets renders the stored offsets JSON {"0":12,"1":40} as 0:12 1:40.
func compactOffsets(js string) string {
	var m map[string]any
	if json.Unmarshal([]byte(js), &m) != nil {
		return js
	}
	keys := sortedKeys(m)
	sort.Slice(keys, func(i, j int) bool {
		a, _ := strconv.Atoi(keys[i])
		b, _ := strconv.Atoi(keys[j])
		return a < b
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%v", k, m[k])
	}
	return strings.Join(parts, " ")
}
