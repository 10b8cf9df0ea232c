package soak

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Summary holds the run's totals (the figures of the former one-day soak).
type Summary struct {
	Date            string  `json:"date"`
	RawRecords      int64   `json:"raw_records"`
	LakeRows        int64   `json:"lake_rows"`
	AlertRows       int64   `json:"alert_rows"`
	GenerateSeconds float64 `json:"generate_s"`
	LandedSeconds   float64 `json:"landed_s"` // generator start → every raw record in the lake
	ThroughputRPS   float64 `json:"end_to_end_records_per_s"`
	StackUpSeconds  float64 `json:"stack_up_s"`
	// JobLagHours is how far the job's event time was behind the
	// generator's when generation ended, in event hours.
	JobLagHours float64 `json:"job_lag_hours"`
	Machine     string  `json:"machine"`
}

// Result is the whole JSON document of a run.
type Result struct {
	Plan     Plan      `json:"plan"`
	Summary  Summary   `json:"summary"`
	Samples  []Sample  `json:"samples"`
	Verdicts []Verdict `json:"verdicts"`
}

// Write stores base.json and base.md and returns their paths.
func Write(base string, r Result) (string, string, error) {
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return "", "", err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(base+".json", append(b, '\n'), 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(base+".md", []byte(Markdown(r, filepath.Base(base))), 0o644); err != nil {
		return "", "", err
	}
	return base + ".json", base + ".md", nil
}

// Markdown renders the report.
func Markdown(r Result, base string) string {
	p, s := r.Plan, r.Summary
	var b strings.Builder
	title := map[string]string{
		ModeDays:  fmt.Sprintf("%g simulated days at %g tx/s, event time ×%.0f", p.Span.Hours()/24, p.Density, p.Speed),
		ModeShort: fmt.Sprintf("short soak: %g simulated days at %g tx/s, event time ×%.0f, TTL and retention scaled down", p.Span.Hours()/24, p.Density, p.Speed),
		ModeReal:  fmt.Sprintf("a real %s at %g tx/s, real cadences", p.Span, p.Density),
	}[p.Mode]
	fmt.Fprintf(&b, "# finlake soak: %s\n\n%s, %s. Raw samples: `%s.json`; curves: `%s.png` (`bench/soak_plot.py`).\n\n", title, s.Date, s.Machine, base, base)
	b.WriteString("## Totals\n\n| figure | value |\n| --- | --- |\n")
	fmt.Fprintf(&b, "| raw records (transactions and lifecycle events) | %d |\n", s.RawRecords)
	fmt.Fprintf(&b, "| rows in lake.transactions / lake.alerts | %d / %d |\n", s.LakeRows, s.AlertRows)
	if missing := s.RawRecords - s.LakeRows; missing != 0 {
		pct := 0.0
		if s.RawRecords > 0 {
			pct = float64(missing) / float64(s.RawRecords) * 100
		}
		fmt.Fprintf(&b, "| **raw records missing from the lake** | **%d of %d (%.1f %%)** |\n", missing, s.RawRecords, pct)
	}
	fmt.Fprintf(&b, "| the job's event time behind the generator's at the end of generation | %.1f event hours (%s wall) |\n",
		s.JobLagHours, roundDur(p.Wall(time.Duration(s.JobLagHours*float64(time.Hour)))))
	fmt.Fprintf(&b, "| stack up / generator run / all landed | %.0f s / %.0f s / %.0f s (%.0f records/s end to end) |\n",
		s.StackUpSeconds, s.GenerateSeconds, s.LandedSeconds, s.ThroughputRPS)
	if n := len(r.Samples); n > 0 {
		first, last := r.Samples[0], r.Samples[n-1]
		var rssF, rssL int64
		for _, v := range first.RSSBytes {
			rssF += v
		}
		for _, v := range last.RSSBytes {
			rssL += v
		}
		jobLo, jobHi := jobRange(r.Samples)
		fmt.Fprintf(&b, "| samples | %d (sim hour %.1f to %.1f; the job's event hour %.1f to %.1f) |\n", n, first.SimHours, last.SimHours, jobLo, jobHi)
		fmt.Fprintf(&b, "| stack RSS first / last sample | %s / %s |\n", mib(float64(rssF)), mib(float64(rssL)))
		fmt.Fprintf(&b, "| disk at the end: warehouse / Kafka / checkpoints | %s / %s / %s |\n",
			mib(float64(last.DiskBytes["warehouse"])), mib(float64(last.DiskBytes["kafka"])), mib(float64(last.DiskBytes["checkpoints"])))
		restarts := 0
		for _, v := range last.Restarts {
			restarts += v
		}
		fmt.Fprintf(&b, "| supervisor restarts | %d |\n", restarts)
		fmt.Fprintf(&b, "| samples with a failed probe | %d |\n", problems(r.Samples))
		if per, n := LiveStatePerRecord(p, r.Samples); n > 0 {
			fmt.Fprintf(&b, "| Flink live state per raw record of the last TTL (%s) | %.0f bytes (median of %d samples after the steady state) |\n", p.TTL, per, n)
		}
	}

	b.WriteString("\n## Cadences\n\n| cadence | real | this run | scaled |\n| --- | --- | --- | --- |\n")
	for _, c := range p.Cadences {
		scaled := "yes"
		if !c.Scaled {
			scaled = "no: " + c.Note
		} else if c.Note != "" {
			scaled = "yes: " + c.Note
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.What, roundDur(c.Real), roundDur(c.Wall), scaled)
	}
	if len(p.Unscaled) > 0 {
		b.WriteString("\nNot scaled, and what it means:\n\n")
		for _, u := range p.Unscaled {
			fmt.Fprintf(&b, "- %s\n", u)
		}
	}
	fmt.Fprintf(&b, "\nFlink's state TTL counts %s time (read from the job's --help). Commands: `lakectl stack up --proc-arg %s`, `lakectl %s`.\n",
		p.TTLClock, strings.Join(p.ProcArgs, " --proc-arg "), strings.Join(p.Generate, " "))

	fmt.Fprintf(&b, "\n## Verdicts after the steady state (sim hour %.0f: TTL %s + a quarter)\n\n", p.SteadyFrom.Hours(), p.TTL)
	fmt.Fprintf(&b, "Flat: the median of the last window (a simulated day, or a third of the post-steady span) within ±%.0f%% of the first one's (plus a small absolute slack). ", Tolerance*100)
	b.WriteString("Curves marked (job clock) are judged on the job's event time, the rules engine's output watermark, and their growth is per day of it: " +
		"what the job holds follows the event time it has reached, and a job lagging the generator reaches the steady state later than the generator does, " +
		"so on the generator's clock its ramp up to the TTL would read as growth. The other curves are on the generator's clock (sim hours: wall time × speed). ")
	b.WriteString("Asserted curves fail `just test-soak`, also when the run (or the job) never reaches the steady state.\n\n| curve | first | last | change | per sim day | result | asserted |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, v := range r.Verdicts {
		res := v.Result
		switch v.Kind {
		case "per_day":
			res += " (bound " + unit(v.Bound, v.Unit) + "/day)"
		case "projection", "max":
			res += " (bound " + unit(v.Bound, v.Unit) + ")"
		}
		if v.Note != "" {
			res += "; " + v.Note
		}
		mark := ""
		if v.Asserted {
			mark = "yes"
			if !v.OK {
				mark = "**FAILED**"
			}
		}
		name := v.Curve
		if v.Clock == JobClock {
			name += " (job clock)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %+.1f%% | %s | %s | %s |\n", name, unit(v.First, v.Unit), unit(v.Last, v.Unit), v.Change*100, unit(v.PerDay, v.Unit), res, mark)
	}

	b.WriteString("\n## Query latency through the Flight SQL server (ms, per sample: median / p95 / max)\n\n| query | median | p95 | max |\n| --- | --- | --- | --- |\n")
	for _, q := range QueryNames {
		var v []float64
		for _, s := range r.Samples {
			if ms, ok := s.QueryMS[q]; ok {
				v = append(v, ms)
			}
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f |\n", q, quantile(v, 0.5), quantile(v, 0.95), quantile(v, 1))
	}
	if bad := Failed(r.Verdicts); len(bad) > 0 {
		b.WriteString("\n**Failed:** ")
		for i, v := range bad {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(v.Curve)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// LiveStatePerRecord is Flink's live state divided by the raw records of the
// TTL before the job's event time at each sample (transactions and
// lifecycle events, interpolated between samples): what a record costs
// while the job keeps it. The state holds what the job has processed within
// the last TTL of its own event time, so the records are those the
// generator produced between the job's event hour less the TTL and the
// job's event hour, not the latest TTL of what was generated: a job lagging
// the generator has not read those yet. The median over the samples after
// the steady state on the job's clock, and how many there were.
func LiveStatePerRecord(p Plan, samples []Sample) (float64, int) {
	ttl := p.TTL.Hours()
	var per []float64
	for _, s := range samples {
		if s.JobHours < p.SteadyFrom.Hours() || s.FlinkLiveStateBytes == 0 {
			continue
		}
		if n := rawAt(samples, s.JobHours) - rawAt(samples, s.JobHours-ttl); n > 0 {
			per = append(per, float64(s.FlinkLiveStateBytes)/n)
		}
	}
	return quantile(per, 0.5), len(per)
}

// jobRange is the lowest and highest event hour the job had reached over
// the samples that have one.
func jobRange(samples []Sample) (float64, float64) {
	lo, hi := 0.0, 0.0
	for _, s := range samples {
		if s.JobHours <= 0 {
			continue
		}
		if lo == 0 || s.JobHours < lo {
			lo = s.JobHours
		}
		hi = max(hi, s.JobHours)
	}
	return lo, hi
}

// rawAt interpolates the raw record count at event hour h of the
// generator's clock (0 before the run): how many records it had produced
// by then.
func rawAt(samples []Sample, h float64) float64 {
	prevH, prevN := 0.0, 0.0
	for _, s := range samples {
		if s.SimHours >= h {
			if s.SimHours == prevH {
				return float64(s.RawRecords)
			}
			return prevN + (float64(s.RawRecords)-prevN)*(h-prevH)/(s.SimHours-prevH)
		}
		prevH, prevN = s.SimHours, float64(s.RawRecords)
	}
	return prevN
}

// Line is the progress line of one sample.
func Line(s Sample) string {
	tx := s.Tables["transactions"]
	return fmt.Sprintf("sim h %5.1f  job h %5.1f (%6.0f rec/s)  wall %5.0fs  raw %9d  lag %6d  state %s (live %s, sst %s)  heap flink %s kafka %s  meta %s (%d snaps)  files/part %d  disk wh %s kafka %s ckpt %s  count %.0fms  restarts %d%s",
		s.SimHours, s.JobHours, s.JobRecordsPerSec, s.WallSeconds, s.RawRecords, s.IngestLag, mib(float64(s.FlinkStateBytes)), mib(float64(s.FlinkLiveStateBytes)), mib(float64(s.FlinkSSTBytes)),
		mib(float64(s.LiveHeapBytes["flink"])),
		mib(float64(s.LiveHeapBytes["kafka"])), kib(float64(tx.MetadataBytes)), tx.Snapshots, tx.MaxFilesPerPartition,
		mib(float64(s.DiskBytes["warehouse"])), mib(float64(s.DiskBytes["kafka"])), mib(float64(s.DiskBytes["checkpoints"])),
		s.QueryMS["count"], sum(s.Restarts), problemNote(s))
}

func problemNote(s Sample) string {
	if len(s.Problems) == 0 {
		return ""
	}
	return "  PROBLEMS: " + strings.Join(s.Problems, " | ")
}

func problems(ss []Sample) int {
	n := 0
	for _, s := range ss {
		if len(s.Problems) > 0 {
			n++
		}
	}
	return n
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	c := append([]float64(nil), v...)
	sortFloats(c)
	i := int(q * float64(len(c)-1))
	return c[i]
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
func kib(b float64) string { return fmt.Sprintf("%.0f KiB", b/(1<<10)) }

func unit(v float64, u string) string {
	switch u {
	case "bytes":
		if v < 1<<20 && v > -(1<<20) {
			return kib(v)
		}
		return mib(v)
	case "bytes/s":
		return kib(v) + "/s"
	case "ms":
		return fmt.Sprintf("%.0f ms", v)
	case "s":
		return fmt.Sprintf("%.2f s", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// Stamp is today's date for file names.
func Stamp(t time.Time) string { return t.UTC().Format("2006-01-02") }

// Rejudge reads a run's JSON document and judges its samples again with
// this version's curves: a run's figures outlive a change of its verdicts.
func Rejudge(path string) (Result, error) {
	var r Result
	b, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%s: %w", path, err)
	}
	r.Verdicts = Judge(r.Plan, r.Samples)
	return r, nil
}
