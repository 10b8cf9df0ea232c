//go:build duckdb_arrow

package flight

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/finlake/finlake/flight/engine"
	"github.com/finlake/finlake/flight/lakeview"
	"github.com/finlake/finlake/flight/share"
	"github.com/finlake/finlake/flight/sqlrewrite"
)

// readKeywords are the first words a read query may start with; everything
// else is refused before DuckDB parses it.
var readKeywords = map[string]bool{"SELECT": true, "WITH": true, "VALUES": true, "FROM": true, "TABLE": true,
	"EXPLAIN": true, "DESCRIBE": true, "SHOW": true, "SUMMARIZE": true}

// planned is a query ready to run: its DuckDB text with every lake table
// pinned, and its result schema.
type planned struct {
	sql     string
	admin   *sqlrewrite.AddColumn // non-nil: the admin statement instead of a query
	query   string                // what the user wrote
	back    sqlrewrite.Rendered   // from sql's offsets to query's
	notNull []bool                // per result column, when the query only projects one table: the table's NOT NULL

	asOf   sqlrewrite.AsOf   // the query-wide pin it was planned with
	tables *lakeview.Tables  // the tables as the plan saw them
	loaded map[string]string // table -> metadata location of each table the plan read
	schema *arrow.Schema     // result schema, once known
	pins   []*lakeview.Pin   // the snapshots that answer, named in the result schema's metadata

	share bool       // planned for a share session: masked tables, run on the share database
	db    *engine.DB // the database it runs on
}

// current reports whether the plan still reads what planning the query now
// would: the lake has the same tables and none the plan read has had a
// commit since. A plan pinned to a snapshot id or instant stays current
// too only while that holds: a table's history may be expired meanwhile.
func (p *planned) current(now *lakeview.Tables) bool {
	if p.tables == nil || len(now.Names) != len(p.tables.Names) {
		return false
	}
	for i, n := range now.Names {
		if p.tables.Names[i] != n {
			return false
		}
	}
	for name, loc := range p.loaded {
		if now.Location(name) == "" || now.Location(name) != loc {
			return false
		}
	}
	return true
}

// userError makes a DuckDB error about the rewritten SQL speak of the user's
// text: its position re-pointed there, and no excerpt of the rewritten text
// (the warehouse's file paths) anywhere.
func (p *planned) userError(err error) error {
	var e *engine.Error
	if p == nil || !errors.As(err, &e) || e.Query != "" {
		return err
	}
	u := *e
	u.Query = p.query
	if u.Position >= 0 {
		u.Position = p.back.Original(u.Position)
	}
	return &u
}

// tableNames adapts the lake's table list to the rewriter.
type tableNames struct {
	lk    *lakeview.Lake
	names map[string]bool
}

func (t tableNames) Namespace() string         { return t.lk.Namespace() }
func (t tableNames) CatalogName() string       { return t.lk.CatalogName() }
func (t tableNames) HasTable(name string) bool { return t.names[name] }

