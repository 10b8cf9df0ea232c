package lakeview

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"

	"github.com/finlake/finlake/flight/sqlrewrite"
)

// DuckType is the DuckDB type that reads an Iceberg primitive type.
func DuckType(t iceberg.Type) (string, error) {
	switch t := t.(type) {
	case iceberg.BooleanType:
		return "BOOLEAN", nil
	case iceberg.Int32Type:
		return "INTEGER", nil
	case iceberg.Int64Type:
		return "BIGINT", nil
	case iceberg.Float32Type:
		return "FLOAT", nil
	case iceberg.Float64Type:
		return "DOUBLE", nil
	case iceberg.DecimalType:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision(), t.Scale()), nil
	case iceberg.DateType:
		return "DATE", nil
	case iceberg.TimeType:
		return "TIME", nil
	case iceberg.TimestampType:
		return "TIMESTAMP", nil
	case iceberg.TimestampTzType:
		return "TIMESTAMPTZ", nil
	case iceberg.TimestampNsType:
		return "TIMESTAMP_NS", nil
	case iceberg.TimestampTzNsType:
		return "TIMESTAMPTZ", nil
	case iceberg.StringType:
		return "VARCHAR", nil
	case iceberg.UUIDType:
		return "UUID", nil
	case iceberg.BinaryType, iceberg.FixedType:
		return "BLOB", nil
	}
	return "", fmt.Errorf("%w: column type %s (only primitive columns are served)", ErrUnsupported, t)
}

// TableSQL is a DuckDB table expression reading the pinned snapshot. Columns
// are matched to Parquet columns by Iceberg field id, so renamed columns read
// right and columns added after a file was written read NULL from it. A table
// without data files still has its columns (and no rows).
func (l *Lake) TableSQL(ctx context.Context, p *Pin) (string, error) {
	fields := p.Schema.Fields()
	files, err := l.Files(ctx, p)
	if err != nil {
		return "", err
	}
	types := make([]string, len(fields))
	for i, f := range fields {
		if types[i], err = DuckType(f.Type); err != nil {
			return "", fmt.Errorf("%s.%s: %w", p.Name, f.Name, err)
		}
	}
	var b strings.Builder
	if len(files) == 0 {
		b.WriteString("(SELECT ")
		for i, f := range fields {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "CAST(NULL AS %s) AS %s", types[i], sqlrewrite.QuoteIdent(f.Name))
		}
		if len(fields) == 0 {
			b.WriteString("NULL AS \"_\"")
		}
		b.WriteString(" WHERE false)")
		return b.String(), nil
	}
	var plain, withDeletes []FileInfo
	for _, f := range files {
		if len(f.Deletes) > 0 {
			withDeletes = append(withDeletes, f)
		} else {
			plain = append(plain, f)
		}
	}
	schemaArg := schemaMap(fields, types)
	if len(withDeletes) == 0 {
		return readParquet(plain, schemaArg, false), nil
	}
	// Positional deletes (merge-on-read): a data file's rows whose position
	// is listed for it in its delete files are left out.
	cols := make([]string, len(fields))
	for i, f := range fields {
		cols[i] = sqlrewrite.QuoteIdent(f.Name)
	}
	sel := strings.Join(cols, ", ")
	b.WriteString("(")
	parts := 0
	if len(plain) > 0 {
		fmt.Fprintf(&b, "SELECT %s FROM %s", sel, readParquet(plain, schemaArg, false))
		parts++
	}
	for _, f := range withDeletes {
		if parts > 0 {
			b.WriteString(" UNION ALL ")
		}
		parts++
		dels := make([]string, len(f.Deletes))
		for i, d := range f.Deletes {
			dels[i] = sqlrewrite.QuoteString(d)
		}
		fmt.Fprintf(&b, "SELECT %s FROM %s WHERE file_row_number NOT IN (SELECT pos FROM read_parquet([%s]) WHERE file_path = %s)",
			sel, readParquet([]FileInfo{f}, schemaArg, true), strings.Join(dels, ","), sqlrewrite.QuoteString(f.URI))
	}
	b.WriteString(")")
	return b.String(), nil
}

