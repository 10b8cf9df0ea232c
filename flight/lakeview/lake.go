// Package lakeview owns how finlake's Flight SQL server sees the Iceberg tables:
// listing them, pinning each referenced table to one snapshot per query,
// turning a pinned snapshot into a DuckDB table expression that reads its
// Parquet files by Iceberg field id, the $snapshots/$history/$files metadata
// tables, and schema evolution (ADD COLUMN) with retries on concurrent commits.
package lakeview

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/finlake/finlake/flight/sqlrewrite"
	"github.com/finlake/finlake/lake"
)

// Errors callers map to protocol status codes.
var (
	ErrNotFound    = errors.New("not found")
	ErrUnsupported = errors.New("unsupported")
	ErrConflict    = errors.New("concurrent commit")
	// ErrHidden marks what the caller's role may not see (a share session and
	// the raw files).
	ErrHidden = errors.New("refused")
)

// Lake is the catalog seen through one namespace.
type Lake struct {
	cat       catalog.Catalog
	namespace string
	catName   string
	warehouse string // absolute, with trailing slash

	loc Locator // nil: every query lists and loads tables through the catalog

	mu     sync.Mutex
	loaded map[string]loadedTable // table name -> its metadata as last loaded
	files  map[string][]FileInfo
	fileQ  []string               // insertion order of files, for a bounded cache
	counts map[string]int64       // table location@snapshot -> live rows, when the manifest list tells
	bounds map[string]boundsEntry // table location@snapshot#field id -> the column's extremes
}

// Locator reports each table's current metadata location (one cheap catalog
// query); lake.Locator is the SQL catalog's.
type Locator interface {
	Locations(ctx context.Context, namespace string) (map[string]string, error)
}

type loadedTable struct {
	location string
	table    *table.Table
}

// New wraps cat; warehouse is the directory every data file must live in.
func New(cat catalog.Catalog, catalogName, namespace, warehouse string) *Lake {
	wh, _ := filepath.Abs(warehouse)
	if !strings.HasSuffix(wh, "/") {
		wh += "/"
	}
	return &Lake{cat: cat, namespace: namespace, catName: catalogName, warehouse: wh, files: map[string][]FileInfo{},
		loaded: map[string]loadedTable{}, counts: map[string]int64{}, bounds: map[string]boundsEntry{}}
}

// WithLocator makes the lake cache parsed table metadata, keyed by the
// metadata location loc reports: a query costs one catalog lookup instead of
// reading and parsing every referenced table's metadata.json (MBs once a
// table has thousands of snapshots), and sees a new commit at once.
func (l *Lake) WithLocator(loc Locator) *Lake {
	l.loc = loc
	return l
}

// Tables is the namespace's tables at one moment: their names and current
// metadata locations, read once per query so every table a query loads is
// the one committed at that moment or later, never an older one.
type Tables struct {
	Names     []string          // sorted
	locations map[string]string // nil without a Locator
}

// Has reports whether the namespace has the table.
func (t *Tables) Has(name string) bool {
	i := sort.SearchStrings(t.Names, name)
	return i < len(t.Names) && t.Names[i] == name
}

// Current lists the tables as they are now.
func (l *Lake) Current(ctx context.Context) (*Tables, error) {
	if l.loc == nil {
		names, err := l.ListTables(ctx)
		if err != nil {
			return nil, err
		}
		return &Tables{Names: names}, nil
	}
	locs, err := l.loc.Locations(ctx, l.namespace)
	if err != nil {
		return nil, err
	}
	t := &Tables{Names: make([]string, 0, len(locs)), locations: locs}
	for n := range locs {
		t.Names = append(t.Names, n)
	}
	sort.Strings(t.Names)
	return t, nil
}

// Location is the table's metadata location in t ("" without a Locator or
// for a table t lacks).
func (t *Tables) Location(name string) string { return t.locations[name] }

// LoadIn loads a table of t: from the cache when the metadata location t saw
// is the one last loaded, else from the catalog (which may already hold a
// newer commit than t saw: newer is fine, older never happens).
func (l *Lake) LoadIn(ctx context.Context, t *Tables, name string) (*table.Table, error) {
	want, ok := t.locations[name]
	if !ok {
		return l.Load(ctx, name)
	}
	l.mu.Lock()
	c, hit := l.loaded[name]
	l.mu.Unlock()
	if hit && c.location == want {
		return c.table, nil
	}
	tbl, err := l.Load(ctx, name)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	// Two queries may load concurrently; either result is at least as new as
	// what each saw, and a later query compares locations again anyway.
	l.loaded[name] = loadedTable{location: tbl.MetadataLocation(), table: tbl}
	l.mu.Unlock()
	return tbl, nil
}