// plan checks and rewrites one statement. asOf pins every table reference
// that has no clause of its own. Each table is loaded once, and each
// (table, point in time) pinned once, so a query sees one consistent state.
func (s *Server) plan(ctx context.Context, query string, asOf sqlrewrite.AsOf) (*planned, error) {
	if strings.ContainsRune(query, 0) {
		// DuckDB's C API would see only the text before the NUL, not what was checked here.
		return nil, fmt.Errorf("%w: the query contains a NUL byte", errInvalid)
	}
	toks, err := sqlrewrite.Tokenize(query)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalid, err)
	}
	switch n := sqlrewrite.StatementCount(toks); {
	case n == 0:
		return nil, fmt.Errorf("%w: empty query", errInvalid)
	case n > 1:
		return nil, fmt.Errorf("%w: %d statements in one query; send exactly one SELECT", errRefused, n)
	}
	if sqlrewrite.IsAlter(toks) {
		ac, err := sqlrewrite.ParseAddColumn(toks, s.lake.Namespace())
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errRefused, err)
		}
		return &planned{admin: ac}, nil
	}
	shared := s.roleOf(ctx) == RoleShare
	if kw := sqlrewrite.FirstKeyword(toks); !readKeywords[kw] {
		return nil, fmt.Errorf("%w: only read queries (SELECT) are allowed, not %s; the one admin statement is ALTER TABLE %s.<table> ADD COLUMN", errRefused, kw, s.lake.Namespace())
	}
	if err := checkWrapped(toks); err != nil {
		return nil, err
	}
	now, err := s.lake.Current(ctx)
	if err != nil {
		return nil, err
	}
	names := now.Names
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	q, err := sqlrewrite.Parse(query, tableNames{s.lake, set})
	if err != nil {
		return nil, err
	}
	db := s.db
	var masker *share.Masker
	if shared {
		if err := checkShareSQL(toks, q); err != nil {
			return nil, err
		}
		if db, masker, err = s.share.open(ctx); err != nil {
			return nil, err
		}
	}
	loaded := map[string]*lakeview.Pin{} // table name -> table at load time (current)
	pinned := map[string]*lakeview.Pin{} // table + as-of -> pin
	exprs := map[string]string{}         // pin + meta kind -> SQL
	load := func(name string) (*lakeview.Pin, error) {
		if base, ok := loaded[name]; ok {
			return base, nil
		}
		tbl, err := s.lake.LoadIn(ctx, now, name)
		if err != nil {
			return nil, err
		}
		base := &lakeview.Pin{Name: name, Table: tbl}
		loaded[name] = base
		return base, nil
	}
	// A snapshot id in the header belongs to one table; every other table is
	// pinned at the instant that snapshot was committed, so the whole query
	// still sees one moment.
	var headerInstant *sqlrewrite.AsOf
	if asOf.Kind == sqlrewrite.Version {
		for _, name := range names {
			base, err := load(name)
			if err != nil {
				return nil, err
			}
			if snap := base.Table.SnapshotByID(asOf.Version); snap != nil {
				headerInstant = &sqlrewrite.AsOf{Kind: sqlrewrite.Timestamp, Time: time.UnixMilli(snap.TimestampMs)}
				break
			}
		}
		if headerInstant == nil {
			return nil, fmt.Errorf("%w: no table of %s has snapshot %d (header %s)", lakeview.ErrNotFound, s.lake.Namespace(), asOf.Version, AsOfHeader)
		}
	}
	// SELECT count(*) FROM <table> is answered from the manifest list when
	// it can tell (the same BIGINT column DuckDB would give), not by DuckDB
	// opening every data file.
	countName, countOnly := q.CountStar()
	countOnly = countOnly && !s.opts.NoMetadataAnswers
	// SELECT min(c), max(c) FROM <table> reads a relation of each column's
	// extremes instead, when the metadata tells them: DuckDB still computes
	// the result, so its names and types are DuckDB's own.
	extremeCols, extremesOnly := q.MinMax()
	// (Never for a share session: the extremes of account_id are raw ids.)
	extremesOnly = extremesOnly && !s.opts.NoMetadataAnswers && !shared
	var counted *int64
	var lastPin *lakeview.Pin
	back, err := q.RenderMapped(func(_ int, r sqlrewrite.Ref) (string, error) {
		base, err := load(r.Table)
		if err != nil {
			return "", err
		}
		at, derived := r.AsOf, false
		if at.Kind == sqlrewrite.Current {
			at = asOf
			if at.Kind == sqlrewrite.Version && base.Table.SnapshotByID(at.Version) == nil {
				at, derived = *headerInstant, true
			}
		}
		key := r.Table + "|" + at.String()
		pin, ok := pinned[key]
		if !ok {
			if pin, err = lakeview.PinAt(base.Table, r.Table, at); err != nil {
				// An instant the user chose (--as-of or FOR TIMESTAMP AS OF)
				// before a table's first snapshot is an error either way: the
				// table did not exist then, or its history was expired. Only the
				// instant derived from another table's snapshot id reads a table
				// that had no snapshot yet as empty: the user pinned that other
				// table, not this one.
				if !derived || !errors.Is(err, lakeview.ErrNotFound) {
					return "", err
				}
				pin = &lakeview.Pin{Name: r.Table, Table: base.Table, Schema: firstSchema(base.Table)}
			}
			pinned[key] = pin
		}
		lastPin = pin
		if countOnly && r.Meta == "" {
			n, ok, err := s.lake.RowCount(ctx, pin)
			if err != nil {
				return "", err
			}
			if ok {
				counted = &n
				return "(SELECT NULL)", nil
			}
		}
		if extremesOnly && r.Meta == "" {
			e, ok, err := s.lake.MinMaxSQL(ctx, pin, extremeCols)
			if err != nil {
				return "", err
			}
			if ok {
				return e, nil
			}
		}
		ekey := key + "|" + r.Meta
		if e, ok := exprs[ekey]; ok {
			return e, nil
		}
		var e string
		if r.Meta != "" {
			e, err = s.lake.MetaSQL(ctx, pin, r.Meta, shared)
		} else if e, err = s.lake.TableSQL(ctx, pin); err == nil && shared {
			e, err = s.maskedTableSQL(ctx, masker, pin, e)
		}
		if err != nil {
			return "", err
		}
		exprs[ekey] = e
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	p := &planned{sql: back.SQL, query: query, back: back, tables: now, asOf: asOf, share: shared, db: db}
	if counted != nil {
		p.sql = fmt.Sprintf("SELECT CAST(%d AS BIGINT) AS %s", *counted, sqlrewrite.QuoteIdent(countName))
		p.back = sqlrewrite.Rendered{SQL: p.sql}
	}
	for name, base := range loaded {
		if p.loaded == nil {
			p.loaded = map[string]string{}
		}
		p.loaded[name] = base.Table.MetadataLocation()
	}
	for _, pin := range pinned {
		p.pins = append(p.pins, pin)
	}
	if cols, ok := q.Projection(); ok {
		p.notNull = notNullColumns(cols, lastPin.Schema)
	}
	return p, nil
}

// notNullColumns says, per result column of a plain projection, whether the
// table's schema declares it required. A required column with an initial
// default is not: files written before it existed read NULL (lakeview does
// not apply defaults).
func notNullColumns(cols []sqlrewrite.Column, sc *iceberg.Schema) []bool {
	notNull := func(f iceberg.NestedField) bool { return f.Required && f.InitialDefault == nil }
	var out []bool
	for _, c := range cols {
		if c.Star {
			for _, f := range sc.Fields() {
				out = append(out, notNull(f))
			}
			continue
		}
		found := false
		for _, f := range sc.Fields() {
			if strings.EqualFold(f.Name, c.Name) {
				out, found = append(out, notNull(f)), true
				break
			}
		}
		if !found {
			out = append(out, false)
		}
	}
	return out
}

// prepareSQL prepares a planned query on a fresh connection, or takes an
// idle statement of the same text from the pool; its errors speak of the
// user's text, and its schema keeps the table's NOT NULL columns.
func (s *Server) prepareSQL(ctx context.Context, p *planned) (*engine.Conn, *engine.Stmt, error) {
	if conn, st, ok := s.pool.take(p.poolKey()); ok {
		return conn, st, nil
	}
	db := p.db
	if db == nil {
		db = s.db
	}
	conn, err := db.Connect()
	if err != nil {
		return nil, nil, err
	}
	st, err := conn.Prepare(ctx, p.sql)
	if err != nil {
		conn.Close()
		return nil, nil, p.userError(err)
	}
	st.MarkNotNull(p.notNull)
	return conn, st, nil
}

// recycle gives a statement that ran to its end, or never ran, back to the
// pool for the next query of the same text.
func (s *Server) recycle(p *planned, conn *engine.Conn, st *engine.Stmt) {
	s.pool.put(p.poolKey(), conn, st)
}

// poolKey is what a pooled statement must match: the DuckDB text and the
// NOT NULL marks of its schema.
func (p *planned) poolKey() string {
	var b strings.Builder
	b.Grow(len(p.sql) + 2 + len(p.notNull))
	if p.share {
		b.WriteByte('s') // another database's connection
	}
	b.WriteString(p.sql)
	b.WriteByte(0)
	for _, n := range p.notNull {
		if n {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	return b.String()
}

func describeAddColumn(ns string, ac *sqlrewrite.AddColumn) string {
	typ := ac.Type
	if typ == "DECIMAL" {
		typ = fmt.Sprintf("DECIMAL(%d,%d)", ac.Precision, ac.Scale)
	}
	s := fmt.Sprintf("%s.%s ADD COLUMN %s %s", ns, ac.Table, ac.Column, typ)
	if ac.Comment != "" {
		s += " COMMENT " + sqlrewrite.QuoteString(ac.Comment)
	}
	return strings.TrimSpace(s)
}

// checkWrapped refuses EXPLAIN, DESCRIBE and SUMMARIZE around anything but a
// query: EXPLAIN ANALYZE runs its statement, so EXPLAIN ANALYZE COPY ... would
// write a file while DuckDB reports the statement as an EXPLAIN.
func checkWrapped(toks []sqlrewrite.Token) error {
	var words []sqlrewrite.Token
	for _, t := range toks {
		if t.Significant() {
			words = append(words, t)
		}
		if len(words) == 4 {
			break
		}
	}
	if len(words) == 0 {
		return nil
	}
	first := words[0].Upper()
	if first != "EXPLAIN" && first != "DESCRIBE" && first != "SUMMARIZE" {
		return nil
	}
	i := 1
	if i < len(words) && words[i].Upper() == "ANALYZE" {
		i++
	}
	if i >= len(words) {
		return nil // DuckDB reports the syntax error
	}
	next := words[i]
	if next.Kind == sqlrewrite.Punct && next.Text == "(" {
		if first == "EXPLAIN" {
			return fmt.Errorf("%w: EXPLAIN options are not supported; write EXPLAIN [ANALYZE] SELECT ...", errRefused)
		}
		return nil
	}
	kw := next.Upper()
	if readKeywords[kw] && kw != "EXPLAIN" {
		return nil
	}
	if first != "EXPLAIN" && (next.Kind == sqlrewrite.QuotedIdent || next.Kind == sqlrewrite.Word) && !statementWords[kw] {
		return nil // DESCRIBE <table>
	}
	return fmt.Errorf("%w: %s is allowed only around a read query, not %s", errRefused, first, kw)
}

// statementWords start statements that are not queries.
var statementWords = map[string]bool{"COPY": true, "INSERT": true, "UPDATE": true, "DELETE": true, "CREATE": true,
	"DROP": true, "ALTER": true, "ATTACH": true, "DETACH": true, "INSTALL": true, "LOAD": true, "FORCE": true,
	"SET": true, "RESET": true, "PRAGMA": true, "CALL": true, "EXPORT": true, "IMPORT": true, "CHECKPOINT": true,
	"VACUUM": true, "BEGIN": true, "COMMIT": true, "ROLLBACK": true, "ANALYZE": true, "PREPARE": true, "EXECUTE": true,
	"DEALLOCATE": true, "MERGE": true, "USE": true, "PIVOT": true, "UNPIVOT": true, "UPDATE_EXTENSIONS": true}

// firstSchema is the schema a table was created with.
func firstSchema(t *table.Table) *iceberg.Schema {
	schemas := t.Metadata().Schemas()
	if len(schemas) == 0 {
		return t.Schema()
	}
	first := schemas[0]
	for _, sc := range schemas {
		if sc.ID < first.ID {
			first = sc
		}
	}
	return first
}
