package client

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// batches gives n batches of rows shaped like lake.transactions' key columns.
func batches(tb testing.TB, n, rows int) (*arrow.Schema, []arrow.RecordBatch) {
	tb.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "transaction_id", Type: arrow.BinaryTypes.String},
		{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "amount", Type: &arrow.Decimal128Type{Precision: 18, Scale: 2}},
		{Name: "is_flagged", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	}, nil)
	var out []arrow.RecordBatch
	t0 := time.Date(2026, 11, 26, 1, 2, 3, 456000000, time.UTC)
	for b := 0; b < n; b++ {
		rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := 0; i < rows; i++ {
			rb.Field(0).(*array.StringBuilder).Append("0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10")
			rb.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t0.Add(time.Duration(i) * time.Millisecond).UnixMicro()))
			rb.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(12540 + i)))
			if i%10 == 0 {
				rb.Field(3).AppendNull()
			} else {
				rb.Field(3).(*array.BooleanBuilder).Append(i%7 == 0)
			}
		}
		out = append(out, rb.NewRecordBatch())
		rb.Release()
	}
	return schema, out
}

func TestCSVAndJSONLinesRenderExactValues(t *testing.T) {
	schema, recs := batches(t, 1, 2)
	for format, want := range map[string]string{
		"csv":   "transaction_id,timestamp,amount,is_flagged\n0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10,2026-11-26T01:02:03.456Z,125.40,NULL\n0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10,2026-11-26T01:02:03.457Z,125.41,false\n",
		"jsonl": "{\"transaction_id\":\"0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10\",\"timestamp\":\"2026-11-26T01:02:03.456Z\",\"amount\":125.40,\"is_flagged\":null}\n{\"transaction_id\":\"0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10\",\"timestamp\":\"2026-11-26T01:02:03.457Z\",\"amount\":125.41,\"is_flagged\":false}\n",
		"json":  "[\n  {\"transaction_id\":\"0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10\",\"timestamp\":\"2026-11-26T01:02:03.456Z\",\"amount\":125.40,\"is_flagged\":null},\n  {\"transaction_id\":\"0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10\",\"timestamp\":\"2026-11-26T01:02:03.457Z\",\"amount\":125.41,\"is_flagged\":false}\n]\n",
	} {
		rr, _ := array.NewRecordReader(schema, recs)
		var buf bytes.Buffer
		if _, err := Write(&buf, rr, WriteOptions{Format: format}); err != nil {
			t.Fatal(err)
		}
		if buf.String() != want {
			t.Errorf("%s:\n got  %q\n want %q", format, buf.String(), want)
		}
	}
}

func TestTableOutputStopsAtMaxRowsAndSaysSo(t *testing.T) {
	schema, recs := batches(t, 3, 10)
	rr, _ := array.NewRecordReader(schema, recs)
	var buf bytes.Buffer
	n, err := Write(&buf, rr, WriteOptions{Format: "table", MaxTableRows: 15})
	if err != nil || n != 15 || !strings.Contains(buf.String(), "first 15 rows shown") {
		t.Fatalf("n=%d err=%v\n%s", n, err, buf.String())
	}
}

func TestResolveAsOf(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]string{
		"-15m": "2026-11-26T11:45:00Z", "-1d": "2026-11-25T12:00:00Z", "-1h30m": "2026-11-26T10:30:00Z",
		"2026-11-26T01:00:00+01:00": "2026-11-26T00:00:00Z", "2026-11-26": "2026-11-26T00:00:00Z",
		"4170283520932425": "4170283520932425",
	} {
		if got, err := ResolveAsOf(in, now); err != nil || got != want {
			t.Errorf("ResolveAsOf(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ResolveAsOf("yesterday-ish", now); err == nil {
		t.Error("nonsense accepted")
	}
}

// BenchmarkWrite measures rendering throughput per format (rows/s is
// b.N*rows / elapsed); the Flight transfer is not included.
func BenchmarkWrite(b *testing.B) {
	const rowsPerBatch, nBatches = 8192, 16
	schema, recs := batches(b, nBatches, rowsPerBatch)
	for _, format := range []string{"csv", "jsonl", "json"} {
		b.Run(format, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				rr, _ := array.NewRecordReader(schema, recs)
				if _, err := Write(io.Discard, rr, WriteOptions{Format: format}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*rowsPerBatch*nBatches)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
