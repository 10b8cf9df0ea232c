//go:build duckdb_arrow

// Package flight owns `lakectl serve`: an Arrow Flight SQL server that
// answers read queries with DuckDB over the Parquet files of the Iceberg
// snapshots iceberg-go resolves, with per-table and per-query time travel,
// metadata tables, one admin statement (ADD COLUMN), authentication, limits
// and metrics. Sub-packages: sqlrewrite (SQL text), engine (DuckDB), lake
// (Iceberg).
package flight

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/util"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/finlake/finlake/flight/engine"
	"github.com/finlake/finlake/flight/lakeview"
	"github.com/finlake/finlake/flight/share"
	"github.com/finlake/finlake/flight/sqlrewrite"
)

// AsOfHeader is the gRPC call header that pins a whole query to one instant
// (RFC 3339 timestamp) or snapshot id.
const AsOfHeader = "x-finlake-as-of"

// Server-side error kinds (engine and lake have their own).
var (
	errInvalid   = errors.New("invalid request")
	errRefused   = errors.New("refused")
	errAdminOnly = fmt.Errorf("%w: admin only", errRefused)
	errTooLarge  = errors.New("result too large")
)

// ErrorDomain and the Refusal reasons are the google.rpc.ErrorInfo detail a
// PermissionDenied status carries, so a client can tell why without parsing
// the message.
const (
	ErrorDomain = "finlake"
	// RefusalAdminOnly: an admin statement (ALTER TABLE ... ADD COLUMN)
	// from a caller without admin rights.
	RefusalAdminOnly = "ADMIN_ONLY"
	// RefusalFileAccess: the sandbox stopped a file read (a file the query
	// names, or a data file that resolves outside the warehouse).
	RefusalFileAccess = "FILE_ACCESS"
	// RefusalStatement: a statement that is not a read query (writes, DDL,
	// settings, several statements at once).
	RefusalStatement = "STATEMENT"
)

// Options configure a Server.
type Options struct {
	QueryTimeout   time.Duration // per query, planning and streaming together; 0: none
	MaxResultBytes int64         // Arrow bytes per result; 0: unlimited
	MaxResultRows  int64         // rows per result; 0: unlimited
	// MaxConcurrent queries run at once (0: no limit); a query waits at most
	// QueueWait for its turn. Of those, at most MaxLongQueries may have had
	// more than LongQueryAfter of the server's time (its share while others
	// ran beside it); beyond, the one with the largest share is stopped (0:
	// no limit). See limits.go.
	MaxConcurrent  int
	QueueWait      time.Duration
	MaxLongQueries int
	LongQueryAfter time.Duration
	BatchBytes     int64         // bytes per result batch (default 4 MiB: far below the clients' 16 MiB message limit)
	BatchRows      int           // rows per result batch (default 65536)
	MergeBytes     int64         // DuckDB chunks below a quarter of this are merged up to it (default 1 MiB)
	HandleTTL      time.Duration // how long an unexecuted ticket or prepared statement lives (default 30m)
	// NoMetadataAnswers makes DuckDB answer every query, also those the
	// table metadata answers (SELECT count(*) FROM lake.<table>, min/max of
	// partition columns): for tests comparing both paths.
	NoMetadataAnswers bool
	// ShareKeyFile is the lake's pseudonym key (created at the first share
	// query when missing); ShareEngine configures the share sessions' DuckDB
	// database (Start sets both).
	ShareKeyFile string
	ShareEngine  engine.Options
	Registerer   prometheus.Registerer
	Logger       *slog.Logger
	// Audit receives one line per statement (see audit.go); nil: none.
	Audit *slog.Logger
}

// Server implements flightsql.Server.
type Server struct {
	flightsql.BaseServer
	lake *lakeview.Lake
	db   *engine.DB
	auth *Auth
	opts Options
	m    *metrics
	log  *slog.Logger

	base     context.Context // ends when the server stops: interrupts running queries
	stop     context.CancelFunc
	mu       sync.Mutex
	tickets  map[string]*ticket
	prepared map[string]*preparedStmt
	heldN    int // DuckDB statements kept prepared for a coming execution
	pool     *stmtPool
	share    *shareDB
	limits   *limiter
	started  time.Time
	queries  int64
	failures int64
}

// ticket is a planned query waiting for its DoGet.
type ticket struct {
	plan    *planned
	held    *held // the query already prepared in DuckDB (nil: DoGet prepares it)
	params  []any
	adminOK *arrow.Schema // set for a completed admin statement: its result
	message string
	created time.Time
}

