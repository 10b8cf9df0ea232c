//go:build duckdb_arrow

package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/internal/testsupport"
	"github.com/finlake/finlake/stack/kafkalocal"
)

// scrape GETs url's /metrics as a Prometheus server asking for the classic
// text format would, and parses it with Prometheus' own text parser under the
// strict (legacy) metric-name rules every Prometheus version accepts.
func scrape(t *testing.T, httpAddr string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+httpAddr+"/metrics", nil)
	req.Header.Set("Accept", "text/plain;version=0.0.4;q=0.9,*/*;q=0.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape %s: %v", httpAddr, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || expfmt.ResponseFormat(resp.Header).FormatType() != expfmt.TypeTextPlain {
		t.Fatalf("scrape %s: status %d, Content-Type %q", httpAddr, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("Prometheus' text parser rejects %s/metrics: %v\n%s", httpAddr, err, body)
	}
	return fams
}

// wantFamilies fails unless every family in want was scraped with its type
// and at least one sample: a vector that never got a label value is absent
// from the exposition, so the test first makes the service do its work.
func wantFamilies(t *testing.T, fams map[string]*dto.MetricFamily, want map[string]dto.MetricType) {
	t.Helper()
	for name, typ := range want {
		f, ok := fams[name]
		switch {
		case !ok:
			t.Errorf("%s missing from /metrics", name)
		case f.GetType() != typ:
			t.Errorf("%s is a %s, want %s", name, f.GetType(), typ)
		case len(f.GetMetric()) == 0:
			t.Errorf("%s has no samples", name)
		}
	}
}

// The Go services' /metrics, each scraped from the real lakectl role while it
// works (the Flink job has no /metrics of its own; its metrics are Flink's
// REST API, which `lakectl health` reads).
func TestEveryServicesMetricsParseWithPrometheusTextParser(t *testing.T) {
	b := kafkalocal.StartT(t) // its own broker: these roles use the contract topics
	brokers := b.Bootstrap()
	common := map[string]dto.MetricType{
		"process_resident_memory_bytes": dto.MetricType_GAUGE, "go_goroutines": dto.MetricType_GAUGE,
	}
	with := func(m map[string]dto.MetricType) map[string]dto.MetricType {
		for k, v := range common {
			m[k] = v
		}
		return m
	}

	t.Run("generator", func(t *testing.T) {
		addr := testsupport.FreeAddr(t)
		startLakectl(t, nil, "generate", "--brokers", brokers, "--http", addr, "--rate", "50", "--progress=false")
		var fams map[string]*dto.MetricFamily
		testsupport.Eventually(t, 60*time.Second, 200*time.Millisecond, "generator producing", func() bool {
			fams = scrapeIfUp(t, addr)
			f := fams["finlake_generator_produced_records_total"]
			return f != nil && len(f.GetMetric()) > 0 && f.GetMetric()[0].GetCounter().GetValue() > 0
		})
		wantFamilies(t, fams, with(map[string]dto.MetricType{
			"finlake_generator_generated_records_total": dto.MetricType_COUNTER,
			"finlake_generator_produced_records_total":  dto.MetricType_COUNTER,
			"finlake_generator_rate":                    dto.MetricType_GAUGE,
		}))
	})

	data := t.TempDir()
	t.Run("ingest", func(t *testing.T) {
		addr := testsupport.FreeAddr(t)
		startLakectl(t, nil, "ingest", "--brokers", brokers, "--data", data, "--http", addr, "--commit-interval", "300ms")
		gen := time.Now().UTC().Truncate(time.Millisecond)
		testsupport.ProduceTxn(t, []string{brokers}, "metrics-test", true,
			&kgo.Record{Topic: contract.TransactionsProcessed, Key: []byte("AC1"), Timestamp: gen,
				Value: processedTx("00000000-0000-4000-8000-000000000001", gen)})
		var fams map[string]*dto.MetricFamily
		testsupport.Eventually(t, 90*time.Second, 300*time.Millisecond, "ingest committing", func() bool {
			fams = scrapeIfUp(t, addr)
			return fams["finlake_ingest_commits_total"] != nil && fams["finlake_ingest_storage_latency_seconds"] != nil
		})
		wantFamilies(t, fams, with(map[string]dto.MetricType{
			"finlake_ingest_records_consumed_total":  dto.MetricType_COUNTER,
			"finlake_ingest_rows_committed_total":    dto.MetricType_COUNTER,
			"finlake_ingest_commits_total":           dto.MetricType_COUNTER,
			"finlake_ingest_storage_latency_seconds": dto.MetricType_HISTOGRAM,
			"finlake_ingest_commit_seconds":          dto.MetricType_HISTOGRAM,
			"finlake_ingest_partition_lag_records":   dto.MetricType_GAUGE,
		}))
	})

	t.Run("flight", func(t *testing.T) {
		addr := testsupport.FreeAddr(t)
		flight := serveLake(t, data, addr)
		lakectl(t, []string{"FINLAKE_FLIGHT=grpc://" + flight}, "", "query", "SELECT count(*) FROM lake.transactions").mustOK(t)
		wantFamilies(t, scrape(t, addr), with(map[string]dto.MetricType{
			"finlake_flight_queries_total":          dto.MetricType_COUNTER,
			"finlake_flight_query_duration_seconds": dto.MetricType_HISTOGRAM,
			"finlake_flight_rows_sent_total":        dto.MetricType_COUNTER,
			"finlake_flight_active_queries":         dto.MetricType_GAUGE,
		}))
	})
}

// scrapeIfUp is scrape for polling a service that may not listen yet: nil
// until it answers.
func scrapeIfUp(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://%s/healthz", addr))
	if err != nil {
		return nil
	}
	resp.Body.Close()
	return scrape(t, addr)
}
