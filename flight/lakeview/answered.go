package lakeview

import (
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/finlake/finlake/lake"
)

// SnapshotMetadataPrefix starts the result-schema metadata keys that say
// which snapshot answered for each table: "finlake.snapshot.<table>" =
// "<snapshot id>@<committed at, RFC 3339>" (several, comma-separated, when
// the query reads the table at more than one point; "none" for a table
// without snapshots). Clients read it from the FlightInfo's schema, which
// ADBC hands back as the result's schema.
const SnapshotMetadataPrefix = "finlake.snapshot."

// WithSnapshotMetadata adds the answering snapshots of pins to schema's
// metadata.
func WithSnapshotMetadata(schema *arrow.Schema, pins []*Pin) *arrow.Schema {
	if schema == nil || len(pins) == 0 {
		return schema
	}
	vals := map[string]map[string]bool{}
	for _, p := range pins {
		v := "none"
		if p.Snapshot != nil {
			v = strconv.FormatInt(p.Snapshot.SnapshotID, 10) + "@" + lake.FormatMs(p.Snapshot.TimestampMs)
		}
		if vals[p.Name] == nil {
			vals[p.Name] = map[string]bool{}
		}
		vals[p.Name][v] = true
	}
	md := schema.Metadata()
	keys, values := append([]string(nil), md.Keys()...), append([]string(nil), md.Values()...)
	for name, set := range vals {
		list := make([]string, 0, len(set))
		for v := range set {
			list = append(list, v)
		}
		sort.Strings(list)
		keys = append(keys, SnapshotMetadataPrefix+name)
		values = append(values, strings.Join(list, ","))
	}
	m := arrow.NewMetadata(keys, values)
	return arrow.NewSchema(schema.Fields(), &m)
}