// Namespace is the lake's namespace ("lake").
func (l *Lake) Namespace() string { return l.namespace }

// Warehouse is the directory every data file lives in (absolute, with a
// trailing slash).
func (l *Lake) Warehouse() string { return l.warehouse }

// CatalogName is the Iceberg catalog's name ("finlake").
func (l *Lake) CatalogName() string { return l.catName }

// ListTables returns the table names of the namespace, sorted.
func (l *Lake) ListTables(ctx context.Context) ([]string, error) {
	var names []string
	for id, err := range l.cat.ListTables(ctx, catalog.ToIdentifier(l.namespace)) {
		if err != nil {
			if errors.Is(err, catalog.ErrNoSuchNamespace) {
				return nil, nil
			}
			return nil, fmt.Errorf("list tables of %s: %w", l.namespace, err)
		}
		names = append(names, strings.ToLower(id[len(id)-1]))
	}
	sort.Strings(names)
	return names, nil
}

// Load loads the table's current metadata.
func (l *Lake) Load(ctx context.Context, name string) (*table.Table, error) {
	tbl, err := l.cat.LoadTable(ctx, catalog.ToIdentifier(l.namespace, name))
	if err != nil {
		if errors.Is(err, catalog.ErrNoSuchTable) {
			return nil, fmt.Errorf("%w: table %s.%s does not exist", ErrNotFound, l.namespace, name)
		}
		return nil, fmt.Errorf("load %s.%s: %w", l.namespace, name, err)
	}
	return tbl, nil
}

// Pin is one table fixed at one snapshot (Snapshot nil: the table has none yet).
type Pin struct {
	Name     string
	Table    *table.Table
	Snapshot *table.Snapshot
	Schema   *iceberg.Schema
}

// PinAt resolves a table at a point in time by the lake's one time-travel
// rule (lake.SnapshotAt, lake.SnapshotByID): an instant answers from the
// newest kept snapshot committed at or before it, which after retention
// thinned the history may be an older interval snapshot; an instant before
// the oldest kept snapshot, or an expired snapshot id, is ErrNotFound. The
// schema is the one the chosen snapshot was written with.
func PinAt(tbl *table.Table, name string, at sqlrewrite.AsOf) (*Pin, error) {
	p := &Pin{Name: name, Table: tbl}
	meta := tbl.Metadata()
	var err error
	switch at.Kind {
	case sqlrewrite.Current:
		p.Snapshot = tbl.CurrentSnapshot()
	case sqlrewrite.Version:
		if p.Snapshot, err = lake.SnapshotByID(meta, at.Version); err != nil {
			return nil, fmt.Errorf("%w: %s has %v (list them with SELECT snapshot_id, committed_at FROM \"%s$snapshots\")", ErrNotFound, name, err, name)
		}
	case sqlrewrite.Timestamp:
		if p.Snapshot, err = lake.SnapshotAt(meta, at.Time); err != nil {
			return nil, fmt.Errorf("%w: %s has %v", ErrNotFound, name, err)
		}
	}
	p.Schema = meta.CurrentSchema()
	if p.Snapshot != nil && p.Snapshot.SchemaID != nil && at.Kind != sqlrewrite.Current {
		for _, s := range meta.Schemas() {
			if s.ID == *p.Snapshot.SchemaID {
				p.Schema = s
			}
		}
	}
	return p, nil
}

// FileInfo is one data file of a snapshot.
type FileInfo struct {
	Path      string   // local path
	URI       string   // the path as the manifests (and positional delete files) spell it
	Deletes   []string // local paths of the positional delete files that apply to it
	Records   int64
	SizeBytes int64
	Partition map[int]any
	SpecID    int32
	Format    string
}

