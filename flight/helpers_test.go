//go:build duckdb_arrow

package flight_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-adbc/go/adbc"
	adbcfs "github.com/apache/arrow-adbc/go/adbc/driver/flightsql"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"

	"github.com/finlake/finlake/flight"
	"github.com/finlake/finlake/internal/testsupport"
	"github.com/finlake/finlake/lake"
)

// testLake is a temporary data directory with a SQL catalog, built with
// iceberg-go directly, as any writer would.
type testLake struct {
	cfg lake.Config
	cat *sqlcat.Catalog
}

// newLakeWithFiveTransactions is a lake whose transactions table holds five
// rows of one day, and its warehouse directory (which no error may reveal).
func newLakeWithFiveTransactions(t *testing.T) (*testLake, string) {
	t.Helper()
	l := newTestLake(t)
	l.createTx(t, "transactions")
	l.appendRows(t, "transactions", makeRows("a", 5, day1))
	wh, err := l.cfg.WarehouseDir()
	if err != nil {
		t.Fatal(err)
	}
	return l, wh
}

func newTestLake(t testing.TB) *testLake {
	t.Helper()
	cfg := lake.Config{DataDir: t.TempDir(), CatalogURI: testsupport.CatalogURI(t)}
	cat, closeFn, err := lake.OpenCatalog(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeFn() })
	if err := cat.CreateNamespace(context.Background(), catalog.ToIdentifier(lake.Namespace), nil); err != nil {
		t.Fatal(err)
	}
	return &testLake{cfg: cfg, cat: cat}
}

// txSchema is a small transaction-like table.
var txSchema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "transaction_id", Type: iceberg.PrimitiveTypes.String, Required: true},
	iceberg.NestedField{ID: 2, Name: "timestamp", Type: iceberg.PrimitiveTypes.TimestampTz, Required: true},
	iceberg.NestedField{ID: 3, Name: "account_id", Type: iceberg.PrimitiveTypes.String, Required: true},
	iceberg.NestedField{ID: 4, Name: "amount", Type: iceberg.DecimalTypeOf(18, 2), Required: true},
	iceberg.NestedField{ID: 5, Name: "currency", Type: iceberg.PrimitiveTypes.String, Required: false},
)

// createTx creates lake.<name>, partitioned by day(timestamp) like the real table.
func (l *testLake) createTx(t testing.TB, name string) *table.Table {
	t.Helper()
	return l.createTxWith(t, name, nil)
}

// createTxWith is createTx with table properties.
func (l *testLake) createTxWith(t testing.TB, name string, props iceberg.Properties) *table.Table {
	t.Helper()
	spec := iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "timestamp_day", Transform: iceberg.DayTransform{}})
	tbl, err := l.cat.CreateTable(context.Background(), lake.Ident(name), txSchema, catalog.WithPartitionSpec(&spec), catalog.WithProperties(props))
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// txRow is one row to append; Extra holds values of added columns by name.
type txRow struct {
	ID       string
	TS       time.Time
	Account  string
	Cents    int64
	Currency string
	Extra    map[string]any
}

