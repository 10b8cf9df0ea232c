package lake

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/finlake/finlake/contract"
)

// Table names in the lake namespace.
const (
	TableTransactions = "transactions"
	TableAlerts       = "alerts"
	TablePipelineRuns = "pipeline_runs"
)

// Kafka audit columns carried by every table fed from a topic: where the row
// came from, so a reader can prove exactly-once (distinct partition/offset)
// and measure generation → storage latency (kafka_timestamp is the record's
// CreateTime, the generation time of the raw event).
const (
	ColKafkaPartition = "kafka_partition"
	ColKafkaOffset    = "kafka_offset"
	ColKafkaTimestamp = "kafka_timestamp"
)

var (
	decimal182  = iceberg.DecimalTypeOf(18, 2)
	tstz        = iceberg.PrimitiveTypes.TimestampTz
	str         = iceberg.PrimitiveTypes.String
	int32T      = iceberg.PrimitiveTypes.Int32
	int64T      = iceberg.PrimitiveTypes.Int64
	float64T    = iceberg.PrimitiveTypes.Float64
	dateT       = iceberg.PrimitiveTypes.Date
	boolT       = iceberg.PrimitiveTypes.Bool
	partFieldID = 1000 // first partition field id, as the spec assigns them
)

// Every column is optional: a record that lacks a field lands as NULL rather
// than being rejected, and columns added later (schema evolution) are NULL in
// older rows anyway. Field ids are fixed here and must never be renumbered:
// Parquet files are matched to columns by id.
func f(id int, name string, t iceberg.Type, doc string) iceberg.NestedField {
	return iceberg.NestedField{ID: id, Name: name, Type: t, Required: false, Doc: doc}
}

// TransactionsSchema is lake.transactions: the enriched transaction of
// transactions-processed, one row per lifecycle event, plus its Kafka origin.
func TransactionsSchema() *iceberg.Schema {
	return iceberg.NewSchema(0,
		f(1, "transaction_id", str, "UUID of the transaction; repeats across its lifecycle events"),
		f(2, "timestamp", tstz, "when the transaction occurred (event time, UTC)"),
		f(3, "account_id", str, "account identifier"),
		f(4, "amount", decimal182, "amount in the transaction currency; negative only for refunds"),
		f(5, "currency", str, "ISO 4217 currency code"),
		f(6, "merchant_name", str, "merchant name"),
		f(7, "merchant_category", str, "retail, dining, travel, online, groceries, entertainment, utilities"),
		f(8, "transaction_type", str, "purchase, withdrawal, transfer or refund"),
		f(9, "location_country", str, "ISO 3166 alpha-2 country code"),
		f(10, "status", str, "pending, completed, failed or reversed"),
		f(11, "amount_usd", decimal182, "amount converted to USD with the FX table in force"),
		f(12, "processing_timestamp", tstz, "when the stream job processed the event (UTC)"),
		f(13, "partition_date", date(), "UTC date of timestamp"),
		f(14, "is_flagged", boolT, "true when any rule fired on the transaction's first event"),
		f(15, ColKafkaPartition, int32T, "partition of transactions-processed the row was read from"),
		f(16, ColKafkaOffset, int64T, "offset of the record in that partition"),
		f(17, ColKafkaTimestamp, tstz, "Kafka record timestamp: the raw event's generation time"),
	)
}

// AlertsSchema is lake.alerts: the alert plus the triggering transaction's
// key facts, flattened so analysts need no join.
func AlertsSchema() *iceberg.Schema {
	return iceberg.NewSchema(0,
		f(1, "alert_id", str, "UUID v5 of transaction_id + rule_name; stable across replays"),
		f(2, "transaction_id", str, "the triggering transaction"),
		f(3, "account_id", str, "account of the triggering transaction"),
		f(4, "rule_name", str, "rule that fired"),
		f(5, "rule_type", str, "threshold, velocity, time_of_day or new_country"),
		f(6, "rule_version", int32T, "version of the rule definition that fired"),
		f(7, "severity", str, "low, medium, high or critical"),
		f(8, "alert_timestamp", tstz, "when the alert was raised (UTC)"),
		f(9, "description", str, "human-readable reason, with the numbers that triggered it"),
		f(10, "transaction_timestamp", tstz, "event time of the triggering transaction (transaction.timestamp)"),
		f(11, "amount", decimal182, "amount of the triggering transaction (transaction.amount)"),
		f(12, "currency", str, "currency of the triggering transaction (transaction.currency)"),
		f(13, "merchant_name", str, "merchant of the triggering transaction (transaction.merchant_name)"),
		f(14, "location_country", str, "country of the triggering transaction (transaction.location_country)"),
		f(15, ColKafkaPartition, int32T, "partition of the alerts topic the row was read from"),
		f(16, ColKafkaOffset, int64T, "offset of the record in that partition"),
		f(17, ColKafkaTimestamp, tstz, "Kafka record timestamp: the raw event's generation time"),
	)
}

