package lakeview

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"

	"github.com/finlake/finlake/flight/sqlrewrite"
)

// extremes is the smallest and largest non-NULL value of one column of one
// snapshot, as SQL literals ("NULL": the column has none).
type extremes struct{ lo, hi string }

// MinMaxSQL is a table expression holding, for each of cols (columns of the
// pinned snapshot, matched case-insensitively), its smallest and largest
// value, read from the snapshot's metadata only: two rows, or none for a
// table without rows. min and max over it equal min and max over the table.
// ok is false when the metadata cannot tell exactly; the caller then reads
// the table. The metadata tells for a partition source column:
//   - from the manifest list's partition field summaries when the column is
//     identity-partitioned and a manifest lists no deleted file (the summary
//     then spans exactly its live files' values);
//   - else from the data files' column lower/upper bounds in the manifests,
//     for types whose bounds are written untruncated (integers, dates,
//     timestamps: day(timestamp) partitions give days, not the values).
//
// A snapshot with delete files never takes this path: deleted rows still
// count in the data files' bounds.
func (l *Lake) MinMaxSQL(ctx context.Context, p *Pin, cols []string) (string, bool, error) {
	var rel []column
	var lo, hi []string
	for _, c := range cols {
		f, found := p.Schema.FindFieldByNameCaseInsensitive(c)
		if !found {
			return "", false, nil // DuckDB reports the unknown column
		}
		typ, err := DuckType(f.Type)
		if err != nil {
			return "", false, nil
		}
		e, ok, err := l.extremes(ctx, p, f)
		if err != nil || !ok {
			return "", false, err
		}
		if e == nil {
			return valuesSQL([]column{{f.Name, typ}}, nil), true, nil // no rows
		}
		rel = append(rel, column{f.Name, typ})
		lo, hi = append(lo, e.lo), append(hi, e.hi)
	}
	return valuesSQL(rel, [][]string{lo, hi}), true, nil
}

// extremes of one column; nil with ok: the snapshot has no rows.
func (l *Lake) extremes(ctx context.Context, p *Pin, f iceberg.NestedField) (*extremes, bool, error) {
	if p.Snapshot == nil {
		return nil, true, nil
	}
	if !isPartitionSource(p, f.ID) {
		return nil, false, nil
	}
	key := fmt.Sprintf("%s@%d#%d", p.Table.Location(), p.Snapshot.SnapshotID, f.ID)
	l.mu.Lock()
	c, cached := l.bounds[key]
	l.mu.Unlock()
	if cached {
		return c.e, c.ok, nil
	}
	e, ok, err := l.readExtremes(ctx, p, f)
	if err != nil {
		return nil, false, err
	}
	l.mu.Lock()
	if len(l.bounds) >= 4096 {
		clear(l.bounds)
	}
	l.bounds[key] = boundsEntry{e, ok}
	l.mu.Unlock()
	return e, ok, nil
}

type boundsEntry struct {
	e  *extremes
	ok bool
}

func isPartitionSource(p *Pin, id int) bool {
	specs := p.Table.Metadata().PartitionSpecs()
	for i := range specs {
		if len(specs[i].FieldsBySourceID(id)) > 0 {
			return true
		}
	}
	return false
}

func (l *Lake) readExtremes(ctx context.Context, p *Pin, f iceberg.NestedField) (*extremes, bool, error) {
	fs, err := p.Table.FS(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("%s: open file system: %w", p.Name, err)
	}
	manifests, err := p.Snapshot.Manifests(fs)
	if err != nil {
		return nil, false, fmt.Errorf("read manifest list of %s at snapshot %d: %w", p.Name, p.Snapshot.SnapshotID, err)
	}
	for _, m := range manifests {
		if m.ManifestContent() != iceberg.ManifestContentData {
			return nil, false, nil
		}
	}
	var acc accum
	acc.typ = f.Type
	for _, m := range manifests {
		if !m.HasAddedFiles() && !m.HasExistingFiles() {
			continue
		}
		// (A summary also spans an empty data file's partition value; writers
		// here write none.)
		if i := identityField(p, m.PartitionSpecID(), f.ID); i >= 0 && m.DeletedDataFiles() == 0 && i < len(m.Partitions()) {
			s := m.Partitions()[i]
			switch {
			case s.LowerBound != nil && s.UpperBound != nil:
				if !acc.add(*s.LowerBound, *s.UpperBound) {
					return nil, false, nil
				}
				continue
			case s.LowerBound == nil && s.UpperBound == nil && s.ContainsNull:
				acc.rows = true // only NULLs
				continue
			}
		}
		if !exactBounds(f.Type) {
			return nil, false, nil
		}
		for e, err := range m.Entries(fs, true) {
			if err != nil {
				return nil, false, fmt.Errorf("read manifest of %s at snapshot %d: %w", p.Name, p.Snapshot.SnapshotID, err)
			}
			df := e.DataFile()
			if df.Count() == 0 {
				continue
			}
			lb, lok := df.LowerBoundValues()[f.ID]
			ub, uok := df.UpperBoundValues()[f.ID]
			if lok && uok {
				if !acc.add(lb, ub) {
					return nil, false, nil
				}
				continue
			}
			if n, ok := df.NullValueCounts()[f.ID]; ok && n == df.Count() {
				acc.rows = true // only NULLs in this file
				continue
			}
			return nil, false, nil // a file without bounds: cannot tell
		}
	}
	if !acc.rows {
		return nil, true, nil
	}
	if !acc.set {
		return &extremes{"NULL", "NULL"}, true, nil
	}
	return &extremes{acc.lit(acc.lo), acc.lit(acc.hi)}, true, nil
}