// schemaMap is read_parquet's schema argument: Iceberg field id to column
// name and type. Every map value must have one type, so default_value stays
// an untyped NULL (Iceberg v3 initial defaults are not applied).
func schemaMap(fields []iceberg.NestedField, types []string) string {
	var b strings.Builder
	b.WriteString("MAP {")
	for i, f := range fields {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d: {name: %s, type: %s, default_value: NULL}", f.ID,
			sqlrewrite.QuoteString(f.Name), sqlrewrite.QuoteString(types[i]))
	}
	b.WriteString("}")
	return b.String()
}

func readParquet(files []FileInfo, schemaArg string, rowNumbers bool) string {
	var b strings.Builder
	b.WriteString("read_parquet([")
	for i, f := range files {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(sqlrewrite.QuoteString(f.Path))
	}
	b.WriteString("], schema=")
	b.WriteString(schemaArg)
	b.WriteString(", hive_partitioning=false")
	if rowNumbers {
		b.WriteString(", file_row_number=true")
	}
	b.WriteString(")")
	return b.String()
}

type column struct{ name, typ string }

// valuesSQL is a typed inline relation; every value is cast so an empty or
// all-NULL column keeps its type.
func valuesSQL(cols []column, rows [][]string) string {
	var b strings.Builder
	if len(rows) == 0 {
		b.WriteString("(SELECT ")
		for i, c := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "CAST(NULL AS %s) AS %s", c.typ, sqlrewrite.QuoteIdent(c.name))
		}
		b.WriteString(" WHERE false)")
		return b.String()
	}
	b.WriteString("(SELECT * FROM (VALUES ")
	for r, row := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for i, v := range row {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "CAST(%s AS %s)", v, cols[i].typ)
		}
		b.WriteByte(')')
	}
	b.WriteString(") AS v(")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(sqlrewrite.QuoteIdent(c.name))
	}
	b.WriteString("))")
	return b.String()
}