// preparedStmt is a client's prepared statement. Its plan is reused by an
// execution while no table it reads has had a commit since (else the query
// is planned anew, tables pinned afresh); Python's cursor.execute prepares
// and executes at once, so its query is planned once, not three times.
type preparedStmt struct {
	query  string
	asOf   sqlrewrite.AsOf
	admin  *sqlrewrite.AddColumn
	params []any
	schema *arrow.Schema
	plan   *planned
	held   *held // the plan prepared in DuckDB, for the first execution
	used   time.Time
}

// held is a DuckDB statement prepared while a query was planned, kept for
// the execution that follows so DuckDB binds the query (reading every data
// file's footer) once.
type held struct {
	plan *planned
	conn *engine.Conn
	st   *engine.Stmt
}

// maxHeld bounds the DuckDB connections kept open for coming executions;
// beyond it, an execution prepares its statement itself. maxPooled bounds
// the idle statements kept for queries of the same text.
const (
	maxHeld   = 64
	maxPooled = 32
)

// hold keeps conn and st for the coming execution of p, or pools them when
// maxHeld are kept already.
func (s *Server) hold(p *planned, conn *engine.Conn, st *engine.Stmt) *held {
	s.mu.Lock()
	if s.heldN >= maxHeld {
		s.mu.Unlock()
		s.recycle(p, conn, st)
		return nil
	}
	s.heldN++
	s.mu.Unlock()
	return &held{plan: p, conn: conn, st: st}
}

// release pools a held statement that will not run (nil: nothing).
func (s *Server) release(h *held) {
	if h == nil {
		return
	}
	s.recycle(h.plan, h.conn, h.st)
	s.mu.Lock()
	s.heldN--
	s.mu.Unlock()
}

// take hands a held statement over to its execution (nil: none).
func (s *Server) take(h *held) (*engine.Conn, *engine.Stmt, bool) {
	if h == nil {
		return nil, nil, false
	}
	s.mu.Lock()
	s.heldN--
	s.mu.Unlock()
	return h.conn, h.st, true
}

// New builds the server. auth may be nil (authentication off).
func New(lk *lakeview.Lake, db *engine.DB, auth *Auth, opts Options) (*Server, error) {
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = 4 << 20
	}
	if opts.BatchRows <= 0 {
		opts.BatchRows = 65536
	}
	if opts.HandleTTL <= 0 {
		opts.HandleTTL = 30 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.QueueWait <= 0 {
		opts.QueueWait = DefaultQueueWait
	}
	if auth == nil {
		auth = &Auth{}
	}
	m := newMetrics(opts.Registerer)
	s := &Server{lake: lk, db: db, auth: auth, opts: opts, m: m, log: opts.Logger,
		tickets: map[string]*ticket{}, prepared: map[string]*preparedStmt{}, pool: newStmtPool(maxPooled), started: time.Now(),
		share: &shareDB{keyFile: opts.ShareKeyFile, opts: opts.ShareEngine}, limits: newLimiter(opts, func(n int) { m.long.Set(float64(n)) })}
	s.base, s.stop = context.WithCancel(context.Background())
	s.Alloc = memory.DefaultAllocator
	for id, v := range map[flightsql.SqlInfo]any{
		flightsql.SqlInfoFlightSqlServerName:             "finlake",
		flightsql.SqlInfoFlightSqlServerVersion:          "1",
		flightsql.SqlInfoFlightSqlServerArrowVersion:     "18",
		flightsql.SqlInfoFlightSqlServerReadOnly:         true,
		flightsql.SqlInfoFlightSqlServerSql:              true,
		flightsql.SqlInfoFlightSqlServerSubstrait:        false,
		flightsql.SqlInfoFlightSqlServerTransaction:      int32(flightsql.SqlTransactionNone),
		flightsql.SqlInfoFlightSqlServerCancel:           false,
		flightsql.SqlInfoFlightSqlServerStatementTimeout: int32(opts.QueryTimeout / time.Second),
		flightsql.SqlInfoDDLCatalog:                      false,
		flightsql.SqlInfoDDLSchema:                       false,
		flightsql.SqlInfoDDLTable:                        false,
		flightsql.SqlInfoIdentifierQuoteChar:             `"`,
		flightsql.SqlInfoQuotedIdentifierCase:            int32(flightsql.SqlCaseSensitivityCaseInsensitive),
	} {
		if err := s.RegisterSqlInfo(id, v); err != nil {
			return nil, fmt.Errorf("register sql info %d: %w", id, err)
		}
	}
	return s, nil
}

