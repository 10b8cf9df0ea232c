package client

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/finlake/finlake/lake"
)

// Config is the connection settings the client was opened with (for
// Explain, which needs the URI and token to give advice).
func (c *Client) Config() Config { return c.cfg }

// TextRows runs sql and gives every row as text (for small metadata results).
func (c *Client) TextRows(ctx context.Context, sql string) ([]string, [][]string, error) {
	rows, err := c.Query(ctx, sql)
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
			for col := range r {
				r[col] = Text(rec.Column(col), i)
			}
			out = append(out, r)
		}
	}
	return cols, out, rows.Err()
}

// MetaTable names a table's Iceberg metadata table, e.g. "transactions$files".
func MetaTable(table, kind string) string { return `"` + table + "$" + kind + `"` }

// TableSummary is one lake table with the counts of its current snapshot;
// a count is "?" when the server could not give it.
type TableSummary struct {
	Name      string // schema.table
	Type      string
	Rows      string
	DataFiles string
	Snapshots string
}

// TableSummaries lists the tables the server offers (not the $ metadata
// tables), sorted by name, with rows, data files and snapshots.
func (c *Client) TableSummaries(ctx context.Context) ([]TableSummary, error) {
	refs, err := c.Tables(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Schema+refs[i].Name < refs[j].Schema+refs[j].Name })
	var out []TableSummary
	for _, r := range refs {
		if strings.Contains(r.Name, "$") {
			continue
		}
		s := TableSummary{Name: r.Schema + "." + r.Name, Type: r.Type, Rows: "?", DataFiles: "?", Snapshots: "?"}
		_, res, err := c.TextRows(ctx, fmt.Sprintf(
			"SELECT (SELECT coalesce(sum(record_count), 0) FROM %s), (SELECT count(*) FROM %s), (SELECT count(*) FROM %s)",
			MetaTable(r.Name, "files"), MetaTable(r.Name, "files"), MetaTable(r.Name, "snapshots")))
		if err == nil && len(res) == 1 {
			s.Rows, s.DataFiles, s.Snapshots = res[0][0], res[0][1], res[0][2]
		}
		out = append(out, s)
	}
	return out, nil
}

// Snapshot is one snapshot of a table with the summary fields people read
// first, and the Kafka offsets ingest stored in it (topic -> offsets JSON).
type Snapshot struct {
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

// Snapshots lists a table's snapshots, newest first; limit > 0 keeps the newest limit.
func (c *Client) Snapshots(ctx context.Context, table string, limit int) ([]Snapshot, error) {
	sql := fmt.Sprintf(`SELECT snapshot_id, committed_at, operation, parent_id, CAST(to_json(summary) AS VARCHAR) AS summary
FROM %s ORDER BY committed_at DESC, snapshot_id DESC`, MetaTable(table, "snapshots"))
	if limit > 0 {
		sql += fmt.Sprintf(" LIMIT %d", limit)
	}
	_, res, err := c.TextRows(ctx, sql)
	if err != nil {
		return nil, err
	}
	out := []Snapshot{}
	for _, r := range res {
		s := Snapshot{SnapshotID: r[0], CommittedAt: r[1], Operation: r[2], Summary: map[string]string{}}
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
	return out, nil
}

// OffsetsText renders the stored offsets per topic, sorted, one line each:
// "topic 0:12 1:40".
func (s Snapshot) OffsetsText() string {
	topics := make([]string, 0, len(s.Offsets))
	for t := range s.Offsets {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	lines := make([]string, len(topics))
	for i, t := range topics {
		lines[i] = t + " " + CompactOffsets(s.Offsets[t])
	}
	return strings.Join(lines, "\n")
}

// CompactOffsets renders the stored offsets JSON {"0":12,"1":40} as 0:12 1:40.
func CompactOffsets(js string) string {
	var m map[string]any
	if json.Unmarshal([]byte(js), &m) != nil {
		return js
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
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
