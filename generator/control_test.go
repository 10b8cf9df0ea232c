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

func TestParseRateReadsANumberZeroOrMaxAndNamesTheAllowedFormsOtherwise(t *testing.T) {
	for body, want := range map[string]float64{`{"rate": 12.5}`: 12.5, `{"rate": 0}`: generator.Paused, `{"rate": "max"}`: generator.Max,
		"7": 7, " 0 ": generator.Paused, "MAX": generator.Max} {
		if got, err := generator.ParseRate([]byte(body)); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", body, got, err, want)
		}
	}
	for _, body := range []string{"-1", "fast", "Inf", "NaN", `{"rate": -1}`, `{"rate": "fast"}`, `{}`, ""} {
		if _, err := generator.ParseRate([]byte(body)); err == nil || !strings.Contains(err.Error(), generator.RateForms) {
			t.Errorf("ParseRate(%q): error %v, want one naming the allowed forms", body, err)
		}
	}
}

func TestNewPlanPausesAtRate0InEveryModeAndRunsBackfillsAndUnpacedDumpsAtMax(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		c    generator.Choices
		mode string
		pace float64
	}{
		{"live to Kafka", generator.Choices{Rate: 20, PacedOutput: true}, generator.ModeLive, 20},
		{"live to Kafka, rate 0", generator.Choices{Rate: 0, RateSet: true, PacedOutput: true}, generator.ModeLive, generator.Paused},
		{"backfill", generator.Choices{Rate: 50, RateSet: true, Backfill: time.Hour, PacedOutput: true}, generator.ModeBackfill, generator.Max},
		{"backfill, rate 0", generator.Choices{Rate: 0, RateSet: true, Backfill: time.Hour, PacedOutput: true}, generator.ModeBackfill, generator.Paused},
		{"file dump, default rate", generator.Choices{Rate: 10, Count: 100}, generator.ModeLive, generator.Max},
		{"file dump, --rate max", generator.Choices{Rate: generator.Max, RateSet: true, Count: 100}, generator.ModeLive, generator.Max},
	}
	for _, tc := range cases {
		tc.c.Config = generator.DefaultConfig()
		p, err := generator.NewPlan(tc.c, now)
		if err != nil || p.Mode != tc.mode || p.Pace != tc.pace {
			t.Errorf("%s: mode %q pace %v err %v; want mode %q pace %v", tc.name, p.Mode, p.Pace, err, tc.mode, tc.pace)
		}
	}
}
