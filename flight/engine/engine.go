//go:build duckdb_arrow

// Package engine owns finlake's embedded DuckDB: one sandboxed in-memory
// database per server, read-only statements checked before they run, and
// results streamed chunk by chunk as Arrow record batches (the database/sql
// Arrow path of duckdb-go materializes whole results, so this package talks to
// the lower-level duckdb-go-bindings directly).
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/util"
	ddb "github.com/duckdb/duckdb-go-bindings"
)

// Error kinds a caller maps onto its protocol's status codes.
var (
	// ErrRefused marks statements this engine will not run (writes, DDL,
	// settings, extensions, several statements at once, files outside the
	// sandbox).
	ErrRefused = errors.New("refused")
	// ErrFileAccess is the ErrRefused of a read the sandbox stopped: a file
	// outside the allowed directories, or any file a query names itself.
	ErrFileAccess = fmt.Errorf("%w: file access", ErrRefused)
	// ErrInvalid marks SQL that does not parse or bind.
	ErrInvalid = errors.New("invalid query")
	// ErrInterrupted marks a query stopped by its context (timeout or cancel).
	ErrInterrupted = errors.New("query interrupted")
	// ErrExecution marks a failure while running an accepted statement.
	ErrExecution = errors.New("query failed")
	// ErrResources marks a query that needed more memory or spill space than
	// the database's limits (Options.MemoryLimit, MaxTempSize) leave it.
	ErrResources = errors.New("out of memory")
)

// Options configure the sandbox and resources of the database.
type Options struct {
	// AllowedDirs are the only directories queries may read (the warehouse).
	AllowedDirs []string
	// TempDir is where DuckDB spills; empty disables spilling.
	TempDir string
	// MemoryLimit like "2GB"; empty keeps DuckDB's default (80% of RAM).
	MemoryLimit string
	// Threads; 0 keeps DuckDB's default (all cores).
	Threads int
	// MaxTempSize bounds the spill files, like "4GB"; empty keeps DuckDB's
	// default (90% of the free disk).
	MaxTempSize string
}

// DB is a sandboxed in-memory DuckDB database.
type DB struct {
	db   ddb.Database
	mu   sync.Mutex
	open bool
}

// Open creates the database and locks it down. The settings are applied in
// the order that makes them stick: the directory allow-list before external
// access is switched off (afterwards it can no longer be changed), extension
// install/autoload off, and finally the configuration locked so no query can
// undo any of it.
func Open(opts Options) (*DB, error) {
	var cfg ddb.Config
	if ddb.CreateConfig(&cfg) == ddb.StateError {
		return nil, errors.New("duckdb: create config")
	}
	defer ddb.DestroyConfig(&cfg)
	var db ddb.Database
	var msg string
	if ddb.OpenExt(":memory:", &db, cfg, &msg) == ddb.StateError {
		return nil, fmt.Errorf("duckdb: open: %s", msg)
	}
	d := &DB{db: db, open: true}
	var conn ddb.Connection
	if ddb.Connect(db, &conn) == ddb.StateError {
		d.Close()
		return nil, errors.New("duckdb: connect")
	}
	defer ddb.Disconnect(&conn)

	quoted := make([]string, 0, len(opts.AllowedDirs))
	for _, dir := range opts.AllowedDirs {
		if !strings.HasSuffix(dir, "/") {
			dir += "/"
		}
		quoted = append(quoted, QuoteString(dir))
	}
	stmts := []string{
		"SET TimeZone='UTC'",
		"SET allowed_directories=[" + strings.Join(quoted, ",") + "]",
	}
	if opts.TempDir != "" {
		stmts = append(stmts, "SET temp_directory="+QuoteString(opts.TempDir))
	} else {
		stmts = append(stmts, "SET temp_directory=''")
	}
	if opts.MemoryLimit != "" {
		stmts = append(stmts, "SET memory_limit="+QuoteString(opts.MemoryLimit))
	}
	if opts.Threads > 0 {
		stmts = append(stmts, fmt.Sprintf("SET threads=%d", opts.Threads))
	}
	if opts.MaxTempSize != "" && opts.TempDir != "" {
		stmts = append(stmts, "SET max_temp_directory_size="+QuoteString(opts.MaxTempSize))
	}
	stmts = append(stmts,
		"SET parquet_metadata_cache=true",
		// Iceberg promises no row order across files; without this DuckDB holds
		// back chunks to keep file order, which delays the first batch of a scan
		// and buffers memory. ORDER BY is unaffected.
		"SET preserve_insertion_order=false",
		"SET enable_external_access=false",
		// Errors as JSON carry the byte offset they point at, so a caller
		// that rewrote the query can point into the text its user wrote
		// (see Error) instead of DuckDB's excerpt of the rewritten one.
		"SET GLOBAL errors_as_json=true",
		"SET autoinstall_known_extensions=false",
		"SET autoload_known_extensions=false",
		"SET allow_community_extensions=false",
		"SET lock_configuration=true",
	)
	for _, s := range stmts {
		if err := exec(conn, s); err != nil {
			d.Close()
			return nil, fmt.Errorf("duckdb sandbox %q: %w", s, err)
		}
	}
	return d, nil
}

