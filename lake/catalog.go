// Package lake owns finlake's Iceberg side that every component shares:
// where the catalog and warehouse live, opening the SQL catalog, the table
// schemas and partition specs, and the snapshot-summary offset helpers.
package lake

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/finlake/finlake/contract"
)

// CatalogName is the Iceberg catalog name every reader must use.
const CatalogName = "finlake"

// Namespace holds every finlake table.
const Namespace = "lake"

// Config locates the catalog and the warehouse; empty fields derive from
// DataDir by the contract's layout.
type Config struct {
	DataDir    string // default contract.DefaultDataDir
	CatalogURI string // SQLite path, sqlite:// or file: URI, or postgres:// URI; default <data>/catalog.db
	Warehouse  string // default <data>/warehouse
}

// WarehouseDir is the absolute warehouse directory.
func (c Config) WarehouseDir() (string, error) {
	w := c.Warehouse
	if w == "" {
		w = contract.DataDir{Root: c.DataDir}.Warehouse()
	}
	w = strings.TrimPrefix(w, "file://")
	return filepath.Abs(w)
}

// catalogDSN returns the database/sql driver name and DSN for the catalog.
func (c Config) catalogDSN() (driver, dsn string, dialect sqlcat.SupportedDialect, err error) {
	uri := c.CatalogURI
	if strings.HasPrefix(uri, "postgres://") || strings.HasPrefix(uri, "postgresql://") {
		return "pgx", uri, sqlcat.Postgres, nil
	}
	path := uri
	if path == "" {
		path = contract.DataDir{Root: c.DataDir}.Catalog()
	}
	path = strings.TrimPrefix(strings.TrimPrefix(path, "sqlite://"), "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", "", "", fmt.Errorf("catalog path %q: %w", path, err)
	}
	// WAL and a busy timeout: several processes (ingest, serve, maintain) open
	// the catalog at once and would otherwise fail with SQLITE_BUSY.
	dsn = "file:" + abs + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	return sqliteshim.ShimName, dsn, sqlcat.SQLite, nil
}

// OpenCatalog opens (creating where needed) the SQL catalog named "finlake".
// The returned close function releases the database handle.
func OpenCatalog(ctx context.Context, cfg Config) (*sqlcat.Catalog, func() error, error) {
	wh, err := cfg.WarehouseDir()
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(wh, 0o755); err != nil {
		return nil, nil, fmt.Errorf("create warehouse %s: %w", wh, err)
	}
	driver, dsn, dialect, err := cfg.catalogDSN()
	if err != nil {
		return nil, nil, err
	}
	if driver == sqliteshim.ShimName {
		if err := os.MkdirAll(filepath.Dir(strings.TrimPrefix(dsn[:strings.IndexByte(dsn, '?')], "file:")), 0o755); err != nil {
			return nil, nil, fmt.Errorf("create catalog directory: %w", err)
		}
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("open catalog database: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("connect to catalog database (%s): %w", driver, err)
	}
	cat, err := sqlcat.NewCatalog(CatalogName, db, dialect, iceberg.Properties{
		"warehouse": "file://" + wh,
	})
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("open SQL catalog: %w", err)
	}
	return cat, db.Close, nil
}

// Ident is the catalog identifier of a table in the lake namespace.
func Ident(table string) []string { return catalog.ToIdentifier(Namespace, table) }