// Janitor drops expired tickets and prepared statements until ctx ends.
func (s *Server) Janitor(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			var drop []*held
			s.mu.Lock()
			for k, v := range s.tickets {
				if now.Sub(v.created) > s.opts.HandleTTL {
					delete(s.tickets, k)
					drop = append(drop, v.held)
				}
			}
			for k, v := range s.prepared {
				if now.Sub(v.used) > s.opts.HandleTTL {
					delete(s.prepared, k)
					drop = append(drop, v.held)
				}
			}
			s.mu.Unlock()
			for _, h := range drop {
				s.release(h)
			}
		}
	}
}

// Status is the /status document.
func (s *Server) Status() any {
	idle, reused := s.pool.stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]any{
		"idle_statements":     idle,
		"statements_reused":   reused,
		"service":             "flight",
		"started":             s.started.UTC().Format(time.RFC3339),
		"uptime_seconds":      int64(time.Since(s.started).Seconds()),
		"queries":             s.queries,
		"failed":              s.failures,
		"open_tickets":        len(s.tickets),
		"prepared_statements": len(s.prepared),
		"auth":                s.auth.Enabled(),
		"query_timeout":       s.opts.QueryTimeout.String(),
		"max_result_bytes":    s.opts.MaxResultBytes,
		"max_result_rows":     s.opts.MaxResultRows,
		"max_concurrent":      s.opts.MaxConcurrent,
		"max_long_queries":    s.opts.MaxLongQueries,
		"long_query_after":    s.opts.LongQueryAfter.String(),
	}
}

func newHandle() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// asOfFrom reads the x-finlake-as-of call header.
func asOfFrom(ctx context.Context) (sqlrewrite.AsOf, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(AsOfHeader)
	if len(vals) == 0 || vals[0] == "" {
		return sqlrewrite.AsOf{}, nil
	}
	a, err := sqlrewrite.ParseAsOf(vals[0])
	if err != nil {
		return a, fmt.Errorf("%w: header %s: %v", errInvalid, AsOfHeader, err)
	}
	return a, nil
}

// Close interrupts every running query and releases the DuckDB statements
// kept for executions (before a shutdown).
func (s *Server) Close() {
	s.stop()
	var drop []*held
	s.mu.Lock()
	for k, t := range s.tickets {
		drop = append(drop, t.held)
		delete(s.tickets, k)
	}
	for _, p := range s.prepared {
		drop = append(drop, p.held)
		p.held = nil
	}
	s.mu.Unlock()
	for _, h := range drop {
		s.release(h)
	}
	s.pool.closeAll()
	s.share.close()
}

func (s *Server) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	var cancel context.CancelFunc
	if s.opts.QueryTimeout > 0 {
		ctx, cancel = context.WithTimeoutCause(ctx, s.opts.QueryTimeout,
			fmt.Errorf("query exceeded the server's timeout of %s (lakectl serve --query-timeout)", s.opts.QueryTimeout))
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	unlink := context.AfterFunc(s.base, cancel)
	return ctx, func() { unlink(); cancel() }
}

// toStatus maps an error onto a gRPC status with a message that says what to
// do; no message names the warehouse's directory.
func (s *Server) toStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	err = s.statusFor(ctx, err)
	st, _ := status.FromError(err)
	s.m.errors.WithLabelValues(st.Code().String()).Inc()
	return err
}

// statusFor is toStatus without counting the error (for the audit line of an
// error the caller reports itself).
func (s *Server) statusFor(ctx context.Context, err error) error {
	if st, ok := status.FromError(err); ok && !errors.Is(err, errRefused) && st.Code() != codes.Unknown {
		if s.roleOf(ctx) == RoleShare {
			return status.Error(st.Code(), share.RedactText(st.Message()))
		}
		return err
	}
	code := codes.Internal
	msg := err.Error()
	reason := ""
	switch {
	case errors.Is(err, engine.ErrInterrupted), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		code = codes.Canceled
		if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
			code = codes.DeadlineExceeded
		}
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) && !errors.Is(c, context.DeadlineExceeded) {
			code = codes.DeadlineExceeded
			if errors.Is(c, errLimit) {
				code = codes.ResourceExhausted
			}
			msg = c.Error()
		}
	case errors.Is(err, engine.ErrResources):
		code = codes.ResourceExhausted
		msg = "the query needs more memory than the server gives it (lakectl serve --memory-limit, shared by the running queries, and --max-spill on disk); aggregate earlier, select fewer columns or rows, or ask the operator to raise them: " + msg
	case errors.Is(err, errTooLarge), errors.Is(err, errLimit):
		code = codes.ResourceExhausted
	case errors.Is(err, errAdminOnly):
		code, reason = codes.PermissionDenied, RefusalAdminOnly
	case errors.Is(err, engine.ErrFileAccess):
		code, reason = codes.PermissionDenied, RefusalFileAccess
		why := "file access refused: the server reads only the lake's tables (lake.<table> and its $snapshots, $history and $files), no other file"
		if strings.Contains(msg, s.lake.Warehouse()) {
			why = "file access refused: a data file of the lake resolves outside the warehouse (a symlink?) and the server reads no file outside it; ask the lake's operator"
		}
		var e *engine.Error
		if errors.As(err, &e) {
			c := *e
			c.Kind = errors.New(why)
			msg = c.Error()
		}
	case errors.Is(err, errShare), errors.Is(err, lakeview.ErrHidden):
		code, reason = codes.PermissionDenied, RefusalShare
	case errors.Is(err, share.ErrLeak):
		code, reason = codes.PermissionDenied, RefusalShare
	case errors.Is(err, errRefused), errors.Is(err, engine.ErrRefused):
		code, reason = codes.PermissionDenied, RefusalStatement
	case errors.Is(err, errInvalid), errors.Is(err, engine.ErrInvalid), errors.Is(err, sqlrewrite.ErrSyntax):
		code = codes.InvalidArgument
	case errors.Is(err, sqlrewrite.ErrUnknownTable), errors.Is(err, lakeview.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, lakeview.ErrUnsupported):
		code = codes.FailedPrecondition
	case errors.Is(err, lakeview.ErrConflict):
		code = codes.AlreadyExists
	}
	msg = strings.ReplaceAll(msg, s.lake.Warehouse(), "<warehouse>/")
	if s.roleOf(ctx) == RoleShare {
		msg = share.RedactText(msg)
	}
	st := status.New(code, msg)
	if reason != "" {
		if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain}); err == nil {
			st = d
		}
	}
	return st.Err()
}

