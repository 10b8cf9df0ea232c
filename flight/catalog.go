//go:build duckdb_arrow

package flight

import (
	"context"
	"regexp"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"

	"github.com/finlake/finlake/flight/sqlrewrite"
)

const tableType = "TABLE"

func (s *Server) infoFor(desc *flight.FlightDescriptor, schema *arrow.Schema) *flight.FlightInfo {
	return &flight.FlightInfo{
		Schema:           flight.SerializeSchema(schema, s.Alloc),
		FlightDescriptor: desc,
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: desc.Cmd}}},
		TotalRecords:     -1,
		TotalBytes:       -1,
	}
}

func oneBatch(rec arrow.RecordBatch) <-chan flight.StreamChunk {
	ch := make(chan flight.StreamChunk, 1)
	ch <- flight.StreamChunk{Data: rec}
	close(ch)
	return ch
}

// likeMatch implements SQL LIKE (% and _) for the Flight SQL filter patterns.
func likeMatch(pattern *string, s string) bool {
	if pattern == nil || *pattern == "" {
		return true
	}
	var b strings.Builder
	b.WriteString("(?is)^")
	for _, r := range *pattern {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	return err == nil && re.MatchString(s)
}

// GetFlightInfoCatalogs lists the one catalog.
func (s *Server) GetFlightInfoCatalogs(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.infoFor(desc, schema_ref.Catalogs), nil
}

// DoGetCatalogs streams the one catalog.
func (s *Server) DoGetCatalogs(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.Alloc, schema_ref.Catalogs)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append(s.lake.CatalogName())
	return schema_ref.Catalogs, oneBatch(b.NewRecordBatch()), nil
}

// GetFlightInfoSchemas lists the lake namespace.
func (s *Server) GetFlightInfoSchemas(_ context.Context, _ flightsql.GetDBSchemas, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.infoFor(desc, schema_ref.DBSchemas), nil
}

func (s *Server) catalogMatches(c *string) bool {
	return c == nil || *c == "" || *c == s.lake.CatalogName()
}

// DoGetDBSchemas streams the lake namespace when it matches the filters.
func (s *Server) DoGetDBSchemas(_ context.Context, cmd flightsql.GetDBSchemas) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.Alloc, schema_ref.DBSchemas)
	defer b.Release()
	if s.catalogMatches(cmd.GetCatalog()) && likeMatch(cmd.GetDBSchemaFilterPattern(), s.lake.Namespace()) {
		b.Field(0).(*array.StringBuilder).Append(s.lake.CatalogName())
		b.Field(1).(*array.StringBuilder).Append(s.lake.Namespace())
	}
	return schema_ref.DBSchemas, oneBatch(b.NewRecordBatch()), nil
}

// GetFlightInfoTables lists the lake's tables.
func (s *Server) GetFlightInfoTables(_ context.Context, cmd flightsql.GetTables, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if cmd.GetIncludeSchema() {
		return s.infoFor(desc, schema_ref.TablesWithIncludedSchema), nil
	}
	return s.infoFor(desc, schema_ref.Tables), nil
}

// DoGetTables streams the lake's tables, with the Arrow schema a SELECT * of
// each returns when asked.
func (s *Server) DoGetTables(ctx context.Context, cmd flightsql.GetTables) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	sc := schema_ref.Tables
	if cmd.GetIncludeSchema() {
		sc = schema_ref.TablesWithIncludedSchema
	}
	b := array.NewRecordBuilder(s.Alloc, sc)
	defer b.Release()
	typeOK := len(cmd.GetTableTypes()) == 0
	for _, t := range cmd.GetTableTypes() {
		typeOK = typeOK || strings.EqualFold(t, tableType)
	}
	if s.catalogMatches(cmd.GetCatalog()) && likeMatch(cmd.GetDBSchemaFilterPattern(), s.lake.Namespace()) && typeOK {
		names, err := s.lake.ListTables(ctx)
		if err != nil {
			return nil, nil, s.toStatus(ctx, err)
		}
		for _, n := range names {
			if !likeMatch(cmd.GetTableNameFilterPattern(), n) {
				continue
			}
			var ser []byte
			if cmd.GetIncludeSchema() {
				schema, _, _, err := s.describe(ctx, "SELECT * FROM "+sqlrewrite.QuoteIdent(s.lake.Namespace())+"."+sqlrewrite.QuoteIdent(n), sqlrewrite.AsOf{})
				if err != nil {
					// One table the server cannot read (e.g. a nested column)
					// must not hide the others from a client's catalog browser.
					s.log.Warn("table left out of the catalog listing", "table", n, "err", err)
					continue
				}
				ser = flight.SerializeSchema(schema, s.Alloc)
			}
			b.Field(0).(*array.StringBuilder).Append(s.lake.CatalogName())
			b.Field(1).(*array.StringBuilder).Append(s.lake.Namespace())
			b.Field(2).(*array.StringBuilder).Append(n)
			b.Field(3).(*array.StringBuilder).Append(tableType)
			if cmd.GetIncludeSchema() {
				b.Field(4).(*array.BinaryBuilder).Append(ser)
			}
		}
	}
	return sc, oneBatch(b.NewRecordBatch()), nil
}

// GetFlightInfoTableTypes lists the table types.
func (s *Server) GetFlightInfoTableTypes(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.infoFor(desc, schema_ref.TableTypes), nil
}

// DoGetTableTypes streams the one table type.
func (s *Server) DoGetTableTypes(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.Alloc, schema_ref.TableTypes)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append(tableType)
	return schema_ref.TableTypes, oneBatch(b.NewRecordBatch()), nil
}
