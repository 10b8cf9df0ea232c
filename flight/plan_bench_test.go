//go:build duckdb_arrow

package flight

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/apache/arrow-adbc/go/adbc"
	adbcfs "github.com/apache/arrow-adbc/go/adbc/driver/flightsql"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/finlake/finlake/flight/engine"
	"github.com/finlake/finlake/flight/lakeview"
	"github.com/finlake/finlake/flight/sqlrewrite"
	"github.com/finlake/finlake/lake"
)

// BenchmarkQueryStages times planning, DuckDB's prepare and the execution of
// one query on a lake built by cmd/flightbench (FINLAKE_BENCH_LAKE=<its
// rows-N directory>, FINLAKE_BENCH_SQL the query), the server-side cost of a
// query apart from the wire.
//
//	FINLAKE_BENCH_LAKE=/tmp/finlake-flightbench/rows-1000000 go test -tags duckdb_arrow -run - -bench QueryStages ./flight/
func BenchmarkQueryStages(b *testing.B) {
	dir := os.Getenv("FINLAKE_BENCH_LAKE")
	if dir == "" {
		b.Skip("FINLAKE_BENCH_LAKE is not set")
	}
	sql := os.Getenv("FINLAKE_BENCH_SQL")
	if sql == "" {
		sql = "SELECT count(*) FROM lake.transactions"
	}
	ctx := context.Background()
	r, err := Start(ctx, Config{Lake: lake.Config{DataDir: dir}, Listen: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Stop()
	s := r.Server
	p, err := s.plan(ctx, sql, sqlrewrite.AsOf{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("plan", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.plan(ctx, sql, sqlrewrite.AsOf{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("current", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.lake.Current(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("prepare", func(b *testing.B) {
		for b.Loop() {
			conn, st, err := s.prepareSQL(ctx, p)
			if err != nil {
				b.Fatal(err)
			}
			st.Close()
			conn.Close()
		}
	})
	// The same files without the field-id schema: what a user of DuckDB
	// would write, for comparison.
	if plain := os.Getenv("FINLAKE_BENCH_PLAIN_TABLE"); plain != "" {
		tbl, err := s.lake.Load(ctx, plain)
		if err != nil {
			b.Fatal(err)
		}
		pin, err := lakeview.PinAt(tbl, plain, sqlrewrite.AsOf{})
		if err != nil {
			b.Fatal(err)
		}
		files, err := s.lake.Files(ctx, pin)
		if err != nil {
			b.Fatal(err)
		}
		quoted := make([]string, len(files))
		for i, f := range files {
			quoted[i] = sqlrewrite.QuoteString(f.Path)
		}
		q := &planned{sql: strings.Replace(os.Getenv("FINLAKE_BENCH_PLAIN_SQL"), "$FILES", "read_parquet(["+strings.Join(quoted, ",")+"])", 1)}
		b.Run("prepare plain", func(b *testing.B) {
			for b.Loop() {
				conn, st, err := s.prepareSQL(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				st.Close()
				conn.Close()
			}
		})
	}
	b.Run("prepare+run", func(b *testing.B) {
		for b.Loop() {
			conn, st, err := s.prepareSQL(ctx, p)
			if err != nil {
				b.Fatal(err)
			}
			err = st.Stream(ctx, engine.Limits{}, func(r arrow.RecordBatch) error { r.Release(); return nil })
			st.Close()
			conn.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	// What a pooled statement costs: prepared once, run again and again.
	b.Run("run", func(b *testing.B) {
		conn, st, err := s.prepareSQL(ctx, p)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		defer st.Close()
		for b.Loop() {
			if err := st.Stream(ctx, engine.Limits{}, func(r arrow.RecordBatch) error { r.Release(); return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Through the wire with the Go ADBC client: a statement (GetFlightInfo +
	// DoGet) and a prepared statement (create, GetFlightInfo, DoGet, close:
	// what Python's cursor.execute does), each ending at the last batch.
	db, err := adbcfs.NewDriver(memory.DefaultAllocator).NewDatabase(map[string]string{adbc.OptionKeyURI: "grpc://" + r.Addr()})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cn, err := db.Open(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer cn.Close()
	run := func(b *testing.B, prepare bool) {
		for b.Loop() {
			st, err := cn.NewStatement()
			if err != nil {
				b.Fatal(err)
			}
			if err := st.SetSqlQuery(sql); err != nil {
				b.Fatal(err)
			}
			if prepare {
				if err := st.Prepare(ctx); err != nil {
					b.Fatal(err)
				}
			}
			rdr, _, err := st.ExecuteQuery(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for rdr.Next() {
			}
			err = rdr.Err()
			rdr.Release()
			st.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("adbc statement", func(b *testing.B) { run(b, false) })
	b.Run("adbc prepared", func(b *testing.B) { run(b, true) })
}