// --- statements -------------------------------------------------------------

// GetFlightInfoStatement plans the query (pins its tables) and hands back a
// ticket for it; an admin statement runs here and its ticket returns its
// one-row report.
func (s *Server) GetFlightInfoStatement(ctx context.Context, cmd flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	start := time.Now()
	asOf, err := asOfFrom(ctx)
	if err != nil {
		err = s.toStatus(ctx, err)
		s.audit(ctx, auditEntry{sql: cmd.GetQuery(), start: start, err: err})
		return nil, err
	}
	info, err := s.flightInfoFor(ctx, cmd.GetQuery(), asOf, nil, nil, desc)
	if err != nil {
		done := isAudited(err)
		if err = s.toStatus(ctx, err); !done {
			s.audit(ctx, auditEntry{sql: cmd.GetQuery(), start: start, err: err})
		}
	}
	return info, err
}

// flightInfoFor issues the ticket of a query. reuse, when given, is a plan
// made for it earlier (a prepared statement's) with its DuckDB statement
// (may be nil); it is used as is if still current, else the query is planned
// anew. The ticket carries the plan and the prepared statement, so DoGet
// neither plans nor prepares again.
func (s *Server) flightInfoFor(ctx context.Context, query string, asOf sqlrewrite.AsOf, params []any, reuse *preparedStmt, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var p *planned
	var h *held
	if reuse != nil {
		s.mu.Lock()
		p, h = reuse.plan, reuse.held
		reuse.held = nil
		s.mu.Unlock()
		if p != nil {
			now, err := s.lake.Current(ctx)
			if err != nil {
				s.release(h)
				return nil, err
			}
			if p.asOf.Kind != asOf.Kind || p.asOf.String() != asOf.String() || !p.current(now) || p.share != (s.roleOf(ctx) == RoleShare) {
				s.release(h)
				p, h = nil, nil
			}
		}
	}
	if p == nil {
		var err error
		if p, err = s.plan(ctx, query, asOf); err != nil {
			return nil, err
		}
	}
	if p.admin != nil {
		t, err := s.runAdmin(ctx, p.admin, query)
		if err != nil {
			return nil, err
		}
		return s.issue(t, adminSchema, desc)
	}
	if h == nil {
		// Prepared here for the schema every FlightInfo must carry (and to
		// report bad SQL or parameters now rather than at DoGet).
		conn, st, err := s.prepareSQL(ctx, p)
		if err != nil {
			return nil, err
		}
		if len(params) > 0 || st.NumParams() > 0 {
			if err := st.Bind(params); err != nil {
				st.Close()
				conn.Close()
				return nil, p.userError(err)
			}
		}
		schema := lakeview.WithSnapshotMetadata(st.Schema(), p.pins)
		if h = s.hold(p, conn, st); h == nil {
			return s.issue(&ticket{plan: p, params: params, created: time.Now()}, schema, desc)
		}
	} else if len(params) > 0 || h.st.NumParams() > 0 {
		if err := h.st.Bind(params); err != nil {
			s.release(h)
			return nil, p.userError(err)
		}
	}
	info, err := s.issue(&ticket{plan: p, held: h, params: params, created: time.Now()},
		lakeview.WithSnapshotMetadata(h.st.Schema(), p.pins), desc)
	if err != nil {
		s.release(h)
	}
	return info, err
}