// Files plans the snapshot's data files. The plan of a snapshot never
// changes, so it is cached by table location and snapshot id.
func (l *Lake) Files(ctx context.Context, p *Pin) ([]FileInfo, error) {
	if p.Snapshot == nil {
		return nil, nil
	}
	key := fmt.Sprintf("%s@%d", p.Table.Location(), p.Snapshot.SnapshotID)
	l.mu.Lock()
	if f, ok := l.files[key]; ok {
		l.mu.Unlock()
		return f, nil
	}
	l.mu.Unlock()
	tasks, err := p.Table.Scan(table.WithSnapshotID(p.Snapshot.SnapshotID)).PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan files of %s at snapshot %d: %w", p.Name, p.Snapshot.SnapshotID, err)
	}
	files := make([]FileInfo, 0, len(tasks))
	for _, t := range tasks {
		if len(t.EqualityDeleteFiles)+len(t.DeletionVectorFiles) > 0 {
			return nil, fmt.Errorf("%w: %s at snapshot %d has equality delete files or deletion vectors, which this server does not apply; compact the table (rewrite data files) and query again", ErrUnsupported, p.Name, p.Snapshot.SnapshotID)
		}
		var deletes []string
		for _, d := range t.DeleteFiles {
			if d.FileFormat() != iceberg.ParquetFile {
				return nil, fmt.Errorf("%w: %s has a %s delete file; only Parquet is served", ErrUnsupported, p.Name, d.FileFormat())
			}
			dp, err := l.localPath(d.FilePath())
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.Name, err)
			}
			deletes = append(deletes, dp)
		}
		if ff := t.File.FileFormat(); ff != iceberg.ParquetFile {
			return nil, fmt.Errorf("%w: %s has a %s data file; only Parquet is served", ErrUnsupported, p.Name, ff)
		}
		path, err := l.localPath(t.File.FilePath())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		files = append(files, FileInfo{Path: path, URI: t.File.FilePath(), Deletes: deletes, Records: t.File.Count(), SizeBytes: t.File.FileSizeBytes(),
			Partition: t.File.Partition(), SpecID: t.File.SpecID(), Format: string(t.File.FileFormat())})
	}
	l.mu.Lock()
	if len(l.fileQ) >= 256 {
		delete(l.files, l.fileQ[0])
		l.fileQ = l.fileQ[1:]
	}
	l.files[key] = files
	l.fileQ = append(l.fileQ, key)
	l.mu.Unlock()
	return files, nil
}

// localPath turns a data file URI into a path inside the warehouse.
func (l *Lake) localPath(uri string) (string, error) {
	p := uri
	switch {
	case strings.HasPrefix(p, "file://"):
		p = strings.TrimPrefix(p, "file://")
	case strings.HasPrefix(p, "file:"):
		p = strings.TrimPrefix(p, "file:")
	case strings.Contains(p, "://"):
		return "", fmt.Errorf("%w: data file %s is not on the local file system", ErrUnsupported, uri)
	}
	p = filepath.Clean(p)
	if !strings.HasPrefix(p, l.warehouse) {
		return "", fmt.Errorf("%w: data file %s lies outside the warehouse %s", ErrUnsupported, p, l.warehouse)
	}
	return p, nil
}

// RowCount is the number of rows of the pinned snapshot as its manifest list
// records them (added plus existing rows of its data manifests), read without
// opening a data file or manifest. ok is false when the list cannot tell:
// a delete manifest (positional or equality deletes, so rows live in data
// files but are deleted) or a manifest without row counts.
func (l *Lake) RowCount(ctx context.Context, p *Pin) (n int64, ok bool, err error) {
	if p.Snapshot == nil {
		return 0, true, nil
	}
	key := fmt.Sprintf("%s@%d", p.Table.Location(), p.Snapshot.SnapshotID)
	l.mu.Lock()
	n, ok = l.counts[key]
	l.mu.Unlock()
	if ok {
		return n, n >= 0, nil
	}
	fs, err := p.Table.FS(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("%s: open file system: %w", p.Name, err)
	}
	manifests, err := p.Snapshot.Manifests(fs)
	if err != nil {
		return 0, false, fmt.Errorf("read manifest list of %s at snapshot %d: %w", p.Name, p.Snapshot.SnapshotID, err)
	}
	for _, m := range manifests {
		if m.ManifestContent() != iceberg.ManifestContentData || m.AddedRows() < 0 || m.ExistingRows() < 0 {
			n = -1
			break
		}
		n += m.AddedRows() + m.ExistingRows()
	}
	l.mu.Lock()
	if len(l.counts) >= 4096 {
		clear(l.counts)
	}
	l.counts[key] = n
	l.mu.Unlock()
	return n, n >= 0, nil
}
