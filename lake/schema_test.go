package lake

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/finlake/finlake/internal/testsupport"
)

func openTestCatalog(t *testing.T) (cfg Config, ctx context.Context) {
	t.Helper()
	return Config{DataDir: t.TempDir(), CatalogURI: testsupport.CatalogURI(t)}, context.Background()
}

func TestEnsureTablesIsIdempotentAndKeepsFieldIDs(t *testing.T) {
	cfg, ctx := openTestCatalog(t)
	for i := 0; i < 2; i++ {
		cat, closeFn, err := OpenCatalog(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := EnsureTables(ctx, cat); err != nil {
			t.Fatalf("EnsureTables run %d: %v", i+1, err)
		}
		closeFn()
	}
	cat, closeFn, err := OpenCatalog(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	for _, d := range Tables() {
		tbl, err := cat.LoadTable(ctx, Ident(d.Name))
		if err != nil {
			t.Fatalf("load %s: %v", d.Name, err)
		}
		for _, want := range d.Schema.Fields() {
			got, ok := tbl.Schema().FindFieldByName(want.Name)
			if !ok || got.ID != want.ID || !got.Type.Equals(want.Type) {
				t.Errorf("%s.%s: got %+v, want id %d type %s", d.Name, want.Name, got, want.ID, want.Type)
			}
		}
	}
}

func TestTransactionsArePartitionedByDayOfTimestamp(t *testing.T) {
	cfg, ctx := openTestCatalog(t)
	cat, closeFn, err := OpenCatalog(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if err := EnsureTables(ctx, cat); err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.LoadTable(ctx, Ident(TableTransactions))
	if err != nil {
		t.Fatal(err)
	}
	spec := tbl.Spec()
	if spec.NumFields() != 1 {
		t.Fatalf("want one partition field, got %s", spec.String())
	}
	pf := spec.Field(0)
	src, _ := tbl.Schema().FindFieldByID(pf.SourceID())
	if src.Name != "timestamp" || pf.Transform.String() != (iceberg.DayTransform{}).String() {
		t.Fatalf("want day(timestamp), got %s(%s)", pf.Transform, src.Name)
	}
}

func TestLatestOffsetsFindsNewestCarrierThroughPlainSnapshots(t *testing.T) {
	cfg, ctx := openTestCatalog(t)
	cat, closeFn, err := OpenCatalog(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if err := EnsureTables(ctx, cat); err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.LoadTable(ctx, Ident(TablePipelineRuns))
	if err != nil {
		t.Fatal(err)
	}
	if o, s, err := LatestOffsets(tbl, "t"); err != nil || s != nil || len(o) != 0 {
		t.Fatalf("fresh table: want no offsets, got %v %v %v", o, s, err)
	}
	appendRow := func(props iceberg.Properties) {
		t.Helper()
		sc, err := table.SchemaToArrowSchema(tbl.Schema(), nil, true, false)
		if err != nil {
			t.Fatal(err)
		}
		b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
		defer b.Release()
		for i := range sc.Fields() {
			b.Field(i).AppendNull()
		}
		rec := b.NewRecordBatch()
		defer rec.Release()
		rdr, _ := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
		tbl, err = tbl.Append(ctx, rdr, props)
		if err != nil {
			t.Fatal(err)
		}
	}
	appendRow(iceberg.Properties{OffsetsProperty("t"): Offsets{0: 5, 1: 7}.Encode()})
	appendRow(iceberg.Properties{OffsetsProperty("t"): Offsets{0: 9, 1: 7}.Encode()})
	appendRow(nil)
	appendRow(nil)

	o, s, err := LatestOffsets(tbl, "t")
	if err != nil {
		t.Fatal(err)
	}
	if s == nil || !o.Equal(Offsets{0: 9, 1: 7}) {
		t.Fatalf("want {0:9,1:7} from the second snapshot, got %v", o)
	}
}

func TestOffsetsEncodeDecodeRoundTrip(t *testing.T) {
	o := Offsets{2: 10, 0: 123, 1: 456}
	if got := o.Encode(); got != `{"0":123,"1":456,"2":10}` {
		t.Fatalf("encode: %s", got)
	}
	back, err := DecodeOffsets(o.Encode())
	if err != nil || !back.Equal(o) {
		t.Fatalf("roundtrip: %v %v", back, err)
	}
	if !o.Covers(Offsets{0: 100, 2: 10}) || o.Covers(Offsets{3: 1}) {
		t.Fatal("Covers is wrong")
	}
}
