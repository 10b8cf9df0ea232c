package health

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/finlake/finlake/internal/obs"
)

func TestIngestStorageLatencyPercentilesComeFromItsHistogram(t *testing.T) {
	srv := obs.NewServer(nil)
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "finlake_ingest_storage_latency_seconds",
		Buckets: []float64{1, 2, 5, 10}}, []string{"table"})
	srv.Registry.MustRegister(h)
	for i := 0; i < 50; i++ {
		h.WithLabelValues("transactions").Observe(0.5)
		h.WithLabelValues("alerts").Observe(3)
	}
	srv.SetReady(true, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := srv.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}

	col := &collector{}
	s := checkService(ctx, Config{Timeout: 5 * time.Second}, Ingest, "http://"+srv.Addr(), col)
	// Both tables merged: 50 samples ≤ 1 s, 50 in (2 s, 5 s]; interpolated within buckets.
	want := Percentiles{N: 100, P50: 1000, P95: 4700, P99: 4940, Source: "ingest histogram since start"}
	if !s.Up || !s.Ready || s.StorageLatency == nil || *s.StorageLatency != want || len(col.problems) != 0 {
		t.Fatalf("got %+v latency %+v problems %v, want latency %+v", s, s.StorageLatency, col.problems, want)
	}
}

func TestAServiceThatIsNotReadyIsAProblemWithItsReason(t *testing.T) {
	srv := obs.NewServer(nil)
	srv.SetReady(false, "resuming from the lake")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := srv.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	col := &collector{}
	s := checkService(ctx, Config{Timeout: 5 * time.Second}, Ingest, "http://"+srv.Addr(), col)
	if !s.Up || s.Ready || len(col.problems) != 1 || col.problems[0] != "ingest: not ready: resuming from the lake" {
		t.Fatalf("service %+v problems %q", s, col.problems)
	}
}
