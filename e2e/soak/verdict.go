package soak

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Curve is one recorded series and how it is judged after the steady state.
type Curve struct {
	Name string `json:"name"`
	Unit string `json:"unit"` // "bytes", "ms", "s", "count", "bytes/s"
	// Kind: "flat" (within ±Tolerance after the steady state), "floor" (flat,
	// judged by each window's minimum: for what is retained state plus a
	// transient part that only adds, such as a live heap that holds
	// in-flight buffers or RocksDB files awaiting compaction; growth of what
	// is retained raises the floor), "per_day"
	// (growth per simulated day at most Bound), "max" (every sample after
	// the steady state at most Bound: a sawtooth, whose medians alias with
	// the sampling) or "report" (shown only).
	Kind string `json:"kind"`
	// Slack is added to the allowed growth of a flat curve, in its unit, so
	// small integers (1 → 2 files) and near-zero values are not judged by
	// ratio alone.
	Slack float64 `json:"slack"`
	Bound float64 `json:"bound,omitempty"` // per_day: unit per simulated day
	// Asserted curves fail the short soak when they grow past their bound.
	Asserted bool `json:"asserted"`
	// Steady overrides the plan's steady state (event time), for curves
	// that snapshot retention rather than the state TTL bounds.
	Steady time.Duration `json:"steady_ns,omitempty"`
	// Clock is the event time the curve is judged on: JobClock for what the
	// job holds, which follows the event time the job has reached; empty for
	// the generator's (Sample.SimHours).
	Clock string               `json:"clock,omitempty"`
	Get   func(Sample) float64 `json:"-"`
}

// JobClock judges a curve on the job's event time (Sample.JobHours). On a
// machine where the job lags the generator, its state ramps up to the TTL
// of its own event time after the generator's steady state, which on the
// generator's clock reads as growth.
const JobClock = "job"

// at is where a sample lies on the curve's clock, in event hours.
func (c Curve) at(s Sample) float64 {
	if c.Clock == JobClock {
		return s.JobHours
	}
	return s.SimHours
}

// Tolerance is how far a flat curve may move after the steady state.
const Tolerance = 0.10

// ShortAmpPerDay bounds the growth per simulated day of the short soak's
// checkpointed state and checkpoint disk: their least-squares slopes over
// flat runs were -1.8 to +1.6 MiB a day.
const ShortAmpPerDay = 4 << 20

// Verdict is a curve's judgement.
type Verdict struct {
	Curve    string  `json:"curve"`
	Unit     string  `json:"unit"`
	Kind     string  `json:"kind"`
	Clock    string  `json:"clock,omitempty"` // JobClock, or empty: the generator's
	Asserted bool    `json:"asserted"`
	First    float64 `json:"first"` // median of the first window after the steady state
	Last     float64 `json:"last"`  // median of the last window
	Change   float64 `json:"change"`
	PerDay   float64 `json:"per_day,omitempty"`
	Bound    float64 `json:"bound,omitempty"`
	// Result: "flat", "grows", "shrinks", "within", "exceeds", "reported",
	// or "not reached" (the run, or the job's event time, ended before the
	// steady state: an asserted curve fails, since it proves nothing).
	Result string `json:"result"`
	OK     bool   `json:"ok"`
	Note   string `json:"note,omitempty"`
}

