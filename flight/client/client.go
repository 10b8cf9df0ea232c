// Package client owns lakectl's side of Flight SQL: connecting through
// the Go ADBC Flight SQL driver with the bearer token and the as-of call
// header, turning driver errors into advice, resolving --as-of values, and
// streaming results as table, CSV, JSON or JSON lines.
package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-adbc/go/adbc"
	"github.com/apache/arrow-adbc/go/adbc/driver/flightsql"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// DefaultURI is where `lakectl serve` listens by default.
const DefaultURI = "grpc://127.0.0.1:32010"

// AsOfHeader pins a whole query to one instant or snapshot on the server.
const AsOfHeader = "x-finlake-as-of"

// Config says where and how to connect.
type Config struct {
	URI   string // grpc://host:port; DefaultURI when empty
	Token string // bearer token; empty when the server runs without auth
	AsOf  string // RFC 3339 timestamp or snapshot id, sent as x-finlake-as-of
	Mask  bool   // ask for pseudonyms instead of account ids (x-finlake-mask)
}

// MaskHeader makes the server mask a call like a share token's.
const MaskHeader = "x-finlake-mask"

// Client is one ADBC connection to the Flight SQL server.
type Client struct {
	cfg Config
	db  adbc.Database
	cnx adbc.Connection
}

// Open connects. The driver connects lazily, so the first call may still
// report an unreachable server; errors are explained by Explain.
func Open(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.URI == "" {
		cfg.URI = DefaultURI
	}
	opts := map[string]string{
		adbc.OptionKeyURI:              cfg.URI,
		flightsql.OptionTimeoutConnect: "10",
		flightsql.OptionWithMaxMsgSize: "67108864",
	}
	if cfg.Token != "" {
		opts[flightsql.OptionAuthorizationHeader] = "Bearer " + cfg.Token
	}
	if cfg.AsOf != "" {
		opts[flightsql.OptionRPCCallHeaderPrefix+AsOfHeader] = cfg.AsOf
	}
	if cfg.Mask {
		opts[flightsql.OptionRPCCallHeaderPrefix+MaskHeader] = "true"
	}
	db, err := flightsql.NewDriver(memory.DefaultAllocator).NewDatabase(opts)
	if err != nil {
		return nil, Explain(cfg, fmt.Errorf("flight sql database %s: %w", cfg.URI, err))
	}
	cnx, err := db.Open(ctx)
	if err != nil {
		db.Close()
		return nil, Explain(cfg, fmt.Errorf("connect to %s: %w", cfg.URI, err))
	}
	return &Client{cfg: cfg, db: db, cnx: cnx}, nil
}

// Close releases the connection.
func (c *Client) Close() error {
	err := c.cnx.Close()
	return errors.Join(err, c.db.Close())
}

// Rows is a streaming query result; Close it.
type Rows struct {
	array.RecordReader
	stmt adbc.Statement
}

// Close releases the reader and the statement.
func (r *Rows) Close() {
	r.RecordReader.Release()
	r.stmt.Close()
}

// Query runs a SELECT and streams its batches.
func (c *Client) Query(ctx context.Context, sql string) (*Rows, error) {
	stmt, err := c.cnx.NewStatement()
	if err != nil {
		return nil, Explain(c.cfg, err)
	}
	if err := stmt.SetSqlQuery(sql); err != nil {
		stmt.Close()
		return nil, Explain(c.cfg, err)
	}
	rr, _, err := stmt.ExecuteQuery(ctx)
	if err != nil {
		stmt.Close()
		return nil, Explain(c.cfg, err)
	}
	return &Rows{RecordReader: rr, stmt: stmt}, nil
}

// Exec runs a statement that returns no rows (the admin ALTER TABLE).
func (c *Client) Exec(ctx context.Context, sql string) error {
	stmt, err := c.cnx.NewStatement()
	if err != nil {
		return Explain(c.cfg, err)
	}
	defer stmt.Close()
	if err := stmt.SetSqlQuery(sql); err != nil {
		return Explain(c.cfg, err)
	}
	if _, err := stmt.ExecuteUpdate(ctx); err != nil {
		return Explain(c.cfg, err)
	}
	return nil
}

// TableSchema gives a table's Arrow schema (GetTableSchema).
func (c *Client) TableSchema(ctx context.Context, namespace, name string) (*arrow.Schema, error) {
	var ns *string
	if namespace != "" {
		ns = &namespace
	}
	s, err := c.cnx.GetTableSchema(ctx, nil, ns, name)
	if err != nil {
		return nil, Explain(c.cfg, err)
	}
	return s, nil
}

// TableRef is one table GetObjects lists.
type TableRef struct {
	Catalog, Schema, Name, Type string
}