// maxOpenTickets bounds the memory clients can pin with FlightInfos they never fetch.
const maxOpenTickets = 10000

func (s *Server) issue(t *ticket, schema *arrow.Schema, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	h := newHandle()
	s.mu.Lock()
	if len(s.tickets) >= maxOpenTickets {
		s.mu.Unlock()
		return nil, status.Errorf(codes.ResourceExhausted, "%d results are waiting to be fetched; fetch or drop them (they expire after %s)", maxOpenTickets, s.opts.HandleTTL)
	}
	s.tickets[h] = t
	s.mu.Unlock()
	tkt, err := flightsql.CreateStatementQueryTicket([]byte(h))
	if err != nil {
		return nil, err
	}
	return &flight.FlightInfo{
		Schema:           flight.SerializeSchema(schema, s.Alloc),
		FlightDescriptor: desc,
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: tkt}}},
		TotalRecords:     -1,
		TotalBytes:       -1,
	}, nil
}

var adminSchema = arrow.NewSchema([]arrow.Field{{Name: "result", Type: arrow.BinaryTypes.String}}, nil)

func (s *Server) runAdmin(ctx context.Context, ac *sqlrewrite.AddColumn, sql string) (*ticket, error) {
	start := time.Now()
	if err := s.requireAdmin(ctx); err != nil {
		s.m.queries.WithLabelValues("admin", "error").Inc()
		s.audit(ctx, auditEntry{sql: sql, admin: true, start: start, err: s.statusFor(ctx, err)})
		return nil, audited{err}
	}
	id, err := s.lake.AddColumn(ctx, ac)
	if err != nil {
		s.m.queries.WithLabelValues("admin", "error").Inc()
		s.audit(ctx, auditEntry{sql: sql, admin: true, start: start, err: s.statusFor(ctx, err)})
		return nil, audited{err}
	}
	s.audit(ctx, auditEntry{sql: sql, admin: true, start: start})
	s.m.queries.WithLabelValues("admin", "ok").Inc()
	msg := fmt.Sprintf("added column: ALTER TABLE %s (new schema id %d; no data rewritten, older files read NULL)", describeAddColumn(s.lake.Namespace(), ac), id)
	s.log.Info("schema evolved", "table", ac.Table, "column", ac.Column, "type", ac.Type, "schema_id", id)
	return &ticket{adminOK: adminSchema, message: msg, created: time.Now()}, nil
}

// GetSchemaStatement plans and prepares the query to report its schema.
func (s *Server) GetSchemaStatement(ctx context.Context, cmd flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	asOf, err := asOfFrom(ctx)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	start := time.Now()
	schema, _, _, err := s.describe(ctx, cmd.GetQuery(), asOf)
	if err != nil {
		err = s.toStatus(ctx, err)
		s.audit(ctx, auditEntry{sql: cmd.GetQuery(), start: start, err: err})
		return nil, err
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(schema, s.Alloc)}, nil
}

// describe returns the result and parameter schemas of a statement without running it.
func (s *Server) describe(ctx context.Context, query string, asOf sqlrewrite.AsOf) (*arrow.Schema, *arrow.Schema, *sqlrewrite.AddColumn, error) {
	d, err := s.describePlan(ctx, query, asOf, false)
	if err != nil {
		return nil, nil, nil, err
	}
	return d.schema, d.params, d.plan.admin, nil
}

// described is a planned statement with its schemas and, when asked for and
// within maxHeld, its DuckDB statement kept for an execution.
type described struct {
	plan           *planned
	schema, params *arrow.Schema
	held           *held
}

func (s *Server) describePlan(ctx context.Context, query string, asOf sqlrewrite.AsOf, keep bool) (*described, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	p, err := s.plan(ctx, query, asOf)
	if err != nil {
		return nil, err
	}
	if p.admin != nil {
		return &described{plan: p, schema: adminSchema, params: arrow.NewSchema(nil, nil)}, nil
	}
	conn, st, err := s.prepareSQL(ctx, p)
	if err != nil {
		return nil, err
	}
	d := &described{plan: p, schema: st.Schema(), params: st.ParamSchema()}
	if keep {
		d.held = s.hold(p, conn, st)
	} else {
		s.recycle(p, conn, st)
	}
	return d, nil
}

