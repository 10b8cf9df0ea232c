package generator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/finlake/finlake/generator"
)

func httpDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func generated(t *testing.T, base string) int64 {
	t.Helper()
	_, body := httpDo(t, "GET", base+"/status", "")
	var st struct{ Generated int64 }
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("status %q: %v", body, err)
	}
	return st.Generated
}

func TestPutRateSpeedsUpALiveRunWhoseEventTimeIsTheWallClock(t *testing.T) {
	cfg := generator.DefaultConfig()
	cfg.Live = true
	cfg.MalformedRate = 0 // future_timestamp records would lie outside the run by design
	g, err := generator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	stats := &generator.Stats{}
	sink := generator.NewWriterSink(&out, nil, stats)
	pacer := generator.NewPacer(2)
	srv, err := generator.NewControlServer(stats, sink, pacer, "live")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := srv.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	base := "http://" + srv.Addr()
	begin := time.Now()
	done := make(chan error, 1)
	go func() {
		done <- generator.Run(ctx, generator.RunOptions{Gen: g, Sink: sink, Stats: stats, Pacer: pacer, Live: true})
	}()

	time.Sleep(500 * time.Millisecond)
	// At 2 transactions/s half a second allows a couple, plus the odd malformed record or scenario.
	if got := generated(t, base); got > 20 {
		t.Fatalf("%d records in the first 0.5 s at 2 transactions/s", got)
	}
	if code, body := httpDo(t, "PUT", base+"/rate", "fast"); code != http.StatusBadRequest {
		t.Fatalf("PUT /rate fast: %d %s", code, body)
	}
	if code, body := httpDo(t, "PUT", base+"/rate", `{"rate": 1000}`); code != http.StatusOK {
		t.Fatalf("PUT /rate: %d %s", code, body)
	}
	// At 2/s, 300 records would take minutes; at 1000/s well under a second.
	deadline := time.Now().Add(20 * time.Second)
	for generated(t, base) < 300 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d records 20 s after raising the rate", generated(t, base))
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, metrics := httpDo(t, "GET", base+"/metrics", "")
	for _, m := range []string{"finlake_generator_generated_records_total", `finlake_generator_malformed_records_total{kind="duplicate"}`,
		`finlake_generator_scenarios_total{scenario="velocity_burst"}`, "finlake_generator_produce_errors_total",
		"finlake_generator_buffered_records", "finlake_generator_rate 1000"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	end := time.Now()
	for i, line := range bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
		var e struct{ Timestamp time.Time }
		if json.Unmarshal(line, &e) != nil || e.Timestamp.IsZero() {
			t.Fatalf("record %d does not parse: %s", i, line)
		}
		if e.Timestamp.Before(begin.Add(-time.Millisecond)) || e.Timestamp.After(end) {
			t.Fatalf("live record %d at %v, outside the run %v to %v", i, e.Timestamp, begin, end)
		}
	}
}
