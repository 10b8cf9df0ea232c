package ingest

import (
	"math"
	"sync"
	"time"
)

// latencyHist is a log-bucketed histogram of milliseconds (1% relative error)
// so percentiles over a minute of 50,000 rows/s need no per-record memory.
type latencyHist struct {
	counts map[int]int64
	n      int64
	max    float64
}

const histGrowth = 1.01

func newLatencyHist() *latencyHist { return &latencyHist{counts: map[int]int64{}} }

func (h *latencyHist) add(ms float64, n int64) {
	if ms < 1 {
		ms = 1 // sub-millisecond latencies share the first bucket
	}
	h.counts[int(math.Log(ms)/math.Log(histGrowth))] += n
	h.n += n
	h.max = max(h.max, ms)
}

// quantile gives the q-quantile (0..1) in ms, NaN when empty.
func (h *latencyHist) quantile(q float64) float64 {
	if h.n == 0 {
		return math.NaN()
	}
	keys := make([]int, 0, len(h.counts))
	for k := range h.counts {
		keys = append(keys, k)
	}
	sortInts(keys)
	rank := int64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen int64
	for _, k := range keys {
		seen += h.counts[k]
		if seen >= rank {
			// Bucket k holds [g^k, g^(k+1)); its midpoint, capped by the max seen.
			return min(math.Pow(histGrowth, float64(k)+0.5), h.max)
		}
	}
	return h.max
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// tableCounts is one table's flow within a reporting window.
type tableCounts struct {
	Consumed int64
	Written  int64
	Invalid  int64
	Unknown  int64
}

// window accumulates what lake.pipeline_runs reports, one row per window.
type window struct {
	mu      sync.Mutex
	start   time.Time
	tables  map[string]*tableCounts
	commits int64
	retries int64
	latency *latencyHist
}

func newWindow(start time.Time) *window {
	return &window{start: start, tables: map[string]*tableCounts{}, latency: newLatencyHist()}
}

func (w *window) table(name string) *tableCounts {
	c := w.tables[name]
	if c == nil {
		c = &tableCounts{}
		w.tables[name] = c
	}
	return c
}

func (w *window) consumed(tbl string, consumed, invalid, unknown int64) {
	w.mu.Lock()
	c := w.table(tbl)
	c.Consumed += consumed
	c.Invalid += invalid
	c.Unknown += unknown
	w.mu.Unlock()
}

// committed records a commit and the storage latency of every row it made
// visible: commit time minus the row's Kafka timestamp.
func (w *window) committed(tbl string, rows int64, retries int64, at time.Time, kafkaTimesMs []int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.table(tbl).Written += rows
	w.commits++
	w.retries += retries
	now := at.UnixMilli()
	// Rows of one commit arrive close together: bucket equal latencies at once.
	for _, ts := range kafkaTimesMs {
		w.latency.add(float64(now-ts), 1)
	}
}

// cut ends the window at now and starts the next one; it returns the ended one.
func (w *window) cut(now time.Time) *window {
	w.mu.Lock()
	defer w.mu.Unlock()
	old := &window{start: w.start, tables: w.tables, commits: w.commits, retries: w.retries, latency: w.latency}
	w.start, w.tables, w.commits, w.retries, w.latency = now, map[string]*tableCounts{}, 0, 0, newLatencyHist()
	return old
}

// merge adds an unreported window back (its row could not be written).
func (w *window) merge(o *window) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.start = o.start
	for name, c := range o.tables {
		t := w.table(name)
		t.Consumed += c.Consumed
		t.Written += c.Written
		t.Invalid += c.Invalid
		t.Unknown += c.Unknown
	}
	w.commits += o.commits
	w.retries += o.retries
	for k, n := range o.latency.counts {
		w.latency.counts[k] += n
	}
	w.latency.n += o.latency.n
	w.latency.max = max(w.latency.max, o.latency.max)
}