func exec(conn ddb.Connection, sql string) error {
	var res ddb.Result
	defer ddb.DestroyResult(&res)
	if ddb.Query(conn, sql, &res) == ddb.StateError {
		return errors.New(ddb.ResultError(&res))
	}
	return nil
}

// Close releases the database; open connections must be closed first.
func (d *DB) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.open {
		ddb.Close(&d.db)
		d.open = false
	}
}

// Exec runs one statement of the server's own (never a client's: it is not
// checked), e.g. the share database's pseudonym table and its inserts.
func (d *DB) Exec(ctx context.Context, sql string) error {
	c, err := d.Connect()
	if err != nil {
		return err
	}
	defer c.Close()
	stop := c.watch(ctx)
	defer stop()
	if err := exec(c.conn, sql); err != nil {
		return classify(ctx, err.Error())
	}
	return nil
}

// Conn is one DuckDB connection; use it from one goroutine at a time.
type Conn struct {
	conn ddb.Connection
	mu   sync.Mutex
	done bool
}

// Connect opens a connection (cheap: DuckDB connections share the database).
func (d *DB) Connect() (*Conn, error) {
	var conn ddb.Connection
	if ddb.Connect(d.db, &conn) == ddb.StateError {
		return nil, errors.New("duckdb: connect")
	}
	return &Conn{conn: conn}, nil
}

// Close disconnects.
func (c *Conn) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.done {
		ddb.Disconnect(&c.conn)
		c.done = true
	}
}

// interrupt stops whatever the connection is running; safe from any goroutine.
func (c *Conn) interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.done {
		ddb.Interrupt(c.conn)
	}
}

// watch interrupts the connection when ctx ends, until the returned stop is called.
func (c *Conn) watch(ctx context.Context) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			c.interrupt()
		case <-quit:
		}
	}()
	return func() { close(quit); wg.Wait() }
}

// Stmt is a prepared read-only statement.
type Stmt struct {
	c      *Conn
	stmt   ddb.PreparedStatement
	schema *arrow.Schema
}

// Prepare parses sql, refuses anything but exactly one read statement
// (SELECT, or EXPLAIN of one), and prepares it. Nothing is executed: the
// statements are only extracted and the single one prepared, so a second
// statement in the string can never run as a side effect.
func (c *Conn) Prepare(ctx context.Context, sql string) (*Stmt, error) {
	stop := c.watch(ctx)
	defer stop()
	var ext ddb.ExtractedStatements
	defer ddb.DestroyExtracted(&ext)
	n := ddb.ExtractStatements(c.conn, sql, &ext)
	if n == 0 {
		msg := ddb.ExtractStatementsError(ext)
		if msg == "" {
			return nil, fmt.Errorf("%w: empty query", ErrInvalid)
		}
		return nil, classify(ctx, msg)
	}
	if n > 1 {
		return nil, fmt.Errorf("%w: %d statements in one query; send exactly one SELECT", ErrRefused, n)
	}
	var ps ddb.PreparedStatement
	if ddb.PrepareExtractedStatement(c.conn, ext, 0, &ps) == ddb.StateError {
		msg := ddb.PrepareError(ps)
		ddb.DestroyPrepare(&ps)
		return nil, classify(ctx, msg)
	}
	st := ddb.PreparedStatementType(ps)
	if st != ddb.StatementTypeSelect && st != ddb.StatementTypeExplain {
		ddb.DestroyPrepare(&ps)
		return nil, fmt.Errorf("%w: only read queries (SELECT) are allowed, got a %s statement", ErrRefused, statementName(st))
	}
	s := &Stmt{c: c, stmt: ps}
	schema, err := s.buildSchema()
	if err != nil {
		ddb.DestroyPrepare(&ps)
		return nil, err
	}
	s.schema = schema
	return s, nil
}

