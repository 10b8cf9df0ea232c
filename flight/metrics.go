//go:build duckdb_arrow

package flight

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	queries   *prometheus.CounterVec
	errors    *prometheus.CounterVec
	latency   prometheus.Histogram
	firstByte prometheus.Histogram
	bytesSent prometheus.Counter
	rowsSent  prometheus.Counter
	active    prometheus.Gauge
	long      prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "finlake_flight_queries_total",
			Help: "Queries executed, by kind (query, admin) and outcome (ok, error)."}, []string{"kind", "outcome"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "finlake_flight_errors_total",
			Help: "Requests that failed, by gRPC status code."}, []string{"code"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "finlake_flight_query_duration_seconds",
			Help: "Time from the start of a result stream to its last batch.", Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 14)}),
		firstByte: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "finlake_flight_first_batch_seconds",
			Help: "Time from the start of a result stream to its first batch.", Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14)}),
		bytesSent: prometheus.NewCounter(prometheus.CounterOpts{Name: "finlake_flight_bytes_sent_total",
			Help: "Arrow buffer bytes of the result batches sent."}),
		rowsSent: prometheus.NewCounter(prometheus.CounterOpts{Name: "finlake_flight_rows_sent_total",
			Help: "Result rows sent."}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{Name: "finlake_flight_active_queries",
			Help: "Result streams in progress."}),
		long: prometheus.NewGauge(prometheus.GaugeOpts{Name: "finlake_flight_long_queries",
			Help: "Queries whose share of the server is past --long-query-after (at most --max-long-queries)."}),
	}
	if reg != nil {
		reg.MustRegister(m.queries, m.errors, m.latency, m.firstByte, m.bytesSent, m.rowsSent, m.active, m.long)
	}
	return m
}