// Curves lists what a run records and judges; tables are the lake's.
func Curves(p Plan) []Curve {
	short := p.Mode == ModeShort
	// The short soak's bound on the daily growth of what compaction
	// inflates; longer runs judge those curves by their window minima.
	ampKind, ampPerDay := "floor", 0.0
	if short {
		ampKind, ampPerDay = "per_day", ShortAmpPerDay
	}
	c := []Curve{
		// What the job retains: RocksDB's estimate of its live bytes. The
		// checkpointed size and the files on disk also hold the dead versions
		// and tombstones that universal compaction keeps until the next full
		// merge (up to 200 % of the live bytes), so they swing 2-3x between
		// samples of a flat state (12-31 MiB on disk in one short soak whose
		// live state stayed 6-9 MiB): judged by their growth per day, which a
		// leak of checkpoint files (a few MiB per checkpoint here) exceeds
		// within a simulated day.
		{Name: "flink live state", Unit: "bytes", Kind: "flat", Slack: 2 << 20, Asserted: short, Clock: JobClock, Get: func(s Sample) float64 { return float64(s.FlinkLiveStateBytes) }},
		{Name: "flink state", Unit: "bytes", Kind: ampKind, Slack: 2 << 20, Bound: ampPerDay, Asserted: short, Clock: JobClock, Get: func(s Sample) float64 { return float64(s.FlinkStateBytes) }},
		{Name: "flink sst files", Unit: "bytes", Kind: "report", Clock: JobClock, Get: func(s Sample) float64 { return float64(s.FlinkSSTBytes) }},
		{Name: "flink checkpointed bytes", Unit: "bytes", Kind: "flat", Slack: 64 << 10, Clock: JobClock, Get: func(s Sample) float64 { return float64(s.FlinkCheckpointedBytes) }},
		{Name: "flink checkpoint bytes/s", Unit: "bytes/s", Kind: "flat", Slack: 64 << 10, Clock: JobClock, Get: func(s Sample) float64 { return s.FlinkCheckpointBPS }},
		{Name: "flink checkpoint duration", Unit: "ms", Kind: "report", Clock: JobClock, Get: func(s Sample) float64 { return float64(s.FlinkCheckpointMS) }},
		{Name: "flink write bytes/s", Unit: "bytes/s", Kind: "flat", Slack: 256 << 10, Clock: JobClock, Get: func(s Sample) float64 { return s.FlinkWriteBPS }},
		// After a full GC the job's heap still holds what is in flight (45-94
		// MiB from sample to sample in one short soak at full backfill speed).
		{Name: "flink live heap", Unit: "bytes", Kind: "floor", Slack: 8 << 20, Asserted: short, Clock: JobClock, Get: func(s Sample) float64 { return float64(s.LiveHeapBytes["flink"]) }},
		{Name: "kafka live heap", Unit: "bytes", Kind: "floor", Slack: 8 << 20, Asserted: short, Get: func(s Sample) float64 { return float64(s.LiveHeapBytes["kafka"]) }},
	}
	for _, proc := range []string{"kafka", "flink", "ingest", "serve", "rules"} {
		proc := proc
		clock := ""
		if proc == "flink" {
			clock = JobClock
		}
		c = append(c, Curve{Name: "rss " + proc, Unit: "bytes", Kind: "flat", Slack: 16 << 20, Clock: clock, Get: func(s Sample) float64 { return float64(s.RSSBytes[proc]) }})
	}
	// Snapshots and metadata.json are bounded by snapshot retention: steady
	// once the run is past it.
	retained := max(p.SteadyFrom, p.Retain+p.Retain/4)
	for _, t := range []string{"transactions", "alerts"} {
		t := t
		c = append(c,
			Curve{Name: "metadata.json " + t, Unit: "bytes", Kind: "flat", Slack: 16 << 10, Asserted: short, Steady: retained, Get: func(s Sample) float64 { return float64(s.Tables[t].MetadataBytes) }},
			Curve{Name: "snapshots " + t, Unit: "count", Kind: "flat", Slack: 5, Steady: retained, Get: func(s Sample) float64 { return float64(s.Tables[t].Snapshots) }},
			Curve{Name: "max files per partition " + t, Unit: "count", Kind: "max", Bound: p.FilesPerPartition, Asserted: short, Get: func(s Sample) float64 { return float64(s.Tables[t].MaxFilesPerPartition) }},
		)
	}
	c = append(c,
		Curve{Name: "commits transactions", Unit: "count", Kind: "report", Get: func(s Sample) float64 { return s.Commits["transactions"] }},
		Curve{Name: "storage latency p50", Unit: "s", Kind: "report", Get: func(s Sample) float64 { return s.StorageP50 }},
		Curve{Name: "storage latency p95", Unit: "s", Kind: "report", Get: func(s Sample) float64 { return s.StorageP95 }},
		Curve{Name: "commit latency p95", Unit: "s", Kind: "report", Get: func(s Sample) float64 { return s.CommitP95 }},
		Curve{Name: "ingest lag", Unit: "count", Kind: "report", Get: func(s Sample) float64 { return float64(s.IngestLag) }},
		Curve{Name: "job records/s", Unit: "records/s", Kind: "report", Clock: JobClock, Get: func(s Sample) float64 { return s.JobRecordsPerSec }},
		Curve{Name: "disk warehouse", Unit: "bytes", Kind: "per_day", Bound: p.LakeBytesPerDay, Asserted: short, Get: func(s Sample) float64 { return float64(s.DiskBytes["warehouse"]) }},
		Curve{Name: "disk checkpoints", Unit: "bytes", Kind: ampKind, Slack: 1 << 20, Bound: ampPerDay, Asserted: short, Clock: JobClock, Get: func(s Sample) float64 { return float64(s.DiskBytes["checkpoints"]) }},
		Curve{Name: "disk kafka", Unit: "bytes", Kind: "kafka", Slack: 64 << 20, Asserted: short, Get: func(s Sample) float64 { return float64(s.DiskBytes["kafka"]) }},
	)
	for _, q := range QueryNames {
		q := q
		c = append(c, Curve{Name: "query " + q, Unit: "ms", Kind: "flat", Slack: 20, Get: func(s Sample) float64 { return s.QueryMS[q] }})
	}
	// The GROUP BY reads every row, and lake.transactions grows by a day's
	// rows each day: its latency per million rows is what stays flat unless
	// a query's own overhead (metadata, files, planning) grows.
	c = append(c, Curve{Name: "query group_by per M rows", Unit: "ms", Kind: "flat", Slack: 2, Get: func(s Sample) float64 {
		rows := s.Tables["transactions"].Rows
		if rows == 0 {
			return 0
		}
		return s.QueryMS["group_by"] / (float64(rows) / 1e6)
	}})
	return c
}