func tsLit(ms int64) string {
	return "TIMESTAMPTZ " + sqlrewrite.QuoteString(time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000Z07:00"))
}

func int64Lit(p *int64) string {
	if p == nil {
		return "NULL"
	}
	return strconv.FormatInt(*p, 10)
}

// FilesSQL is a table expression reading the given data files of the pinned
// table (local paths, as Files reports them) by field id, deletes ignored:
// for the server's own scans of a column's values.
func (l *Lake) FilesSQL(p *Pin, paths []string) (string, error) {
	fields := p.Schema.Fields()
	types := make([]string, len(fields))
	for i, f := range fields {
		var err error
		if types[i], err = DuckType(f.Type); err != nil {
			return "", fmt.Errorf("%s.%s: %w", p.Name, f.Name, err)
		}
	}
	files := make([]FileInfo, len(paths))
	for i, path := range paths {
		files[i] = FileInfo{Path: path}
	}
	return readParquet(files, schemaMap(fields, types), false), nil
}

// MetaSQL is the table expression of a metadata table: "snapshots" and
// "history" list the whole table history; "files" lists the data files of the
// pinned snapshot. hidePaths leaves the file paths out ($snapshots'
// manifest_list is NULL, $files is refused): for share sessions, which must
// find no way to the raw files.
func (l *Lake) MetaSQL(ctx context.Context, p *Pin, kind string, hidePaths bool) (string, error) {
	if hidePaths && kind == "files" {
		return "", fmt.Errorf("%w: $files lists the raw data files, which share sessions may not read; count rows with SELECT count(*) FROM %s", ErrHidden, p.Name)
	}
	meta := p.Table.Metadata()
	switch kind {
	case "snapshots":
		cols := []column{{"committed_at", "TIMESTAMPTZ"}, {"snapshot_id", "BIGINT"}, {"parent_id", "BIGINT"},
			{"operation", "VARCHAR"}, {"manifest_list", "VARCHAR"}, {"summary", "MAP(VARCHAR, VARCHAR)"}}
		snaps := meta.Snapshots()
		sort.Slice(snaps, func(i, j int) bool { return snaps[i].TimestampMs < snaps[j].TimestampMs })
		rows := make([][]string, 0, len(snaps))
		for _, s := range snaps {
			op, summary := "NULL", "MAP {}"
			if s.Summary != nil {
				op = sqlrewrite.QuoteString(string(s.Summary.Operation))
				keys := make([]string, 0, len(s.Summary.Properties))
				for k := range s.Summary.Properties {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				parts := make([]string, len(keys))
				for i, k := range keys {
					parts[i] = sqlrewrite.QuoteString(k) + ": " + sqlrewrite.QuoteString(s.Summary.Properties[k])
				}
				summary = "MAP {" + strings.Join(parts, ", ") + "}"
			}
			manifests := sqlrewrite.QuoteString(s.ManifestList)
			if hidePaths {
				manifests = "NULL"
			}
			rows = append(rows, []string{tsLit(s.TimestampMs), strconv.FormatInt(s.SnapshotID, 10), int64Lit(s.ParentSnapshotID),
				op, manifests, summary})
		}
		return valuesSQL(cols, rows), nil
	case "history":
		cols := []column{{"made_current_at", "TIMESTAMPTZ"}, {"snapshot_id", "BIGINT"}, {"parent_id", "BIGINT"}, {"is_current_ancestor", "BOOLEAN"}}
		ancestors := map[int64]bool{}
		if cur := p.Table.CurrentSnapshot(); cur != nil {
			for s := cur; s != nil; {
				ancestors[s.SnapshotID] = true
				if s.ParentSnapshotID == nil {
					break
				}
				s = p.Table.SnapshotByID(*s.ParentSnapshotID)
			}
		}
		var rows [][]string
		for e := range meta.SnapshotLogs() {
			var parent *int64
			if s := p.Table.SnapshotByID(e.SnapshotID); s != nil {
				parent = s.ParentSnapshotID
			}
			rows = append(rows, []string{tsLit(e.TimestampMs), strconv.FormatInt(e.SnapshotID, 10), int64Lit(parent),
				strconv.FormatBool(ancestors[e.SnapshotID])})
		}
		return valuesSQL(cols, rows), nil
	case "files":
		cols := []column{{"content", "INTEGER"}, {"file_path", "VARCHAR"}, {"file_format", "VARCHAR"}, {"spec_id", "INTEGER"},
			{"partition", "VARCHAR"}, {"record_count", "BIGINT"}, {"file_size_in_bytes", "BIGINT"}}
		files, err := l.Files(ctx, p)
		if err != nil {
			return "", err
		}
		rows := make([][]string, 0, len(files))
		for _, f := range files {
			rows = append(rows, []string{"0", sqlrewrite.QuoteString(f.Path), sqlrewrite.QuoteString(f.Format),
				strconv.Itoa(int(f.SpecID)), sqlrewrite.QuoteString(partitionText(p, f)),
				strconv.FormatInt(f.Records, 10), strconv.FormatInt(f.SizeBytes, 10)})
		}
		return valuesSQL(cols, rows), nil
	}
	return "", fmt.Errorf("%w: metadata table $%s", ErrNotFound, kind)
}

// partitionText renders a file's partition as JSON {"field": "human value"}.
func partitionText(p *Pin, f FileInfo) string {
	spec := p.Table.Metadata().PartitionSpecByID(int(f.SpecID))
	out := map[string]string{}
	if spec != nil {
		schema := p.Table.Schema()
		for _, pf := range spec.Fields() {
			v, ok := f.Partition[pf.FieldID]
			if !ok {
				continue
			}
			if v == nil {
				out[pf.Name] = "null"
				continue
			}
			var src iceberg.Type = iceberg.PrimitiveTypes.String
			if sf, ok := schema.FindFieldByID(pf.SourceID()); ok {
				src = pf.Transform.ResultType(sf.Type)
			}
			out[pf.Name] = pf.Transform.ToHumanStrType(src, v)
		}
	}
	b, _ := json.Marshal(out)
	return string(b)
}
