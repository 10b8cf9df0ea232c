package ingest

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Prometheus series of the ingest service.
type metrics struct {
	consumed      *prometheus.CounterVec
	written       *prometheus.CounterVec
	invalid       *prometheus.CounterVec
	unknownFields *prometheus.CounterVec
	badValues     *prometheus.CounterVec
	commits       *prometheus.CounterVec
	retries       *prometheus.CounterVec
	dropped       *prometheus.CounterVec
	files         *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	commitSecs    *prometheus.HistogramVec
	lag           *prometheus.GaugeVec
	lastCommit    *prometheus.GaugeVec
	paused        *prometheus.GaugeVec
	diskUsed      prometheus.Gauge
	diskState     prometheus.Gauge
	maintenance   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "finlake_ingest_records_consumed_total",
			Help: "Kafka records read (read_committed), per table."}, []string{"table"}),
		written: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "finlake_ingest_rows_committed_total",
			Help: "Rows made visible by Iceberg commits, per table."}, []string{"table"}),
		invalid: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "finlake_ingest_records_invalid_total",
			Help: "Records skipped because they are not a JSON object."}, []string{"table"}),
		unknownFields: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "finlake_ingest_unknown_fields_total",
			Help: "Record fields ignored because the table has no such column."}, []string{"table"}),
		badValues: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "finlake_ingest_bad_values_total",
			Help: "Values that did not fit their column's type and were stored as NULL."}, []string{"table", "column"}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "finlake_ingest_commits_total",
			Help: "Iceberg commits made by ingest."}, []string{"table"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "finlake_ingest_commit_retries_total",
			Help: "Commits retried after losing a race (reload, recheck offsets, rebuild)."}, []string{"table"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "finlake_ingest_batches_already_committed_total",
			Help: "Batches dropped because the table's offsets showed them already committed."}, []string{"table"}),
		files: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "finlake_ingest_data_files_committed_total",
			Help: "Parquet data files committed."}, []string{"table"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "finlake_ingest_storage_latency_seconds",
			Help:    "Kafka record timestamp (generation time) to the commit that made the row visible.",
			Buckets: []float64{0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120, 300}}, []string{"table"}),
		// The commit alone (reload, offsets check, manifests, metadata.json,
		// catalog swap): what grows with a table's metadata, where storage
		// latency is dominated by the commit interval.
		commitSecs: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "finlake_ingest_commit_seconds",
			Help:    "Duration of a successful Iceberg commit by ingest, retries included, per table.",
			Buckets: []float64{0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5}}, []string{"table"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "finlake_ingest_partition_lag_records",
			Help: "Last stable offset minus the next offset committed to Iceberg, per partition."}, []string{"table", "partition"}),
		lastCommit: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "finlake_ingest_last_commit_timestamp_seconds",
			Help: "Unix time of the last successful commit."}, []string{"table"}),
		paused: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "finlake_ingest_paused",
			Help: "1 while the table's writer is stopped (disk guard or error), else 0."}, []string{"table"}),
		diskUsed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "finlake_ingest_disk_used_ratio",
			Help: "Fraction of the warehouse filesystem in use."}),
		diskState: prometheus.NewGauge(prometheus.GaugeOpts{Name: "finlake_ingest_disk_state",
			Help: "Disk guard: 0 ok, 1 warning (warn threshold reached), 2 critical (ingest stopped)."}),
		maintenance: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "finlake_ingest_maintenance_runs_total",
			Help: "Scheduled maintenance runs per table and outcome."}, []string{"table", "outcome"}),
	}
	reg.MustRegister(m.consumed, m.written, m.invalid, m.unknownFields, m.badValues, m.commits, m.retries,
		m.dropped, m.files, m.latency, m.commitSecs, m.lag, m.lastCommit, m.paused, m.diskUsed, m.diskState, m.maintenance)
	return m
}
