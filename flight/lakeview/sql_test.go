package lakeview

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
)

func TestDuckTypeCoversThePrimitiveTypes(t *testing.T) {
	cases := map[iceberg.Type]string{
		iceberg.PrimitiveTypes.Bool: "BOOLEAN", iceberg.PrimitiveTypes.Int32: "INTEGER", iceberg.PrimitiveTypes.Int64: "BIGINT",
		iceberg.PrimitiveTypes.Float32: "FLOAT", iceberg.PrimitiveTypes.Float64: "DOUBLE", iceberg.DecimalTypeOf(18, 2): "DECIMAL(18,2)",
		iceberg.PrimitiveTypes.Date: "DATE", iceberg.PrimitiveTypes.Time: "TIME", iceberg.PrimitiveTypes.Timestamp: "TIMESTAMP",
		iceberg.PrimitiveTypes.TimestampTz: "TIMESTAMPTZ", iceberg.PrimitiveTypes.String: "VARCHAR", iceberg.PrimitiveTypes.UUID: "UUID",
		iceberg.PrimitiveTypes.Binary: "BLOB",
	}
	for it, want := range cases {
		if got, err := DuckType(it); err != nil || got != want {
			t.Errorf("DuckType(%s) = %q, %v; want %q", it, got, err, want)
		}
	}
	nested := &iceberg.ListType{ElementID: 9, Element: iceberg.PrimitiveTypes.String}
	if _, err := DuckType(nested); !errors.Is(err, ErrUnsupported) {
		t.Errorf("nested type: %v", err)
	}
}

func TestValuesSQLKeepsTypesWhenEmpty(t *testing.T) {
	cols := []column{{"id", "BIGINT"}, {"name", "VARCHAR"}}
	empty := valuesSQL(cols, nil)
	if !strings.Contains(empty, `CAST(NULL AS BIGINT) AS "id"`) || !strings.HasSuffix(empty, "WHERE false)") {
		t.Fatalf("empty relation: %s", empty)
	}
	full := valuesSQL(cols, [][]string{{"1", "'a'"}, {"NULL", "NULL"}})
	if !strings.Contains(full, "(CAST(1 AS BIGINT), CAST('a' AS VARCHAR))") || !strings.Contains(full, `AS v("id", "name")`) {
		t.Fatalf("relation: %s", full)
	}
}