// identityField is the position of the identity partition field on column id
// in spec specID (-1: none).
func identityField(p *Pin, specID int32, id int) int {
	spec := p.Table.Metadata().PartitionSpecByID(int(specID))
	if spec == nil {
		return -1
	}
	for i, pf := range spec.Fields() {
		if pf.SourceID() == id {
			if _, ok := pf.Transform.(iceberg.IdentityTransform); ok {
				return i
			}
		}
	}
	return -1
}

// exactBounds says whether writers record a data file's column bounds of
// type t as the values themselves: strings and binaries may be truncated,
// floats have NaN, decimals and nanosecond timestamps are not handled here.
func exactBounds(t iceberg.Type) bool {
	switch t.(type) {
	case iceberg.Int32Type, iceberg.Int64Type, iceberg.DateType, iceberg.TimestampType, iceberg.TimestampTzType:
		return true
	}
	return false
}

// accum folds lower and upper bounds (Iceberg single-value serialization).
type accum struct {
	typ    iceberg.Type
	rows   bool // some live file has rows
	set    bool // lo and hi hold a value
	lo, hi value
}

type value struct {
	n int64
	s string
}

func (a *accum) decode(b []byte) (value, bool) {
	switch a.typ.(type) {
	case iceberg.Int32Type, iceberg.DateType:
		if len(b) != 4 {
			return value{}, false
		}
		return value{n: int64(int32(binary.LittleEndian.Uint32(b)))}, true
	case iceberg.Int64Type, iceberg.TimestampType, iceberg.TimestampTzType:
		if len(b) != 8 {
			return value{}, false
		}
		return value{n: int64(binary.LittleEndian.Uint64(b))}, true
	case iceberg.StringType:
		return value{s: string(b)}, true
	}
	return value{}, false
}

func (a *accum) less(x, y value) bool {
	if _, ok := a.typ.(iceberg.StringType); ok {
		return x.s < y.s // UTF-8 byte order is code point order, as DuckDB compares VARCHAR
	}
	return x.n < y.n
}

// add widens the extremes by one file's or manifest's bounds; false: a bound
// it cannot read.
func (a *accum) add(lb, ub []byte) bool {
	lo, ok1 := a.decode(lb)
	hi, ok2 := a.decode(ub)
	if !ok1 || !ok2 {
		return false
	}
	a.rows = true
	if !a.set {
		a.lo, a.hi, a.set = lo, hi, true
		return true
	}
	if a.less(lo, a.lo) {
		a.lo = lo
	}
	if a.less(a.hi, hi) {
		a.hi = hi
	}
	return true
}

// lit is v as a SQL literal valuesSQL casts to the column's type.
func (a *accum) lit(v value) string {
	switch a.typ.(type) {
	case iceberg.Int32Type, iceberg.Int64Type:
		return strconv.FormatInt(v.n, 10)
	case iceberg.DateType:
		return sqlrewrite.QuoteString(time.Unix(v.n*86400, 0).UTC().Format("2006-01-02"))
	case iceberg.TimestampType:
		return sqlrewrite.QuoteString(time.UnixMicro(v.n).UTC().Format("2006-01-02 15:04:05.000000"))
	case iceberg.TimestampTzType:
		return sqlrewrite.QuoteString(time.UnixMicro(v.n).UTC().Format("2006-01-02 15:04:05.000000+00"))
	}
	return sqlrewrite.QuoteString(strings.Clone(v.s))
}
