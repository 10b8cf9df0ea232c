//go:build duckdb_arrow

package flight

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/finlake/finlake/flight/engine"
)

// The audit trail: one JSON line per statement the server ran or refused,
// written to Options.Audit (lakectl serve --audit-log). A statement is
// audited once, where it ends: a query when its stream ends (or its planning
// or preparing fails), an admin statement when it commits or is refused.

// auditEntry is what one line says beyond who sent it.
type auditEntry struct {
	sql    string
	params []any
	plan   *planned // nil when the statement never got a plan
	admin  bool
	rows   int64
	bytes  int64
	start  time.Time
	err    error // the status returned to the client (nil: ok)
}

// audit writes e; refusals, stops by a limit and schema changes at warn.
func (s *Server) audit(ctx context.Context, e auditEntry) {
	if s.opts.Audit == nil {
		return
	}
	role := s.roleOf(ctx)
	attrs := []slog.Attr{
		slog.String("role", string(role)),
		slog.String("sql", e.sql),
	}
	if u := userOf(ctx); u != "" {
		attrs = append(attrs, slog.String("user", u))
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		attrs = append(attrs, slog.String("peer", p.Addr.String()))
	}
	if len(e.params) > 0 {
		types := make([]string, len(e.params))
		for i, v := range e.params {
			types[i] = paramTypeName(v)
		}
		attrs = append(attrs, slog.Any("param_types", types))
	}
	if e.plan != nil {
		if e.plan.asOf.Kind != 0 {
			attrs = append(attrs, slog.String("as_of", e.plan.asOf.String()))
		}
		if len(e.plan.pins) > 0 {
			snaps := map[string]string{}
			for _, pin := range e.plan.pins {
				v := "none"
				if pin.Snapshot != nil {
					v = strconv.FormatInt(pin.Snapshot.SnapshotID, 10)
				}
				if old, ok := snaps[pin.Name]; ok && old != v {
					v = old + "," + v // one table read at two points in time
				}
				snaps[pin.Name] = v
			}
			attrs = append(attrs, slog.Any("snapshots", snaps))
		}
	}
	level := slog.LevelInfo
	msg := "statement"
	if e.admin {
		msg, level = "schema change", slog.LevelWarn
	}
	if e.err == nil {
		attrs = append(attrs, slog.String("outcome", "ok"))
		if !e.admin {
			attrs = append(attrs, slog.Int64("rows", e.rows), slog.Int64("bytes", e.bytes))
		}
	} else {
		st, _ := status.FromError(e.err)
		outcome := "error"
		switch st.Code() {
		case codes.PermissionDenied, codes.Unauthenticated:
			outcome, level = "refused", slog.LevelWarn
		case codes.ResourceExhausted, codes.DeadlineExceeded:
			outcome, level = "stopped", slog.LevelWarn
		}
		attrs = append(attrs, slog.String("outcome", outcome), slog.String("code", st.Code().String()),
			slog.String("reason", st.Message()))
		if e.rows > 0 {
			attrs = append(attrs, slog.Int64("rows_sent", e.rows))
		}
	}
	if !e.start.IsZero() {
		attrs = append(attrs, slog.Float64("duration_ms", float64(time.Since(e.start).Microseconds())/1000))
	}
	s.opts.Audit.LogAttrs(context.Background(), level, msg, attrs...)
}

// paramTypeName is the SQL type a bound parameter value went to DuckDB as.
func paramTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "NULL"
	case bool:
		return "BOOLEAN"
	case int64:
		return "BIGINT"
	case uint64:
		return "UBIGINT"
	case float64:
		return "DOUBLE"
	case string:
		return "VARCHAR"
	case []byte:
		return "BLOB"
	case engine.Timestamp:
		return "TIMESTAMP"
	case engine.TimestampTZ:
		return "TIMESTAMPTZ"
	case engine.Date:
		return "DATE"
	}
	return fmt.Sprintf("%T", v)
}

// audited is an error whose statement has its audit line already.
type audited struct{ error }

func (a audited) Unwrap() error { return a.error }

func isAudited(err error) bool {
	var a audited
	return errors.As(err, &a)
}