// Tables lists the server's tables through GetObjects (Flight SQL GetTables).
func (c *Client) Tables(ctx context.Context) ([]TableRef, error) {
	rr, err := c.cnx.GetObjects(ctx, adbc.ObjectDepthTables, nil, nil, nil, nil, nil)
	if err != nil {
		return nil, Explain(c.cfg, err)
	}
	defer rr.Release()
	var out []TableRef
	for rr.Next() {
		rec := rr.RecordBatch()
		catalogs := rec.Column(0).(*array.String)
		schemasList := rec.Column(1).(*array.List)
		schemaStruct := schemasList.ListValues().(*array.Struct)
		schemaNames := schemaStruct.Field(0).(*array.String)
		tablesList := schemaStruct.Field(1).(*array.List)
		tableStruct := tablesList.ListValues().(*array.Struct)
		tableNames := tableStruct.Field(0).(*array.String)
		tableTypes := tableStruct.Field(1).(*array.String)
		for i := 0; i < int(rec.NumRows()); i++ {
			if schemasList.IsNull(i) {
				continue
			}
			s0, s1 := schemasList.ValueOffsets(i)
			for s := s0; s < s1; s++ {
				if tablesList.IsNull(int(s)) {
					continue
				}
				t0, t1 := tablesList.ValueOffsets(int(s))
				for t := t0; t < t1; t++ {
					out = append(out, TableRef{Catalog: catalogs.Value(i), Schema: schemaNames.Value(int(s)),
						Name: tableNames.Value(int(t)), Type: tableTypes.Value(int(t))})
				}
			}
		}
	}
	if err := rr.Err(); err != nil {
		return nil, Explain(c.cfg, err)
	}
	return out, nil
}

// Kind classifies a failure for exit codes and advice.
type Kind int

// Failure kinds.
const (
	KindOther Kind = iota
	KindUnavailable
	KindUnauthenticated
	KindPermission
	KindInvalid // bad SQL, unknown table or column, bad as-of
)

// Error is a Flight SQL failure with advice for the user.
type Error struct {
	Kind   Kind
	Advice string
	Err    error
}

func (e *Error) Error() string {
	if e.Advice == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + "\n" + e.Advice
}

func (e *Error) Unwrap() error { return e.Err }

// Explain wraps a driver error with what to do about it.
func Explain(cfg Config, err error) error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		return err
	}
	uri := cfg.URI
	if uri == "" {
		uri = DefaultURI
	}
	e := &Error{Kind: KindOther, Err: err}
	var ae adbc.Error
	code := adbc.StatusUnknown
	if errors.As(err, &ae) {
		code = ae.Code
	}
	msg := strings.ToLower(err.Error())
	switch {
	case code == adbc.StatusIO && (strings.Contains(msg, "unavailable") || strings.Contains(msg, "connection refused")),
		strings.Contains(msg, "connection refused"), strings.Contains(msg, "code = unavailable"):
		e.Kind = KindUnavailable
		e.Advice = fmt.Sprintf("cannot reach the Flight SQL server at %s: start it with `lakectl serve` (or `just dev`), or point --flight / FINLAKE_FLIGHT at it", uri)
	case code == adbc.StatusUnauthenticated:
		e.Kind = KindUnauthenticated
		e.Advice = "the server wants a token: export FINLAKE_TOKEN=<token> (the one `lakectl serve` was started with)"
	case code == adbc.StatusUnauthorized:
		e.Kind = KindPermission
		e.Advice = refusalAdvice[refusal(ae)]
	case code == adbc.StatusInvalidArgument || code == adbc.StatusNotFound || code == adbc.StatusAlreadyExists:
		e.Kind = KindInvalid
	}
	return e
}

// The server's refusal reasons (flight.Refusal*), sent as a google.rpc.ErrorInfo
// of domain "finlake" with PermissionDenied.
const (
	refusalAdminOnly  = "ADMIN_ONLY"
	refusalFileAccess = "FILE_ACCESS"
	refusalStatement  = "STATEMENT"
)

var refusalAdvice = map[string]string{
	refusalAdminOnly:  "schema changes need the admin token: FINLAKE_TOKEN=<admin token> (or, with auth off, run lakectl on the server's machine)",
	refusalFileAccess: "queries read the lake's tables only (lake.transactions, lake.alerts, lake.pipeline_runs, \"<table>$files\"...); files are not readable through the server",
	refusalStatement:  "the server answers read queries (SELECT ...) only; the one change it accepts is lakectl evolve add-column (ALTER TABLE lake.<table> ADD COLUMN) with the admin token",
}

// refusal is the reason the server gave for a PermissionDenied ("" if none).
func refusal(ae adbc.Error) string {
	for _, d := range ae.Details {
		if d.Key() != "grpc-status-details-bin" {
			continue
		}
		b, err := d.Serialize()
		if err != nil {
			continue
		}
		var a anypb.Any
		var info errdetails.ErrorInfo
		if proto.Unmarshal(b, &a) == nil && a.UnmarshalTo(&info) == nil && info.Domain == "finlake" {
			return info.Reason
		}
	}
	return ""
}