// Error is a failure DuckDB reported: its kind (one of this package's Err
// values), DuckDB's exception type and message without any excerpt of the
// statement, and the byte offset in the statement it points at. The statement
// DuckDB saw may not be the one the user wrote: a caller that rewrote it sets
// Query to the user's text and Position to the matching offset there, and the
// message then shows that text with a caret.
type Error struct {
	Kind     error
	Type     string // "Binder", "Permission", ...
	Message  string
	Position int    // byte offset; -1: none
	Query    string // the text Position points into; "": no excerpt
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%v: %s", e.Kind, e.Message)
	if e.Type != "" {
		s = fmt.Sprintf("%v: %s Error: %s", e.Kind, e.Type, e.Message)
	}
	if e.Query != "" && e.Position >= 0 && e.Position <= len(e.Query) {
		s += "\n\n" + Excerpt(e.Query, e.Position)
	}
	return s
}

func (e *Error) Unwrap() error { return e.Kind }

// Excerpt is DuckDB's way of showing where in sql an error is: the line
// holding byte offset pos (at most about 80 characters of it) and a caret
// under pos.
func Excerpt(sql string, pos int) string {
	line := 1 + strings.Count(sql[:pos], "\n")
	start := strings.LastIndexByte(sql[:pos], '\n') + 1
	end := len(sql)
	if i := strings.IndexByte(sql[pos:], '\n'); i >= 0 {
		end = pos + i
	}
	before, after := []rune(sql[start:pos]), []rune(sql[pos:end])
	head, tail := "", ""
	if len(before) > 40 {
		before, head = before[len(before)-37:], "..."
	}
	if len(after) > 40 {
		after, tail = after[:37], "..."
	}
	prefix := fmt.Sprintf("LINE %d: %s", line, head)
	return prefix + string(before) + string(after) + tail + "\n" +
		strings.Repeat(" ", len([]rune(prefix))+len(before)) + "^"
}

// classify turns a DuckDB error (JSON, as errors_as_json makes them; the
// parser may put its "Parser Error: " in front) into an *Error of one of this
// package's kinds.
func classify(ctx context.Context, msg string) error {
	e := &Error{Message: msg, Position: -1}
	var js map[string]string
	if i := strings.IndexByte(msg, '{'); i >= 0 && json.Unmarshal([]byte(msg[i:]), &js) == nil && js["exception_type"] != "" {
		e.Type, e.Message = js["exception_type"], js["exception_message"]
		if p, err := strconv.Atoi(js["position"]); err == nil {
			e.Position = p
		}
	} else if typ, rest, ok := strings.Cut(msg, " Error: "); ok {
		e.Type, e.Message = typ, rest
	}
	switch t := e.Type; {
	case ctx.Err() != nil || t == "INTERRUPT" || strings.Contains(e.Message, "Interrupted"):
		e.Kind = ErrInterrupted
	case t == "Permission":
		e.Kind = ErrFileAccess
	case t == "Parser", t == "Binder", t == "Catalog", t == "Conversion", t == "Invalid Input", t == "Not implemented", t == "Syntax":
		e.Kind = ErrInvalid
	case t == "Missing Extension", t == "Autoload", t == "IO" && strings.HasPrefix(e.Message, "Extension"):
		e.Kind = ErrRefused
	case t == "Out of Memory", strings.Contains(e.Message, "max_temp_directory_size"):
		e.Kind = ErrResources
	default:
		e.Kind = ErrExecution
	}
	return e
}

