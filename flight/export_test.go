//go:build duckdb_arrow

package flight

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"google.golang.org/grpc/metadata"

	"github.com/finlake/finlake/flight/engine"
	"github.com/finlake/finlake/flight/sqlrewrite"
)

// RunInProcess plans, prepares and runs sql on the server without the wire,
// as a reader or (masked) as a share session, and counts the result's rows:
// the server-side cost of a query for benchmarks. The server must run
// without authentication (roles come from the call's credentials otherwise).
func RunInProcess(r *Running, sql string, masked bool) (int64, error) {
	ctx := context.Background()
	if masked {
		ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(MaskHeader, "true"))
	}
	s := r.Server
	p, err := s.plan(ctx, sql, sqlrewrite.AsOf{})
	if err != nil {
		return 0, err
	}
	conn, st, err := s.prepareSQL(ctx, p)
	if err != nil {
		return 0, err
	}
	var rows int64
	err = st.Stream(ctx, engine.Limits{}, func(rec arrow.RecordBatch) error { rows += rec.NumRows(); rec.Release(); return nil })
	if err == nil {
		s.recycle(p, conn, st)
	} else {
		st.Close()
		conn.Close()
	}
	return rows, err
}