// Judge applies every curve to the samples. Flat curves compare the median
// of the first and of the last window after the steady state (a window is a
// simulated day, or a third of what is left when that is shorter, so the
// daily activity curve does not pass for growth), each on its curve's clock.
func Judge(p Plan, samples []Sample) []Verdict {
	var out []Verdict
	for _, c := range Curves(p) {
		out = append(out, judge(p, c, samples))
	}
	return append(out, projectMetadata(p, samples))
}

// judge is one curve's verdict.
func judge(p Plan, c Curve, samples []Sample) Verdict {
	v := Verdict{Curve: c.Name, Unit: c.Unit, Kind: c.Kind, Clock: c.Clock, Asserted: c.Asserted, Bound: c.Bound, OK: true}
	steady := p.SteadyFrom.Hours()
	if c.Steady > 0 {
		steady = c.Steady.Hours()
	}
	kind, pts := c.Kind, since(samples, steady, c.at)
	if kind == "kafka" {
		// Kafka's disk is bounded by its time retention, which counts the
		// wall clock the generator produces at: judged flat once the run is
		// a day past it on the generator's clock; before that its growth is
		// reported.
		retained := steady + max(p.KafkaRetention, p.KafkaRetained).Hours()
		if len(samples) > 0 && samples[len(samples)-1].SimHours >= retained+24 {
			kind, pts = "flat", since(samples, retained, c.at)
		} else {
			kind = "report"
			v.Note = fmt.Sprintf("run shorter than steady state + Kafka's retained span (%s of event time) + a day: growth per day reported", max(p.KafkaRetention, p.KafkaRetained).Round(time.Hour))
		}
	}
	if len(pts) < 4 {
		// Not judged, but the run's growth is still worth reading. An asserted
		// curve fails: a short soak whose job never reached the steady state
		// says nothing about growth after it.
		clock := "sim hour"
		if c.Clock == JobClock {
			clock = "the job's event hour"
		}
		v.Result, v.OK = "not reached", !c.Asserted
		v.Note = fmt.Sprintf("%d samples after the steady state (%s %.0f); first/last/per day over the whole run", len(pts), clock, steady)
		// The samples with a time on the clock: the job's has none before its
		// first watermark.
		if run := since(samples, math.SmallestNonzeroFloat64, c.at); len(run) >= 2 {
			v.First, v.Last, v.PerDay = c.Get(run[0]), c.Get(run[len(run)-1]), slope(run, c.Get, c.at)*24
			if v.First != 0 {
				v.Change = (v.Last - v.First) / v.First
			}
		}
		return v
	}
	first, last := windows(pts, c.at)
	if kind == "floor" {
		v.First, v.Last, kind = minimum(first, c.Get), minimum(last, c.Get), "flat"
		v.Note = "window minima"
	} else {
		v.First, v.Last = median(first, c.Get), median(last, c.Get)
	}
	if v.First != 0 {
		v.Change = (v.Last - v.First) / v.First
	}
	v.PerDay = slope(pts, c.Get, c.at) * 24
	switch kind {
	case "flat":
		switch {
		case v.Last > v.First*(1+Tolerance)+c.Slack:
			v.Result, v.OK = "grows", !c.Asserted
		case v.Last < v.First*(1-Tolerance)-c.Slack:
			v.Result = "shrinks"
		default:
			v.Result = "flat"
		}
	case "max":
		peak := 0.0
		for _, s := range pts {
			peak = max(peak, c.Get(s))
		}
		v.Note = fmt.Sprintf("peak %.0f", peak)
		if peak <= c.Bound {
			v.Result = "within"
		} else {
			v.Result, v.OK = "exceeds", !c.Asserted
		}
	case "per_day":
		if v.PerDay <= c.Bound {
			v.Result = "within"
		} else {
			v.Result, v.OK = "exceeds", !c.Asserted
		}
	default:
		v.Result = "reported"
	}
	return v
}