// DoGetStatement runs a ticket's query and streams its batches.
func (s *Server) DoGetStatement(ctx context.Context, cmd flightsql.StatementQueryTicket) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	h := string(cmd.GetStatementHandle())
	s.mu.Lock()
	t, ok := s.tickets[h]
	delete(s.tickets, h)
	s.mu.Unlock()
	if !ok || (t.plan != nil && t.plan.share != (s.roleOf(ctx) == RoleShare)) {
		if ok {
			s.release(t.held)
		}
		return nil, nil, s.toStatus(ctx, status.Error(codes.NotFound, "unknown or already used ticket: execute the query again"))
	}
	if t.adminOK != nil {
		b := array.NewStringBuilder(s.Alloc)
		b.Append(t.message)
		col := b.NewArray()
		rec := array.NewRecordBatch(adminSchema, []arrow.Array{col}, 1)
		col.Release()
		ch := make(chan flight.StreamChunk, 1)
		ch <- flight.StreamChunk{Data: rec}
		close(ch)
		return adminSchema, ch, nil
	}
	qctx, cancel := s.withTimeout(ctx)
	conn, st, ok := s.take(t.held)
	if ok {
		// Bound when the ticket was issued.
		schema := st.Schema()
		ch := make(chan flight.StreamChunk, 2)
		go s.stream(qctx, cancel, t, conn, st, ch)
		return schema, ch, nil
	}
	conn, st, err := s.prepareSQL(qctx, t.plan)
	if err != nil {
		cancel()
		s.countQuery(false)
		err = s.toStatus(qctx, err)
		s.audit(ctx, auditEntry{sql: t.plan.query, params: t.params, plan: t.plan, start: t.created, err: err})
		return nil, nil, err
	}
	if len(t.params) > 0 || st.NumParams() > 0 {
		if err := st.Bind(t.params); err != nil {
			st.Close()
			conn.Close()
			cancel()
			s.countQuery(false)
			err = s.toStatus(qctx, t.plan.userError(err))
			s.audit(ctx, auditEntry{sql: t.plan.query, params: t.params, plan: t.plan, start: t.created, err: err})
			return nil, nil, err
		}
	}
	schema := st.Schema()
	ch := make(chan flight.StreamChunk, 2)
	go s.stream(qctx, cancel, t, conn, st, ch)
	return schema, ch, nil
}

func (s *Server) stream(qctx context.Context, cancel context.CancelFunc, t *ticket, conn *engine.Conn, st *engine.Stmt, ch chan<- flight.StreamChunk) {
	p := t.plan
	start := time.Now()
	ctx, cancelLong := context.WithCancelCause(qctx)
	defer cancelLong(nil)
	release, err := s.limits.admit(ctx)
	if err != nil {
		release = func() {}
	} else {
		defer s.limits.watchLong(cancelLong)()
	}
	defer release()
	s.m.active.Inc()
	defer func() {
		// Only a statement that ran to its end is reused: an interrupted one
		// may still carry the interrupt.
		if err == nil && ctx.Err() == nil {
			s.recycle(p, conn, st)
		} else {
			st.Close()
			conn.Close()
		}
		cancel()
		close(ch)
		s.m.active.Dec()
	}()
	var rows, bytes int64
	first := true
	if err == nil {
		err = st.Stream(ctx, engine.Limits{BatchRows: s.opts.BatchRows, BatchBytes: s.opts.BatchBytes, MergeBytes: s.opts.MergeBytes}, func(rec arrow.RecordBatch) error {
			rows += rec.NumRows()
			size := util.TotalRecordSize(rec)
			bytes += size
			if s.opts.MaxResultRows > 0 && rows > s.opts.MaxResultRows {
				rec.Release()
				return fmt.Errorf("%w: the result has more than %d rows (the server's --max-result-rows); add a LIMIT or aggregate", errTooLarge, s.opts.MaxResultRows)
			}
			if s.opts.MaxResultBytes > 0 && bytes > s.opts.MaxResultBytes {
				rec.Release()
				return fmt.Errorf("%w: the result exceeds %d bytes (the server's --max-result-bytes); select fewer columns, add a LIMIT or aggregate", errTooLarge, s.opts.MaxResultBytes)
			}
			if p.share {
				if err := share.CheckBatch(rec); err != nil {
					rec.Release()
					return err
				}
			}
			if first {
				s.m.firstByte.Observe(time.Since(start).Seconds())
				first = false
			}
			select {
			case ch <- flight.StreamChunk{Data: rec}:
				s.m.bytesSent.Add(float64(size))
				s.m.rowsSent.Add(float64(rec.NumRows()))
				return nil
			case <-ctx.Done():
				rec.Release()
				return fmt.Errorf("%w: %v", engine.ErrInterrupted, context.Cause(ctx))
			}
		})
	}
	s.m.latency.Observe(time.Since(start).Seconds())
	s.countQuery(err == nil)
	s.log.Debug("query streamed", "rows", rows, "bytes", bytes, "seconds", time.Since(start).Seconds(), "err", err)
	var serr error
	if err != nil {
		serr = s.toStatus(ctx, p.userError(err))
	}
	s.audit(ctx, auditEntry{sql: p.query, params: t.params, plan: p, rows: rows, bytes: bytes, start: t.created, err: serr})
	if err != nil {
		s.log.Info("query failed", "err", serr, "rows_sent", rows)
		select {
		case ch <- flight.StreamChunk{Err: serr}:
		case <-time.After(5 * time.Second):
		}
	}
}