func statementName(t ddb.StatementType) string {
	names := map[ddb.StatementType]string{
		ddb.StatementTypeInsert: "INSERT", ddb.StatementTypeUpdate: "UPDATE", ddb.StatementTypeDelete: "DELETE",
		ddb.StatementTypePrepare: "PREPARE", ddb.StatementTypeCreate: "CREATE", ddb.StatementTypeExecute: "EXECUTE",
		ddb.StatementTypeAlter: "ALTER", ddb.StatementTypeTransaction: "transaction", ddb.StatementTypeCopy: "COPY",
		ddb.StatementTypeAnalyze: "ANALYZE", ddb.StatementTypeVariableSet: "SET VARIABLE",
		ddb.StatementTypeCreateFunc: "CREATE FUNCTION", ddb.StatementTypeDrop: "DROP", ddb.StatementTypeExport: "EXPORT",
		ddb.StatementTypePragma: "PRAGMA", ddb.StatementTypeVacuum: "VACUUM", ddb.StatementTypeCall: "CALL",
		ddb.StatementTypeSet: "SET", ddb.StatementTypeLoad: "LOAD/INSTALL", ddb.StatementTypeRelation: "relation",
		ddb.StatementTypeExtension: "extension", ddb.StatementTypeLogicalPlan: "logical plan",
		ddb.StatementTypeAttach: "ATTACH", ddb.StatementTypeDetach: "DETACH", ddb.StatementTypeMulti: "multi",
		ddb.StatementTypeCopyDatabase: "COPY DATABASE", ddb.StatementTypeUpdateExtensions: "UPDATE EXTENSIONS",
		ddb.StatementTypeMergeInto: "MERGE INTO",
	}
	if n, ok := names[t]; ok {
		return n
	}
	return "non-query"
}

func (s *Stmt) buildSchema() (*arrow.Schema, error) {
	n := int(ddb.PreparedStatementColumnCount(s.stmt))
	types := make([]ddb.LogicalType, n)
	names := make([]string, n)
	for i := 0; i < n; i++ {
		types[i] = ddb.PreparedStatementColumnLogicalType(s.stmt, ddb.IdxT(i))
		names[i] = ddb.PreparedStatementColumnName(s.stmt, ddb.IdxT(i))
	}
	defer func() {
		for i := range types {
			ddb.DestroyLogicalType(&types[i])
		}
	}()
	var opts ddb.ArrowOptions
	ddb.ConnectionGetArrowOptions(s.c.conn, &opts)
	defer ddb.DestroyArrowOptions(&opts)
	schema, ed := ddb.NewArrowSchema(opts, types, names)
	defer ddb.DestroyErrorData(&ed)
	if ddb.ErrorDataHasError(ed) {
		return nil, fmt.Errorf("%w: result schema (give untyped parameters a type, e.g. $1::INTEGER): %s", ErrInvalid, ddb.ErrorDataMessage(ed))
	}
	return schema, nil
}

// Schema is the Arrow schema of the statement's result.
func (s *Stmt) Schema() *arrow.Schema { return s.schema }

// MarkNotNull declares the result columns the caller knows hold no NULL
// (DuckDB reports every column nullable); the schema and every batch carry
// it. A notNull of another length than the result's columns is ignored.
func (s *Stmt) MarkNotNull(notNull []bool) {
	if len(notNull) != s.schema.NumFields() {
		return
	}
	fields := s.schema.Fields()
	for i := range fields {
		if notNull[i] {
			fields[i].Nullable = false
		}
	}
	md := s.schema.Metadata()
	s.schema = arrow.NewSchema(fields, &md)
}

// NumParams is the number of parameters ($1, ?) the statement takes.
func (s *Stmt) NumParams() int { return int(ddb.NParams(s.stmt)) }