// projectMetadata scales the metadata.json of lake.transactions to the
// snapshots a real week keeps (Plan.RealSnapshots), by the bytes per
// snapshot the run measured: the growth a compressed run cannot show,
// since its commits are fewer than a real week's.
func projectMetadata(p Plan, samples []Sample) Verdict {
	v := Verdict{Curve: "metadata.json transactions at real cadences (projected)", Unit: "bytes", Kind: "projection",
		Asserted: p.Mode == ModeShort, Bound: MetadataBound, OK: true}
	var per []float64
	for _, s := range samples {
		if t := s.Tables["transactions"]; t.Snapshots > 0 {
			per = append(per, float64(t.MetadataBytes)/float64(t.Snapshots))
		}
	}
	if len(per) == 0 {
		// No snapshot measured, nothing projected: asserted, that fails as
		// every curve not reached does.
		v.Result, v.OK = "not reached", !v.Asserted
		return v
	}
	v.First = quantile(per, 0.5)
	v.Last = v.First * float64(p.RealSnapshots)
	v.Note = fmt.Sprintf("%.0f bytes per snapshot × %d snapshots kept (%s)", v.First, p.RealSnapshots, p.RealSnapshotsRule)
	if v.Last <= v.Bound {
		v.Result = "within"
	} else {
		v.Result, v.OK = "exceeds", !v.Asserted
	}
	return v
}

// since is the samples at or after hours on a clock, in its order: a job
// restarted from a checkpoint goes back in event time.
func since(samples []Sample, hours float64, at func(Sample) float64) []Sample {
	var out []Sample
	for _, s := range samples {
		if at(s) >= hours {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return at(out[i]) < at(out[j]) })
	return out
}

func windows(post []Sample, at func(Sample) float64) (first, last []Sample) {
	lo, hi := at(post[0]), at(post[len(post)-1])
	w := math.Min(24, (hi-lo)/3)
	for _, s := range post {
		if at(s) <= lo+w {
			first = append(first, s)
		}
		if at(s) >= hi-w {
			last = append(last, s)
		}
	}
	return first, last
}

func minimum(ss []Sample, get func(Sample) float64) float64 {
	m := math.Inf(1)
	for _, s := range ss {
		m = math.Min(m, get(s))
	}
	if len(ss) == 0 {
		return 0
	}
	return m
}

func median(ss []Sample, get func(Sample) float64) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = get(s)
	}
	sort.Float64s(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// slope is the least-squares growth per hour of a clock's event time.
func slope(ss []Sample, get, at func(Sample) float64) float64 {
	var n, sx, sy, sxx, sxy float64
	for _, s := range ss {
		x, y := at(s), get(s)
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// Failed lists the asserted verdicts that failed.
func Failed(vs []Verdict) []Verdict {
	var out []Verdict
	for _, v := range vs {
		if !v.OK {
			out = append(out, v)
		}
	}
	return out
}

func sortFloats(v []float64) { sort.Float64s(v) }