func (s *Server) countQuery(ok bool) {
	outcome := "ok"
	if !ok {
		outcome = "error"
	}
	s.m.queries.WithLabelValues("query", outcome).Inc()
	s.mu.Lock()
	s.queries++
	if !ok {
		s.failures++
	}
	s.mu.Unlock()
}

// DoPutCommandStatementUpdate runs the admin statement (the only update).
func (s *Server) DoPutCommandStatementUpdate(ctx context.Context, cmd flightsql.StatementUpdate) (int64, error) {
	return 0, s.toStatus(ctx, s.update(ctx, cmd.GetQuery()))
}

func (s *Server) update(ctx context.Context, query string) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	p, err := s.plan(ctx, query, sqlrewrite.AsOf{})
	if err != nil {
		s.audit(ctx, auditEntry{sql: query, err: s.statusFor(ctx, err)})
		return err
	}
	if p.admin == nil {
		err := fmt.Errorf("%w: this server is read-only; updates are refused (the one admin statement is ALTER TABLE %s.<table> ADD COLUMN)", errRefused, s.lake.Namespace())
		s.audit(ctx, auditEntry{sql: query, plan: p, err: s.statusFor(ctx, err)})
		return err
	}
	_, err = s.runAdmin(ctx, p.admin, query)
	return err
}

// --- prepared statements ----------------------------------------------------

// CreatePreparedStatement checks and describes the query; Python's
// cursor.execute always comes this way.
func (s *Server) CreatePreparedStatement(ctx context.Context, req flightsql.ActionCreatePreparedStatementRequest) (flightsql.ActionCreatePreparedStatementResult, error) {
	var res flightsql.ActionCreatePreparedStatementResult
	start := time.Now()
	asOf, err := asOfFrom(ctx)
	if err != nil {
		err = s.toStatus(ctx, err)
		s.audit(ctx, auditEntry{sql: req.GetQuery(), start: start, err: err})
		return res, err
	}
	d, err := s.describePlan(ctx, req.GetQuery(), asOf, true)
	if err != nil {
		err = s.toStatus(ctx, err)
		s.audit(ctx, auditEntry{sql: req.GetQuery(), start: start, err: err})
		return res, err
	}
	schema, params, admin := d.schema, d.params, d.plan.admin
	if admin != nil {
		if err := s.requireAdmin(ctx); err != nil {
			err = s.toStatus(ctx, err)
			s.audit(ctx, auditEntry{sql: req.GetQuery(), admin: true, start: start, err: err})
			return res, err
		}
	}
	h := newHandle()
	s.mu.Lock()
	s.prepared[h] = &preparedStmt{query: req.GetQuery(), asOf: asOf, admin: admin, schema: schema, plan: d.plan, held: d.held, used: time.Now()}
	s.mu.Unlock()
	res.Handle = []byte(h)
	res.DatasetSchema = schema
	res.ParameterSchema = params
	isUpdate := admin != nil
	res.IsUpdate = &isUpdate
	return res, nil
}

func (s *Server) getPrepared(h []byte) (*preparedStmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.prepared[string(h)]
	if !ok {
		return nil, status.Error(codes.NotFound, "unknown or expired prepared statement: prepare it again")
	}
	p.used = time.Now()
	return p, nil
}

// ClosePreparedStatement forgets the statement.
func (s *Server) ClosePreparedStatement(ctx context.Context, req flightsql.ActionClosePreparedStatementRequest) error {
	s.mu.Lock()
	p := s.prepared[string(req.GetPreparedStatementHandle())]
	delete(s.prepared, string(req.GetPreparedStatementHandle()))
	var h *held
	if p != nil {
		h, p.held = p.held, nil
	}
	s.mu.Unlock()
	s.release(h)
	return nil
}