// PipelineRunsSchema is lake.pipeline_runs: one row per ingest session and
// reporting window with what flowed and how fast it became visible.
func PipelineRunsSchema() *iceberg.Schema {
	return iceberg.NewSchema(0,
		f(1, "session_id", str, "UUID of the ingest process run"),
		f(2, "session_start", tstz, "when the session started"),
		f(3, "window_start", tstz, "start of the reporting window"),
		f(4, "window_end", tstz, "end of the reporting window"),
		f(5, "transactions_consumed", int64T, "records read from transactions-processed in the window"),
		f(6, "transactions_written", int64T, "rows committed to lake.transactions in the window"),
		f(7, "alerts_consumed", int64T, "records read from alerts in the window"),
		f(8, "alerts_written", int64T, "rows committed to lake.alerts in the window"),
		f(9, "records_invalid", int64T, "records skipped because they were not a JSON object"),
		f(10, "unknown_fields", int64T, "record fields ignored because the table has no such column"),
		f(11, "commits", int64T, "Iceberg commits made in the window (both tables)"),
		f(12, "commit_retries", int64T, "commits retried after losing a race"),
		f(13, "rows_per_second", float64T, "rows committed per second over the window"),
		f(14, "storage_latency_p50_ms", float64T, "median Kafka timestamp → visible-in-Iceberg latency"),
		f(15, "storage_latency_p95_ms", float64T, "95th percentile of that latency"),
		f(16, "storage_latency_p99_ms", float64T, "99th percentile of that latency"),
		f(17, "storage_latency_max_ms", float64T, "maximum of that latency"),
		f(18, "host", str, "host name of the ingest process"),
		f(19, "version", str, "lakectl version"),
	)
}

func date() iceberg.Type { return dateT }

// TableDef is a finlake table's creation recipe.
type TableDef struct {
	Name        string
	Schema      *iceberg.Schema
	DayOf       string // column partitioned by day(); empty = unpartitioned
	SourceTopic string // Kafka topic whose offsets its snapshots carry; empty for none
	// Lookups are the columns queried by one value (a transaction or alert
	// id); their compacted Parquet files carry a bloom filter per row group,
	// so a point lookup reads one row group instead of the whole column.
	Lookups []string
}

// Tables lists every table EnsureTables creates.
func Tables() []TableDef {
	return []TableDef{
		{Name: TableTransactions, Schema: TransactionsSchema(), DayOf: "timestamp", SourceTopic: contract.TransactionsProcessed,
			Lookups: []string{"transaction_id"}},
		{Name: TableAlerts, Schema: AlertsSchema(), DayOf: "alert_timestamp", SourceTopic: contract.Alerts,
			Lookups: []string{"alert_id", "transaction_id"}},
		{Name: TablePipelineRuns, Schema: PipelineRunsSchema(), DayOf: "window_start"},
	}
}

// Spec is the partition spec of the table: day(DayOf), partition field name
// "<col>_day" (the name Spark and PyIceberg would give it).
func (d TableDef) Spec() (iceberg.PartitionSpec, error) {
	if d.DayOf == "" {
		return *iceberg.UnpartitionedSpec, nil
	}
	col, ok := d.Schema.FindFieldByName(d.DayOf)
	if !ok {
		return iceberg.PartitionSpec{}, fmt.Errorf("table %s: partition column %q not in schema", d.Name, d.DayOf)
	}
	id := partFieldID
	return iceberg.NewPartitionSpecOpts(
		iceberg.AddPartitionFieldBySourceID(col.ID, d.DayOf+"_day", iceberg.DayTransform{}, d.Schema, &id))
}

// MetadataVersionsMax is how many previous metadata.json files a table
// keeps (write.metadata.previous-versions-max); maintenance lowers tables
// created with more. Each is a full copy of the table metadata, so this
// bounds the metadata directory at about this many times metadata.json.
const MetadataVersionsMax = 10

// Row groups and bloom filters of files with lookup columns. A point lookup
// reads every row group whose filter may hold the value, whole: 128 Ki rows
// keep that read short, and a 256 KiB filter is ~16 bits per distinct value
// of a full row group (a false positive rate well under 1%). arrow-go sizes
// every filter at the maximum, whatever the file's rows, which is why the
// small files ingest writes per commit carry none (WithoutLookupFilters).
const (
	LookupRowGroupRows     = 128 << 10
	LookupBloomFilterBytes = 256 << 10
)

