// Package health owns the one-screen view of the whole pipeline that
// `lakectl health` prints: each Go service up and ready over its HTTP port
// (/healthz, /readyz, /metrics, /status), the Flink job and its last
// checkpoint over Flink's REST API, the Kafka broker and topics (kadm),
// throughput per stage, alert and storage latency, dead letters per check,
// and consumer lag per group and partition — and a verdict.
package health

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"
)

// Component names, as used by Config.Ignore.
const (
	Generator = "generator"
	Ingest    = "ingest"
	Flight    = "flight"
	Flink     = "flink"
	Kafka     = "kafka"
)

// Components lists every component in display order.
var Components = []string{Kafka, Generator, Flink, Ingest, Flight}

// Config says where everything is and what counts as healthy.
type Config struct {
	GeneratorURL string // http://127.0.0.1:8091
	IngestURL    string // http://127.0.0.1:8092
	FlightURL    string // http://127.0.0.1:8093
	FlinkURL     string // http://127.0.0.1:8081
	Brokers      []string
	// Timeout bounds each HTTP call and Kafka request.
	Timeout time.Duration
	// Window is how far back throughput, alert latency and dead letters per
	// check are measured (by record timestamp, i.e. generation time).
	Window time.Duration
	// MaxCheckpointAge: a running job whose last completed checkpoint is
	// older is unhealthy (its exactly-once output is not being committed).
	MaxCheckpointAge time.Duration
	// MaxLag, when > 0, makes a consumer group partition lagging more records
	// than this a problem.
	MaxLag int64
	// Ignore lists components left out of the verdict (still shown).
	Ignore map[string]bool
	// SampleLimit caps the records read to measure latency and dead letters.
	SampleLimit int
}

// Defaults fills unset fields with the documented local-stack defaults.
func (c Config) Defaults() Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.GeneratorURL, "http://127.0.0.1:8091")
	def(&c.IngestURL, "http://127.0.0.1:8092")
	def(&c.FlightURL, "http://127.0.0.1:8093")
	def(&c.FlinkURL, "http://127.0.0.1:8081")
	if len(c.Brokers) == 0 {
		c.Brokers = []string{"127.0.0.1:9092"}
	}
	if c.Timeout <= 0 {
		c.Timeout = 3 * time.Second
	}
	if c.Window <= 0 {
		c.Window = time.Minute
	}
	if c.MaxCheckpointAge <= 0 {
		c.MaxCheckpointAge = 2 * time.Minute
	}
	if c.SampleLimit <= 0 {
		c.SampleLimit = 5000
	}
	return c
}

// Percentiles of a latency, in milliseconds; N is the sample size.
type Percentiles struct {
	N   int64   `json:"n"`
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
	// Source says where the numbers come from.
	Source string `json:"source"`
}

// Report is everything Check found.
type Report struct {
	Time     time.Time              `json:"time"`
	Healthy  bool                   `json:"healthy"`
	Problems []string               `json:"problems"`
	Services []Service              `json:"services"`
	Flink    *FlinkStatus           `json:"flink"`
	Kafka    *KafkaStatus           `json:"kafka"`
	Latency  map[string]Percentiles `json:"latency"`
}

// problem records something wrong with component, unless ignored.
type collector struct {
	mu       sync.Mutex
	ignore   map[string]bool
	problems []string
}

func (c *collector) add(component, msg string) {
	if c.ignore[component] {
		return
	}
	c.mu.Lock()
	c.problems = append(c.problems, component+": "+msg)
	c.mu.Unlock()
}

// Check looks at everything once, concurrently; it never fails, it reports.
func Check(ctx context.Context, cfg Config) Report {
	cfg = cfg.Defaults()
	col := &collector{ignore: cfg.Ignore}
	r := Report{Time: time.Now().UTC(), Latency: map[string]Percentiles{}}
	var wg sync.WaitGroup
	services := []struct{ name, url string }{{Generator, cfg.GeneratorURL}, {Ingest, cfg.IngestURL}, {Flight, cfg.FlightURL}}
	r.Services = make([]Service, len(services))
	for i, s := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Services[i] = checkService(ctx, cfg, s.name, s.url, col)
		}()
	}
	wg.Add(2)
	go func() { defer wg.Done(); r.Flink = checkFlink(ctx, cfg, col) }()
	go func() { defer wg.Done(); r.Kafka = checkKafka(ctx, cfg, col) }()
	wg.Wait()

	if r.Kafka != nil && r.Kafka.AlertLatency != nil {
		r.Latency["alert"] = *r.Kafka.AlertLatency
	}
	for _, s := range r.Services {
		if s.Name == Ingest && s.StorageLatency != nil {
			r.Latency["storage"] = *s.StorageLatency
		}
	}
	sort.Strings(col.problems)
	r.Problems = col.problems
	if r.Problems == nil {
		r.Problems = []string{}
	}
	r.Healthy = len(r.Problems) == 0
	return r
}

// ParseIgnore reads a comma-separated component list.
func ParseIgnore(s string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		ok := false
		for _, c := range Components {
			ok = ok || c == p
		}
		if !ok {
			return nil, &unknownComponent{p}
		}
		out[p] = true
	}
	return out, nil
}

type unknownComponent struct{ name string }

func (u *unknownComponent) Error() string {
	return "unknown component " + u.name + " (want " + strings.Join(Components, ", ") + ")"
}
