package lake

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Locator reads where each table's current metadata lives straight from the
// SQL catalog's iceberg_tables rows: one indexed query, no metadata file
// read. A reader that caches parsed table metadata keyed by this location
// sees every commit at once (a commit swaps the row) and never an older one.
type Locator struct {
	db    *sql.DB
	query string
	stmt  *sql.Stmt // query, prepared once: parsing it was most of a lookup's cost
}

// OpenLocator opens its own handle on cfg's catalog database (the catalog
// must exist: OpenCatalog creates it).
func OpenLocator(ctx context.Context, cfg Config) (*Locator, error) {
	driver, dsn, _, err := cfg.catalogDSN()
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open catalog database for metadata locations: %w", err)
	}
	ph := func(i int) string { return "?" }
	if driver == "pgx" {
		ph = func(i int) string { return fmt.Sprintf("$%d", i) }
	}
	base := fmt.Sprintf("SELECT table_name, metadata_location FROM iceberg_tables WHERE catalog_name = %s AND table_namespace = %s", ph(1), ph(2))
	l := &Locator{db: db, query: base + " AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)"}
	// Catalogs created before iceberg-go's schema v1 have no iceberg_type
	// column (and no views).
	if _, err := l.Locations(ctx, Namespace); err != nil && strings.Contains(err.Error(), "iceberg_type") {
		l.query = base
	}
	if l.stmt, err = db.PrepareContext(ctx, l.query); err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare the metadata location query: %w", err)
	}
	return l, nil
}

// Close releases the database handle.
func (l *Locator) Close() error {
	if l.stmt != nil {
		l.stmt.Close()
	}
	return l.db.Close()
}

// Locations maps each table of namespace (lower-case name) to its current
// metadata file.
func (l *Locator) Locations(ctx context.Context, namespace string) (map[string]string, error) {
	var rows *sql.Rows
	var err error
	if l.stmt != nil {
		rows, err = l.stmt.QueryContext(ctx, CatalogName, namespace)
	} else {
		rows, err = l.db.QueryContext(ctx, l.query, CatalogName, namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("read metadata locations of %s: %w", namespace, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name string
		var loc sql.NullString
		if err := rows.Scan(&name, &loc); err != nil {
			return nil, fmt.Errorf("read metadata locations of %s: %w", namespace, err)
		}
		if loc.Valid {
			out[strings.ToLower(name)] = loc.String
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read metadata locations of %s: %w", namespace, err)
	}
	return out, nil
}