// appendRows appends rows to lake.<name> in one commit, with the table's current schema.
func (l *testLake) appendRows(t testing.TB, name string, rows []txRow) *table.Table {
	t.Helper()
	tbl, err := l.appendTx(name, rows)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// appendTx is appendRows returning its error; columns the rows have no value
// for (in Extra or as a field) are null.
func (l *testLake) appendTx(name string, rows []txRow) (*table.Table, error) {
	ctx := context.Background()
	tbl, err := l.cat.LoadTable(ctx, lake.Ident(name))
	if err != nil {
		return nil, err
	}
	sc, err := table.SchemaToArrowSchema(tbl.Schema(), nil, true, false)
	if err != nil {
		return nil, err
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for _, r := range rows {
		for i, f := range sc.Fields() {
			fb := b.Field(i)
			switch f.Name {
			case "transaction_id":
				fb.(*array.StringBuilder).Append(r.ID)
			case "timestamp":
				fb.(*array.TimestampBuilder).Append(arrow.Timestamp(r.TS.UnixMicro()))
			case "account_id":
				fb.(*array.StringBuilder).Append(r.Account)
			case "amount":
				fb.(*array.Decimal128Builder).Append(decimal128.FromI64(r.Cents))
			case "currency":
				fb.(*array.StringBuilder).Append(r.Currency)
			default:
				v, ok := r.Extra[f.Name]
				if !ok || v == nil {
					fb.AppendNull()
					continue
				}
				switch x := v.(type) {
				case string:
					fb.(*array.StringBuilder).Append(x)
				case int64:
					fb.(*array.Int64Builder).Append(x)
				default:
					return nil, fmt.Errorf("unsupported extra %T", v)
				}
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	return tbl.Append(ctx, rdr, nil)
}

func makeRows(prefix string, n int, ts time.Time) []txRow {
	rows := make([]txRow, n)
	for i := range rows {
		rows[i] = txRow{ID: fmt.Sprintf("%s-%04d", prefix, i), TS: ts.Add(time.Duration(i) * time.Minute),
			Account: fmt.Sprintf("AC%04d", i%7), Cents: int64(100*(i+1) + i), Currency: []string{"EUR", "USD", "GBP"}[i%3]}
	}
	return rows
}

// startServer serves the lake in-process on a free port.
func startServer(t testing.TB, l *testLake, mod func(*flight.Config)) *flight.Running {
	t.Helper()
	cfg := flight.Config{Lake: l.cfg, Listen: "127.0.0.1:0", HTTP: "127.0.0.1:0", Threads: 2, MemoryLimit: "1GB",
		Options: flight.Options{QueryTimeout: 20 * time.Second}}
	if mod != nil {
		mod(&cfg)
	}
	r, err := flight.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// client is an ADBC Flight SQL connection, the way Go analysts and lakectl connect.
type client struct {
	t    testing.TB
	db   adbc.Database
	conn adbc.Connection
}

func dial(t testing.TB, addr string, opts map[string]string) *client {
	t.Helper()
	o := map[string]string{adbc.OptionKeyURI: "grpc://" + addr}
	for k, v := range opts {
		o[k] = v
	}
	db, err := adbcfs.NewDriver(memory.DefaultAllocator).NewDatabase(o)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Open(context.Background())
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	c := &client{t: t, db: db, conn: conn}
	t.Cleanup(func() { conn.Close(); db.Close() })
	return c
}

// query runs sql and returns every row as strings (ValueStr per column).
func (c *client) query(sql string, params ...any) ([][]string, *arrow.Schema, error) {
	ctx := context.Background()
	st, err := c.conn.NewStatement()
	if err != nil {
		return nil, nil, err
	}
	defer st.Close()
	if err := st.SetSqlQuery(sql); err != nil {
		return nil, nil, err
	}
	if len(params) > 0 {
		if err := st.Prepare(ctx); err != nil {
			return nil, nil, err
		}
		fields := make([]arrow.Field, len(params))
		for i, p := range params {
			switch p.(type) {
			case int64:
				fields[i] = arrow.Field{Name: fmt.Sprint(i), Type: arrow.PrimitiveTypes.Int64, Nullable: true}
			case string:
				fields[i] = arrow.Field{Name: fmt.Sprint(i), Type: arrow.BinaryTypes.String, Nullable: true}
			default:
				return nil, nil, fmt.Errorf("param type %T", p)
			}
		}
		b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
		for i, p := range params {
			switch x := p.(type) {
			case int64:
				b.Field(i).(*array.Int64Builder).Append(x)
			case string:
				b.Field(i).(*array.StringBuilder).Append(x)
			}
		}
		rec := b.NewRecordBatch()
		b.Release()
		err := st.Bind(ctx, rec)
		rec.Release()
		if err != nil {
			return nil, nil, err
		}
	}
	rdr, _, err := st.ExecuteQuery(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer rdr.Release()
	var out [][]string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for r := 0; r < int(rec.NumRows()); r++ {
			row := make([]string, rec.NumCols())
			for c := range row {
				if rec.Column(c).IsNull(r) {
					row[c] = "NULL"
				} else {
					row[c] = strings.Clone(rec.Column(c).ValueStr(r))
				}
			}
			out = append(out, row)
		}
	}
	return out, rdr.Schema(), rdr.Err()
}

func (c *client) mustQuery(sql string, params ...any) [][]string {
	c.t.Helper()
	rows, _, err := c.query(sql, params...)
	if err != nil {
		c.t.Fatalf("query %q: %v", sql, err)
	}
	return rows
}

// one returns the single value of a one-row, one-column result.
func (c *client) one(sql string, params ...any) string {
	c.t.Helper()
	rows := c.mustQuery(sql, params...)
	if len(rows) != 1 || len(rows[0]) != 1 {
		c.t.Fatalf("query %q: want one value, got %v", sql, rows)
	}
	return rows[0][0]
}

func (c *client) exec(sql string) error {
	st, err := c.conn.NewStatement()
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.SetSqlQuery(sql); err != nil {
		return err
	}
	_, err = st.ExecuteUpdate(context.Background())
	return err
}

// adbcStatus extracts the ADBC status of an error (the gRPC code mapped).
func adbcStatus(err error) adbc.Status {
	var ae adbc.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return adbc.StatusUnknown
}

// appendRowsQuiet is appendRows for a background goroutine: it returns an
// error instead of failing the test (a lost commit race is expected there).
func (l *testLake) appendRowsQuiet(name string, rows []txRow) error {
	_, err := l.appendTx(name, rows)
	return err
}
