package generator

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Stats counts what a run generated and delivered; safe for concurrent reads
// (the HTTP endpoints) while the run writes.
type Stats struct {
	Generated atomic.Int64 // records handed to the sink
	Produced  atomic.Int64 // records the sink confirmed (acknowledged by the broker, or written)
	Errors    atomic.Int64 // records the sink failed to deliver
	Valid     atomic.Int64
	EventMS   atomic.Int64 // event clock of the latest record, Unix ms
	malformed [len(MalformedKinds)]atomic.Int64
	scenarios [numScenarios]atomic.Int64
}

func (s *Stats) count(r *Record) {
	s.Generated.Add(1)
	s.EventMS.Store(r.Time)
	if r.Kind == "" {
		s.Valid.Add(1)
	} else {
		for i, k := range MalformedKinds {
			if k == r.Kind {
				s.malformed[i].Add(1)
			}
		}
	}
	if r.Label != nil && r.Label.Label == "scenario" {
		for i, n := range scenarioNames {
			if n == r.Label.Scenario {
				s.scenarios[i].Add(1)
			}
		}
	}
}

// Malformed gives the malformed records generated, by kind.
func (s *Stats) Malformed() map[string]int64 {
	m := make(map[string]int64, len(MalformedKinds))
	for i, k := range MalformedKinds {
		m[k] = s.malformed[i].Load()
	}
	return m
}

// Scenarios gives the labelled scenario transactions generated, by scenario.
func (s *Stats) Scenarios() map[string]int64 {
	m := make(map[string]int64, numScenarios)
	for i, k := range scenarioNames {
		m[k] = s.scenarios[i].Load()
	}
	return m
}

// Register exposes the counters, the buffer size and the rate as Prometheus metrics.
func (s *Stats) Register(reg prometheus.Registerer, buffered func() int64, rate func() float64) error {
	const ns, sub = "finlake", "generator"
	cs := []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "generated_records_total",
			Help: "Records generated and handed to the sink."}, func() float64 { return float64(s.Generated.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "produced_records_total",
			Help: "Records delivered: acknowledged by Kafka or written to the output file."}, func() float64 { return float64(s.Produced.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "produce_errors_total",
			Help: "Records the sink failed to deliver."}, func() float64 { return float64(s.Errors.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "buffered_records",
			Help: "Records waiting in the producer buffer (bounded; generation blocks when full)."}, func() float64 { return float64(buffered()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "rate",
			Help: "Target new transactions per second (0 = paused, +Inf = max: as fast as possible)."}, rate),
	}
	for i, k := range MalformedKinds {
		c := &s.malformed[i]
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "malformed_records_total",
			Help: "Injected malformed records, by kind.", ConstLabels: prometheus.Labels{"kind": k}},
			func() float64 { return float64(c.Load()) }))
	}
	for i, k := range scenarioNames {
		c := &s.scenarios[i]
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "scenarios_total",
			Help: "Injected fraud scenarios whose labelled transaction was emitted, by scenario.", ConstLabels: prometheus.Labels{"scenario": k}},
			func() float64 { return float64(c.Load()) }))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
