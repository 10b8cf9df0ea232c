//go:build duckdb_arrow

package flight

import (
	"context"
	"fmt"
	"sync"

	"github.com/finlake/finlake/flight/engine"
	"github.com/finlake/finlake/flight/lakeview"
	"github.com/finlake/finlake/flight/share"
	"github.com/finlake/finlake/flight/sqlrewrite"
)

// errShare marks what a share session may not do.
var errShare = fmt.Errorf("%w: share session", errRefused)

// RefusalShare is the ErrorInfo reason of a share session's refusals: SQL
// that reads anything but the masked lake tables, $files, EXPLAIN.
const RefusalShare = "SHARE"

// shareFirstWords are the statements a share session may send.
var shareFirstWords = map[string]bool{"SELECT": true, "WITH": true, "FROM": true, "VALUES": true, "DESCRIBE": true, "SUMMARIZE": true}

// shareDB is the DuckDB database of share sessions and its pseudonym table,
// opened at the first share query: a database of its own, so no reader's
// SQL can reach the pseudonyms of raw ids.
type shareDB struct {
	keyFile string
	opts    engine.Options

	mu     sync.Mutex
	db     *engine.DB
	masker *share.Masker
}

func (d *shareDB) open(ctx context.Context) (*engine.DB, *share.Masker, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.db != nil {
		return d.db, d.masker, nil
	}
	if d.keyFile == "" {
		return nil, nil, fmt.Errorf("%w: this server has no pseudonym key file (lakectl serve --share-key-file)", errShare)
	}
	key, err := share.LoadKey(d.keyFile)
	if err != nil {
		return nil, nil, err
	}
	db, err := engine.Open(d.opts)
	if err != nil {
		return nil, nil, err
	}
	m, err := share.New(ctx, db, key)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	d.db, d.masker = db, m
	return db, m, nil
}

func (d *shareDB) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.db != nil {
		d.db.Close()
		d.db = nil
	}
}

// checkShareSQL refuses, for a share session, every statement but a query
// and every query that reads something besides lake tables and its own CTEs:
// no table function (read_parquet, query, glob ...), no file name, no
// DuckDB catalog table, no EXPLAIN (its plan would show the pseudonym
// table's name and the file paths).
func checkShareSQL(toks []sqlrewrite.Token, q *sqlrewrite.Query) error {
	if kw := sqlrewrite.FirstKeyword(toks); !shareFirstWords[kw] {
		return fmt.Errorf("%w: a share session may send only queries (SELECT, WITH, FROM, VALUES, DESCRIBE, SUMMARIZE), not %s", errShare, kw)
	}
	for _, f := range q.Foreign {
		return fmt.Errorf("%w: a share session reads only the lake's tables (lake.<table>, $snapshots, $history) and its own CTEs; %s is a %s", errShare, f.What, f.Why)
	}
	return nil
}

// maskedTableSQL is the share session's table expression of a pinned table:
// the raw one wrapped so account_id and the ids in free text are pseudonyms,
// after every id in its files has one.
func (s *Server) maskedTableSQL(ctx context.Context, m *share.Masker, pin *lakeview.Pin, raw string) (string, error) {
	if share.HasID(pin.Schema.Fields()) {
		files, err := s.lake.Files(ctx, pin)
		if err != nil {
			return "", err
		}
		paths := make([]string, len(files))
		for i, f := range files {
			paths[i] = f.Path
		}
		if err := m.Ensure(ctx, paths, func(p []string) (string, error) { return s.lake.FilesSQL(pin, p) }); err != nil {
			return "", err
		}
	}
	return m.TableSQL(raw, pin.Schema.Fields()), nil
}