// TableProperties are set on creation. Format v2 because PyIceberg, DuckDB
// and Java all read it; manifest merging keeps the manifest list short under
// a commit every few seconds; old metadata.json files are pruned for the same
// reason; zstd level 1 compresses nearly as well as the default level at a
// fraction of the CPU, which ingest on 2 cores needs.
func TableProperties() iceberg.Properties {
	return iceberg.Properties{
		"format-version":                          "2",
		table.ManifestMergeEnabledKey:             "true",
		table.MetadataDeleteAfterCommitEnabledKey: "true",
		table.MetadataPreviousVersionsMaxKey:      strconv.Itoa(MetadataVersionsMax),
		table.ParquetCompressionKey:               "zstd",
		table.ParquetCompressionLevelKey:          "1",
		table.WriteTargetFileSizeBytesKey:         "134217728",
	}
}

// Properties are the table's creation properties: TableProperties plus the
// Parquet layout its lookup columns need.
func (d TableDef) Properties() iceberg.Properties {
	props := TableProperties()
	for k, v := range d.layoutProperties() {
		props[k] = v
	}
	return props
}

func (d TableDef) layoutProperties() iceberg.Properties {
	props := iceberg.Properties{}
	if len(d.Lookups) == 0 {
		return props
	}
	props[table.ParquetRowGroupLimitKey] = strconv.Itoa(LookupRowGroupRows)
	props[table.ParquetBloomFilterMaxBytesKey] = strconv.Itoa(LookupBloomFilterBytes)
	for _, c := range d.Lookups {
		props[table.ParquetBloomFilterColumnEnabledKeyPrefix+"."+c] = "true"
	}
	return props
}

// MissingLayout is the part of the table's Parquet layout properties that
// current lacks: what a table created by an older finlake needs set. A
// property the table already has, whatever its value, is left to it.
func (d TableDef) MissingLayout(current iceberg.Properties) iceberg.Properties {
	missing := iceberg.Properties{}
	for k, v := range d.layoutProperties() {
		if _, ok := current[k]; !ok {
			missing[k] = v
		}
	}
	return missing
}

// TableDefOf is the definition of the finlake table called name.
func TableDefOf(name string) (TableDef, bool) {
	for _, d := range Tables() {
		if d.Name == name {
			return d, true
		}
	}
	return TableDef{}, false
}

// WithoutLookupFilters is tbl as a writer of small, short-lived files sees
// it: without bloom filters, each of which would cost the full
// LookupBloomFilterBytes in a file of a few rows. Only for writing data
// files: the view has no catalog, so it cannot commit; commits go through
// tbl. Compaction writes the filters.
func WithoutLookupFilters(tbl *table.Table) (*table.Table, error) {
	var drop []string
	for k := range tbl.Properties() {
		if strings.HasPrefix(k, table.ParquetBloomFilterColumnEnabledKeyPrefix+".") {
			drop = append(drop, k)
		}
	}
	if len(drop) == 0 {
		return tbl, nil
	}
	b, err := table.MetadataBuilderFromBase(tbl.Metadata(), tbl.MetadataLocation())
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", tbl.Identifier(), err)
	}
	if err := b.RemoveProperties(drop); err != nil {
		return nil, fmt.Errorf("table %s: %w", tbl.Identifier(), err)
	}
	meta, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", tbl.Identifier(), err)
	}
	return table.New(tbl.Identifier(), meta, tbl.MetadataLocation(), tbl.FS, nil), nil
}

// EnsureTables creates the lake namespace and every finlake table that does
// not exist yet; existing tables are left as they are (their schema may have
// evolved). Safe to call from several processes at once.
func EnsureTables(ctx context.Context, cat catalog.Catalog) error {
	ns := catalog.ToIdentifier(Namespace)
	exists, err := cat.CheckNamespaceExists(ctx, ns)
	if err != nil {
		return fmt.Errorf("check namespace %s: %w", Namespace, err)
	}
	if !exists {
		err := cat.CreateNamespace(ctx, ns, iceberg.Properties{"comment": "finlake streaming lakehouse"})
		if err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
			return fmt.Errorf("create namespace %s: %w", Namespace, err)
		}
	}
	for _, d := range Tables() {
		ok, err := cat.CheckTableExists(ctx, Ident(d.Name))
		if err != nil {
			return fmt.Errorf("check table %s.%s: %w", Namespace, d.Name, err)
		}
		if ok {
			continue
		}
		spec, err := d.Spec()
		if err != nil {
			return err
		}
		_, err = cat.CreateTable(ctx, Ident(d.Name), d.Schema,
			catalog.WithPartitionSpec(&spec), catalog.WithProperties(d.Properties()))
		if err != nil && !errors.Is(err, catalog.ErrTableAlreadyExists) {
			return fmt.Errorf("create table %s.%s: %w", Namespace, d.Name, err)
		}
	}
	return nil
}