// ParamSchema describes the parameters for clients that bind them; DuckDB
// often cannot infer their types, so unknown ones are reported as null type.
func (s *Stmt) ParamSchema() *arrow.Schema {
	n := s.NumParams()
	fields := make([]arrow.Field, n)
	for i := range fields {
		fields[i] = arrow.Field{Name: fmt.Sprintf("$%d", i+1), Type: paramArrowType(ddb.ParamType(s.stmt, ddb.IdxT(i+1))), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

func paramArrowType(t ddb.Type) arrow.DataType {
	switch t {
	case ddb.TypeBoolean:
		return arrow.FixedWidthTypes.Boolean
	case ddb.TypeTinyInt, ddb.TypeSmallInt, ddb.TypeInteger, ddb.TypeBigInt:
		return arrow.PrimitiveTypes.Int64
	case ddb.TypeFloat, ddb.TypeDouble:
		return arrow.PrimitiveTypes.Float64
	case ddb.TypeVarchar:
		return arrow.BinaryTypes.String
	default:
		return arrow.Null
	}
}

// Close releases the statement.
func (s *Stmt) Close() { ddb.DestroyPrepare(&s.stmt) }

// Bind binds one row of parameter values, positionally.
func (s *Stmt) Bind(values []any) error {
	if len(values) != s.NumParams() {
		return fmt.Errorf("%w: the query takes %d parameters, %d were bound", ErrInvalid, s.NumParams(), len(values))
	}
	ddb.ClearBindings(s.stmt)
	for i, v := range values {
		idx := ddb.IdxT(i + 1)
		var st ddb.State
		switch x := v.(type) {
		case nil:
			st = ddb.BindNull(s.stmt, idx)
		case bool:
			st = ddb.BindBoolean(s.stmt, idx, x)
		case int64:
			st = ddb.BindInt64(s.stmt, idx, x)
		case uint64:
			st = ddb.BindUInt64(s.stmt, idx, x)
		case float64:
			st = ddb.BindDouble(s.stmt, idx, x)
		case string:
			st = ddb.BindVarchar(s.stmt, idx, x)
		case []byte:
			st = ddb.BindBlob(s.stmt, idx, x)
		case Timestamp:
			st = ddb.BindTimestamp(s.stmt, idx, ddb.NewTimestamp(int64(x)))
		case TimestampTZ:
			st = ddb.BindTimestampTZ(s.stmt, idx, ddb.NewTimestamp(int64(x)))
		case Date:
			st = ddb.BindDate(s.stmt, idx, ddb.NewDate(int32(x)))
		default:
			return fmt.Errorf("%w: parameter %d has unsupported type %T", ErrInvalid, i+1, v)
		}
		if st == ddb.StateError {
			return fmt.Errorf("%w: cannot bind parameter %d (%v)", ErrInvalid, i+1, v)
		}
	}
	return nil
}

// Timestamp, TimestampTZ (microseconds since the epoch) and Date (days since
// the epoch) are parameter values with a DuckDB temporal type.
type (
	Timestamp   int64
	TimestampTZ int64
	Date        int32
)

// Limits bound what one execution may produce.
type Limits struct {
	BatchRows  int   // rows per emitted batch at most (default 65536)
	BatchBytes int64 // bytes per emitted batch at most (default 4 MiB)
	// MergeBytes: DuckDB's chunks (2048 rows) smaller than a quarter of it
	// are merged until the batch reaches it (default 1 MiB).
	MergeBytes int64
}

// Stream executes the statement and calls emit with record batches of at most
// Limits' size until the result is exhausted, emit fails or ctx ends (which
// interrupts DuckDB). emit owns the batch it receives and must release it.
func (s *Stmt) Stream(ctx context.Context, lim Limits, emit func(arrow.RecordBatch) error) error {
	if lim.BatchRows <= 0 {
		lim.BatchRows = 65536
	}
	if lim.BatchBytes <= 0 {
		lim.BatchBytes = 4 << 20
	}
	if lim.MergeBytes <= 0 {
		lim.MergeBytes = 1 << 20
	}
	lim.MergeBytes = min(lim.MergeBytes, lim.BatchBytes)
	stop := s.c.watch(ctx)
	defer stop()

	var pending ddb.PendingResult
	defer ddb.DestroyPending(&pending)
	if ddb.PendingPreparedStreaming(s.stmt, &pending) == ddb.StateError {
		return classify(ctx, ddb.PendingError(pending))
	}
	var res ddb.Result
	defer ddb.DestroyResult(&res)
	if ddb.ExecutePending(pending, &res) == ddb.StateError {
		return classify(ctx, ddb.ResultError(&res))
	}
	opts := ddb.ResultGetArrowOptions(&res)
	defer ddb.DestroyArrowOptions(&opts)

	b := batcher{schema: s.schema, lim: lim, emit: emit}
	defer b.release()
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w: %v", ErrInterrupted, context.Cause(ctx))
		}
		// duckdb_fetch_chunk returns NULL both at the end and on error; the
		// result's error string tells them apart.
		chunk := ddb.FetchChunk(res)
		if chunk.Ptr == nil {
			if msg := ddb.ResultError(&res); msg != "" {
				return classify(ctx, msg)
			}
			break
		}
		if ddb.DataChunkGetSize(chunk) == 0 {
			ddb.DestroyDataChunk(&chunk)
			break
		}
		rec, ed := ddb.DataChunkToArrowArray(opts, s.schema, chunk)
		ddb.DestroyDataChunk(&chunk)
		if ddb.ErrorDataHasError(ed) {
			msg := ddb.ErrorDataMessage(ed)
			ddb.DestroyErrorData(&ed)
			return fmt.Errorf("%w: to arrow: %s", ErrExecution, msg)
		}
		ddb.DestroyErrorData(&ed)
		if err := b.add(rec); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %v", ErrInterrupted, context.Cause(ctx))
	}
	return b.flush()
}

// batcher sizes the batches sent to clients. DuckDB produces chunks of at
// most 2048 rows: for wide rows such a chunk is already a good message and
// goes out as is (no copy), narrow ones are merged (one copy) until they are
// worth a message. The first chunk always goes out at once, so the client
// sees data as soon as DuckDB has some. No batch exceeds Limits.BatchBytes.
type batcher struct {
	schema *arrow.Schema
	lim    Limits
	emit   func(arrow.RecordBatch) error
	recs   []arrow.RecordBatch
	rows   int64
	bytes  int64
	sent   bool
}

func (b *batcher) add(rec arrow.RecordBatch) error {
	size := util.TotalRecordSize(rec)
	if size > b.lim.BatchBytes && rec.NumRows() > 1 {
		// One chunk of very wide rows: split it so no message outgrows the
		// client's limit.
		half := rec.NumRows() / 2
		lo, err := compact(b.schema, rec, 0, half)
		if err != nil {
			rec.Release()
			return err
		}
		hi, err := compact(b.schema, rec, half, rec.NumRows())
		rec.Release()
		if err != nil {
			lo.Release()
			return err
		}
		if err := b.add(lo); err != nil {
			hi.Release()
			return err
		}
		return b.add(hi)
	}
	if len(b.recs) == 0 && (!b.sent || size >= b.lim.MergeBytes/4) {
		b.sent = true
		return b.emit(rec)
	}
	if b.bytes+size > b.lim.BatchBytes || b.rows+rec.NumRows() > int64(b.lim.BatchRows) {
		if err := b.flush(); err != nil {
			rec.Release()
			return err
		}
	}
	b.recs = append(b.recs, rec)
	b.rows += rec.NumRows()
	b.bytes += size
	if b.bytes >= b.lim.MergeBytes {
		return b.flush()
	}
	return nil
}

// compact copies rows [i, j) of rec into fresh buffers: a slice would still
// carry (and send) its parent's whole buffers.
func compact(schema *arrow.Schema, rec arrow.RecordBatch, i, j int64) (arrow.RecordBatch, error) {
	sl := rec.NewSlice(i, j)
	defer sl.Release()
	cols := make([]arrow.Array, sl.NumCols())
	for c := range cols {
		col, err := array.Concatenate([]arrow.Array{sl.Column(c)}, memory.DefaultAllocator)
		if err != nil {
			for _, x := range cols[:c] {
				x.Release()
			}
			return nil, fmt.Errorf("%w: split batch: %v", ErrExecution, err)
		}
		cols[c] = col
	}
	out := array.NewRecordBatch(schema, cols, j-i)
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}

func (b *batcher) flush() error {
	if len(b.recs) == 0 {
		return nil
	}
	var out arrow.RecordBatch
	if len(b.recs) == 1 {
		out = b.recs[0]
		b.recs = b.recs[:0]
	} else {
		cols := make([]arrow.Array, b.schema.NumFields())
		for i := range cols {
			parts := make([]arrow.Array, len(b.recs))
			for j, r := range b.recs {
				parts[j] = r.Column(i)
			}
			col, err := array.Concatenate(parts, memory.DefaultAllocator)
			if err != nil {
				for _, c := range cols[:i] {
					c.Release()
				}
				return fmt.Errorf("%w: merge batches: %v", ErrExecution, err)
			}
			cols[i] = col
		}
		out = array.NewRecordBatch(b.schema, cols, b.rows)
		for _, c := range cols {
			c.Release()
		}
		b.release()
	}
	b.rows, b.bytes = 0, 0
	return b.emit(out)
}

func (b *batcher) release() {
	for _, r := range b.recs {
		r.Release()
	}
	b.recs = b.recs[:0]
}

// QuoteString renders s as a SQL string literal.
func QuoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