// DoPutPreparedStatementQuery binds parameters: one row of values.
func (s *Server) DoPutPreparedStatementQuery(ctx context.Context, cmd flightsql.PreparedStatementQuery, rdr flight.MessageReader, _ flight.MetadataWriter) ([]byte, error) {
	p, err := s.getPrepared(cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	var row []any
	n := 0
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for r := 0; r < int(rec.NumRows()); r++ {
			n++
			if n > 1 {
				return nil, s.toStatus(ctx, fmt.Errorf("%w: bind one row of parameters per execution (got more)", errInvalid))
			}
			row = make([]any, rec.NumCols())
			for c := range row {
				v, err := paramValue(rec.Column(c), r)
				if err != nil {
					return nil, s.toStatus(ctx, fmt.Errorf("%w: parameter %d: %v", errInvalid, c+1, err))
				}
				row[c] = v
			}
		}
	}
	if err := rdr.Err(); err != nil {
		return nil, s.toStatus(ctx, fmt.Errorf("%w: reading parameters: %v", errInvalid, err))
	}
	s.mu.Lock()
	p.params = row
	s.mu.Unlock()
	return cmd.GetPreparedStatementHandle(), nil
}

// GetFlightInfoPreparedStatement executes a prepared statement: the query is
// planned with the tables' state now (or the statement's as-of pin).
func (s *Server) GetFlightInfoPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	p, err := s.getPrepared(cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	asOf := p.asOf
	if a, err := asOfFrom(ctx); err != nil {
		return nil, s.toStatus(ctx, err)
	} else if a.Kind != sqlrewrite.Current {
		asOf = a
	}
	s.mu.Lock()
	params := p.params
	s.mu.Unlock()
	start := time.Now()
	info, err := s.flightInfoFor(ctx, p.query, asOf, params, p, desc)
	if err != nil {
		done := isAudited(err)
		if err = s.toStatus(ctx, err); !done {
			s.audit(ctx, auditEntry{sql: p.query, params: params, start: start, err: err})
		}
	}
	return info, err
}

// GetSchemaPreparedStatement reports the prepared statement's result schema.
func (s *Server) GetSchemaPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	p, err := s.getPrepared(cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(p.schema, s.Alloc)}, nil
}

// DoPutPreparedStatementUpdate runs a prepared admin statement.
func (s *Server) DoPutPreparedStatementUpdate(ctx context.Context, cmd flightsql.PreparedStatementUpdate, rdr flight.MessageReader) (int64, error) {
	p, err := s.getPrepared(cmd.GetPreparedStatementHandle())
	if err != nil {
		return 0, s.toStatus(ctx, err)
	}
	return 0, s.toStatus(ctx, s.update(ctx, p.query))
}

// paramValue converts one Arrow value to a DuckDB parameter value.
func paramValue(col arrow.Array, i int) (any, error) {
	if col.IsNull(i) {
		return nil, nil
	}
	switch a := col.(type) {
	case *array.DenseUnion:
		// ADBC sends parameters of mixed types as a union.
		return paramValue(a.Field(a.ChildID(i)), int(a.ValueOffset(i)))
	case *array.SparseUnion:
		return paramValue(a.Field(a.ChildID(i)), i)
	case *array.Boolean:
		return a.Value(i), nil
	case *array.Int8:
		return int64(a.Value(i)), nil
	case *array.Int16:
		return int64(a.Value(i)), nil
	case *array.Int32:
		return int64(a.Value(i)), nil
	case *array.Int64:
		return a.Value(i), nil
	case *array.Uint8:
		return int64(a.Value(i)), nil
	case *array.Uint16:
		return int64(a.Value(i)), nil
	case *array.Uint32:
		return int64(a.Value(i)), nil
	case *array.Uint64:
		return a.Value(i), nil
	case *array.Float32:
		return float64(a.Value(i)), nil
	case *array.Float64:
		return a.Value(i), nil
	case *array.String:
		return a.Value(i), nil
	case *array.LargeString:
		return a.Value(i), nil
	case *array.StringView:
		return a.Value(i), nil
	case *array.Binary:
		return append([]byte(nil), a.Value(i)...), nil
	case *array.LargeBinary:
		return append([]byte(nil), a.Value(i)...), nil
	case *array.Decimal128:
		dt := a.DataType().(*arrow.Decimal128Type)
		return a.Value(i).ToString(dt.Scale), nil
	case *array.Date32:
		return engine.Date(a.Value(i)), nil
	case *array.Date64:
		return engine.Date(int64(a.Value(i)) / 86400000), nil
	case *array.Timestamp:
		dt := a.DataType().(*arrow.TimestampType)
		t := a.Value(i).ToTime(dt.Unit)
		us := t.UnixMicro()
		if dt.TimeZone != "" {
			return engine.TimestampTZ(us), nil
		}
		return engine.Timestamp(us), nil
	}
	return nil, fmt.Errorf("unsupported parameter type %s", col.DataType())
}
