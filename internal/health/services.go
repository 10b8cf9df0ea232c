package health

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Service is what one Go service's HTTP port says.
type Service struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	Up     bool   `json:"up"`
	Ready  bool   `json:"ready"`
	Reason string `json:"reason,omitempty"` // why down or not ready
	// Metrics are the few numbers shown per service (totals since start).
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// StorageLatency is the ingest's generation → visible-in-Iceberg latency.
	StorageLatency *Percentiles `json:"storage_latency,omitempty"`
	// QueryLatency is the Flight server's query duration.
	QueryLatency *Percentiles    `json:"query_latency,omitempty"`
	Status       json.RawMessage `json:"status,omitempty"`
}

func httpGet(ctx context.Context, cfg Config, url string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, body, err
}

// shortErr trims Go's long dial errors to their cause.
func shortErr(err error) string {
	s := err.Error()
	for _, cause := range []string{"connection refused", "context deadline exceeded", "no such host", "connection reset"} {
		if strings.Contains(s, cause) {
			return cause
		}
	}
	return s
}

func checkService(ctx context.Context, cfg Config, name, base string, col *collector) Service {
	base = strings.TrimRight(base, "/")
	s := Service{Name: name, URL: base}
	code, _, err := httpGet(ctx, cfg, base+"/healthz")
	if err != nil || code != http.StatusOK {
		if err != nil {
			s.Reason = shortErr(err)
		} else {
			s.Reason = fmt.Sprintf("/healthz answered %d", code)
		}
		col.add(name, "down at "+base+" ("+s.Reason+")")
		return s
	}
	s.Up = true
	code, body, err := httpGet(ctx, cfg, base+"/readyz")
	switch {
	case err != nil:
		s.Reason = "/readyz: " + shortErr(err)
	case code != http.StatusOK:
		s.Reason = strings.TrimPrefix(strings.TrimSpace(string(body)), "not ready: ")
	default:
		s.Ready = true
	}
	if !s.Ready {
		col.add(name, "not ready: "+s.Reason)
	}
	if code, body, err := httpGet(ctx, cfg, base+"/status"); err == nil && code == http.StatusOK && json.Valid(body) {
		s.Status = body
	}
	code, body, err = httpGet(ctx, cfg, base+"/metrics")
	if err != nil || code != http.StatusOK {
		return s
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		return s
	}
	s.Metrics = map[string]float64{}
	pick := func(short, family string) {
		if f, ok := fams[family]; ok {
			s.Metrics[short] = sum(f)
		}
	}
	switch name {
	case Generator:
		pick("produced_records", "finlake_generator_produced_records_total")
		pick("produce_errors", "finlake_generator_produce_errors_total")
		pick("rate_per_second", "finlake_generator_rate")
		pick("buffered_records", "finlake_generator_buffered_records")
	case Ingest:
		pick("rows_committed", "finlake_ingest_rows_committed_total")
		pick("records_invalid", "finlake_ingest_records_invalid_total")
		pick("commit_retries", "finlake_ingest_commit_retries_total")
		pick("paused", "finlake_ingest_paused")
		if f, ok := fams["finlake_ingest_last_commit_timestamp_seconds"]; ok {
			if last := maxValue(f); last > 0 {
				s.Metrics["seconds_since_last_commit"] = math.Round(float64(time.Now().UnixMilli())/1000-last) + 0
			}
		}
		if f, ok := fams["finlake_ingest_storage_latency_seconds"]; ok {
			if p := histogramPercentiles(f); p != nil {
				p.Source = "ingest histogram since start"
				s.StorageLatency = p
			}
		}
	case Flight:
		pick("queries", "finlake_flight_queries_total")
		pick("errors", "finlake_flight_errors_total")
		pick("active_queries", "finlake_flight_active_queries")
		if f, ok := fams["finlake_flight_query_duration_seconds"]; ok {
			if p := histogramPercentiles(f); p != nil {
				p.Source = "flight histogram since start"
				s.QueryLatency = p
			}
		}
	}
	return s
}

// sum adds every series of a counter or gauge family.
func sum(f *dto.MetricFamily) float64 {
	var t float64
	for _, m := range f.GetMetric() {
		switch {
		case m.Counter != nil:
			t += m.Counter.GetValue()
		case m.Gauge != nil:
			t += m.Gauge.GetValue()
		case m.Untyped != nil:
			t += m.Untyped.GetValue()
		}
	}
	return t
}

func maxValue(f *dto.MetricFamily) float64 {
	v := math.Inf(-1)
	for _, m := range f.GetMetric() {
		if m.Gauge != nil && m.Gauge.GetValue() > v {
			v = m.Gauge.GetValue()
		}
	}
	return v
}

// histogramPercentiles merges every series of a histogram family and
// interpolates p50/p95/p99 within buckets, as PromQL's histogram_quantile
// does; values are converted from seconds to milliseconds.
func histogramPercentiles(f *dto.MetricFamily) *Percentiles {
	counts := map[float64]float64{}
	var total float64
	for _, m := range f.GetMetric() {
		h := m.GetHistogram()
		if h == nil {
			continue
		}
		total += float64(h.GetSampleCount())
		for _, b := range h.GetBucket() {
			counts[b.GetUpperBound()] += float64(b.GetCumulativeCount())
		}
	}
	if total == 0 {
		return nil
	}
	bounds := make([]float64, 0, len(counts))
	for b := range counts {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	q := func(p float64) float64 {
		rank := p * total
		prevBound, prevCount := 0.0, 0.0
		for _, b := range bounds {
			c := counts[b]
			if c >= rank {
				if math.IsInf(b, 1) {
					return prevBound * 1000 // beyond the last bucket: its bound is all we know
				}
				if c == prevCount {
					return b * 1000
				}
				return (prevBound + (b-prevBound)*(rank-prevCount)/(c-prevCount)) * 1000
			}
			prevBound, prevCount = b, c
		}
		return prevBound * 1000
	}
	return &Percentiles{N: int64(total), P50: round1(q(0.5)), P95: round1(q(0.95)), P99: round1(q(0.99))}
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
