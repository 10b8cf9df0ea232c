// Package soak is the recorder of finlake's soak runs (`just soak`,
// `just test-soak`): how a run compresses event time and scales every
// wall-clock cadence of the stack by the same factor (Plan), what it records
// every simulated hour through the processes' flags, HTTP endpoints, /proc,
// jcmd and the lake's metadata (Sampler), and whether each curve is flat
// after the state TTL's steady state (Verdicts), written as Markdown and
// JSON under bench/results (Report).
package soak

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/finlake/finlake/ingest"
)

// tieredFiles is what a partition holds after a maintenance pass, plus one
// commit in flight.
var tieredFiles = float64(ingest.DefaultMaintainOptions().CompactedFilesBound() + 1)

// Day is a simulated day.
const Day = 24 * time.Hour

// Modes of a run.
const (
	ModeDays  = "days"  // N simulated days, about 9 wall minutes each
	ModeReal  = "real"  // a real span at 10 tx/s, real cadences
	ModeShort = "short" // `just test-soak`: a few days with TTL and retention scaled down, asserted
)

// Plan is one soak run: how fast event time runs, how much of it, and the
// flags that scale each process's cadences by that factor.
type Plan struct {
	Mode string `json:"mode"`
	// Speed is event seconds per wall second (1 in real mode).
	Speed float64 `json:"speed"`
	// Density is new transactions per event second (the generator's --rate).
	Density float64       `json:"density_tx_per_s"`
	Span    time.Duration `json:"span_ns"`
	// SampleEvery is event time between samples.
	SampleEvery time.Duration `json:"sample_every_ns"`
	// TTL is the job's lifecycle TTL in event time; SteadyFrom is the event
	// time after which size curves must be flat.
	TTL        time.Duration `json:"ttl_ns"`
	SteadyFrom time.Duration `json:"steady_from_ns"`
	// TTLClock is "event" or "processing": which clock the job's --state-ttl
	// counts (a processing-time TTL is scaled by Speed).
	TTLClock string `json:"ttl_clock"`
	// Retain is snapshot retention and KafkaRetention the topics' time
	// retention, both in event time (scaled to wall time by Speed).
	Retain         time.Duration `json:"retain_ns"`
	KafkaRetention time.Duration `json:"kafka_retention_ns"`
	// KafkaRetained is how much event time Kafka's disk holds at most:
	// retention as applied (after its floor) plus a segment's roll and a
	// retention check, in this run's event time.
	KafkaRetained time.Duration `json:"kafka_retained_ns"`
	// Lookback, when set, replaces the new_country rule's 30d lookback in the
	// stack's rules (its per-account countries are state the TTL does not bound).
	Lookback time.Duration `json:"new_country_lookback_ns,omitempty"`
	// LakeBytesPerDay bounds the lake's disk growth per simulated day.
	LakeBytesPerDay float64 `json:"lake_bytes_per_day_bound"`
	// FilesPerPartition bounds a partition's data files at any sample: a
	// commit adds at most one file to a partition and maintenance merges
	// them by size tier, so compaction keeps up while a partition holds no
	// more than the commits of one maintenance interval, plus what the tiers
	// hold between passes (ingest.MaintainOptions.CompactedFilesBound) and
	// one commit in flight.
	FilesPerPartition float64 `json:"files_per_partition_bound"`
	// ProcArgs are the `stack up --proc-arg` values; Generate the
	// generator's arguments; Cadences says what each cadence became.
	ProcArgs []string   `json:"proc_args"`
	Generate []string   `json:"generate_args"`
	Cadences []Cadence  `json:"cadences"`
	Seed     uint64     `json:"seed"`
	Start    time.Time  `json:"event_start"`
	Unscaled []string   `json:"unscaled"`
	Flags    FlagsFound `json:"flags_found"`
	// RealSnapshots is how many snapshots per table ingest's expiry keeps
	// at real cadences (5 s commits, its default retention flags), and
	// RealSnapshotsRule how that follows from the flags: what the projected
	// metadata.json of a real week is computed from.
	RealSnapshots     int    `json:"real_snapshots_kept"`
	RealSnapshotsRule string `json:"real_snapshots_rule"`
}

// MetadataBound bounds metadata.json projected to a real week: it is
// rewritten on every commit (every 5 s), so 16 MiB is already 3 MiB/s of
// write amplification per table.
const MetadataBound = 16 << 20

// Cadence is one wall-clock setting of the stack and what the run made of it.
type Cadence struct {
	What   string        `json:"what"`
	Real   time.Duration `json:"real_ns"` // the default in a real deployment
	Wall   time.Duration `json:"wall_ns"` // what this run passes
	Scaled bool          `json:"scaled"`  // Wall == Real/Speed
	Note   string        `json:"note,omitempty"`
}

// FlagsFound records which optional flags the binaries offered (they land in
// other branches; the harness uses them only when present).
type FlagsFound struct {
	SnapshotKeepAll   bool `json:"snapshot_keep_all"`
	SnapshotKeepEvery bool `json:"snapshot_keep_every"`
}

// Options choose a run.
type Options struct {
	Mode string
	Days int           // ModeDays
	Real time.Duration // ModeReal
	// IngestHelp and FlinkHelp are the `--help` texts of `lakectl ingest`
	// and of the job jar: they say which flags exist and which clock the
	// job's state TTL counts. TTLClock ("event", "processing") overrides.
	IngestHelp, FlinkHelp string
	TTLClock              string
	Now                   time.Time
}

// NewPlan builds the run for opts.
func NewPlan(o Options) (Plan, error) {
	p := Plan{Mode: o.Mode, Seed: 20261126}
	switch o.Mode {
	case ModeDays:
		if o.Days < 1 {
			return p, fmt.Errorf("soak --days %d: want at least 1", o.Days)
		}
		// 10 tx/s of event time, a simulated day in 9 wall minutes.
		p.Speed, p.Density, p.Span = float64(Day/time.Second)/540, 10, time.Duration(o.Days)*Day
		p.SampleEvery, p.TTL, p.Retain, p.KafkaRetention = time.Hour, 48*time.Hour, 7*Day, 7*Day
		p.LakeBytesPerDay = 0.5e9
	case ModeShort:
		// Four days at a tenth of the density, with the TTL and retentions a
		// quarter of the real ones, in about 3.5 wall minutes: past the
		// steady state by day 1, so three days of curves to judge.
		p.Speed, p.Density, p.Span = float64(4*Day/time.Second)/210, 1, 4*Day
		p.SampleEvery, p.TTL, p.Retain, p.KafkaRetention = 3*time.Hour, 12*time.Hour, Day, Day
		p.Lookback = 12 * time.Hour
		p.LakeBytesPerDay = 0.05e9 // the 0.5 GB of 10 tx/s at the density of 1
	case ModeReal:
		if o.Real < 10*time.Minute {
			return p, fmt.Errorf("soak --real %s: want at least 10m", o.Real)
		}
		p.Speed, p.Density, p.Span = 1, 10, o.Real
		p.SampleEvery, p.TTL, p.Retain, p.KafkaRetention = 3*time.Minute, 48*time.Hour, 7*Day, 7*Day
		p.LakeBytesPerDay = 0.5e9
	default:
		return p, fmt.Errorf("soak: unknown mode %q (days, real, short)", o.Mode)
	}
	p.SteadyFrom = p.TTL + p.TTL/4
	p.Start = o.Now.Add(-p.Span).Truncate(time.Hour)
	if p.Mode == ModeReal {
		p.Start = o.Now
	}
	p.Flags = FlagsFound{
		SnapshotKeepAll:   strings.Contains(o.IngestHelp, "--snapshot-keep-all"),
		SnapshotKeepEvery: strings.Contains(o.IngestHelp, "--snapshot-keep-every"),
	}
	p.realSnapshots(o.IngestHelp)
	p.TTLClock = o.TTLClock
	if p.TTLClock == "" {
		p.TTLClock = ttlClock(o.FlinkHelp)
	}
	if p.TTLClock != "event" && p.TTLClock != "processing" {
		return p, fmt.Errorf("soak: TTL clock %q: want event or processing", p.TTLClock)
	}
	p.scale()
	return p, nil
}

// realSnapshots works out from ingest's flag defaults how many snapshots a
// table keeps at the real 5 s commit interval.
func (p *Plan) realSnapshots(help string) {
	const commit = 5 * time.Second
	retain := flagDefault(help, "--retain", 7*Day)
	last := 100
	if p.Flags.SnapshotKeepAll && p.Flags.SnapshotKeepEvery {
		all, every := flagDefault(help, "--snapshot-keep-all", time.Hour), flagDefault(help, "--snapshot-keep-every", time.Hour)
		p.RealSnapshots = max(last, int(all/commit)+int(retain/every))
		p.RealSnapshotsRule = fmt.Sprintf("every snapshot of the last %s (%d at 5 s commits) + one per %s for %s, at least %d", all, all/commit, every, retain, last)
		return
	}
	p.RealSnapshots = max(last, int(retain/commit))
	p.RealSnapshotsRule = fmt.Sprintf("every snapshot younger than --retain %s at 5 s commits, at least --retain-last %d", retain, last)
}

var defaultRe = regexp.MustCompile(`\(default: ([0-9hms.]+)\)`)

// flagDefault reads a duration flag's default from a --help text.
func flagDefault(help, flag string, fallback time.Duration) time.Duration {
	for _, line := range strings.Split(help, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != flag {
			continue
		}
		if m := defaultRe.FindStringSubmatch(line); m != nil {
			if d, err := time.ParseDuration(m[1]); err == nil {
				return d
			}
		}
	}
	return fallback
}

// ttlClock reads the job's usage: a --state-ttl documented as event time
// (its explanation, which may wrap lines, says so) is not scaled; anything
// else is taken as a processing-time TTL, as jobs before this round had.
func ttlClock(help string) string {
	flat := strings.ToLower(strings.Join(strings.Fields(help), " "))
	i := strings.Index(flat, "--state-ttl:")
	if i < 0 {
		return "processing"
	}
	explained := flat[i+len("--state-ttl:"):]
	if j := strings.Index(explained, " --"); j >= 0 {
		explained = explained[:j]
	}
	if strings.Contains(explained, "event time") {
		return "event"
	}
	return "processing"
}

// scale turns every real cadence into this run's wall time: Real/Speed,
// but never below what the process can honour (floor).
func (p *Plan) scale() {
	add := func(what, proc, flag string, real, floor time.Duration, note string) time.Duration {
		wall := time.Duration(float64(real) / p.Speed)
		c := Cadence{What: what, Real: real, Wall: wall, Scaled: true}
		if wall < floor {
			c.Wall, c.Scaled = floor, false
			c.Note = strings.TrimSuffix(fmt.Sprintf("floor %s: %s", floor, note), ": ")
			msg := fmt.Sprintf("%s: %s instead of %s", what, floor, roundDur(wall))
			if note != "" {
				msg += " (" + note + ")"
			}
			p.Unscaled = append(p.Unscaled, msg)
		}
		p.Cadences = append(p.Cadences, c)
		if proc != "" {
			p.ProcArgs = append(p.ProcArgs, fmt.Sprintf("%s=%s=%s", proc, flag, goDur(c.Wall)))
		}
		return c.Wall
	}
	if p.Speed == 1 {
		p.FilesPerPartition = float64(5*time.Minute/(5*time.Second)) + tieredFiles // the stack's --expire-interval (which compacts) / --commit-interval
		p.Cadences = append(p.Cadences, Cadence{What: "every cadence", Scaled: true, Note: "real time: the stack's defaults"})
		p.ProcArgs = append(p.ProcArgs, "flink=--state-ttl="+goDur(p.TTL))
		// No malformed records, as in the compressed modes: the soak counts
		// every raw record missing from the lake as lost, and a dead letter
		// would read as one.
		p.Generate = []string{"generate", "--rate", fmt.Sprint(p.Density), "--duration", goDur(p.Span), "--malformed-rate", "0", "--http", "off", "--progress=false"}
		return
	}
	commit := add("ingest commit interval", "ingest", "--commit-interval", 5*time.Second, time.Second,
		"an Iceberg commit per table costs ~0.1-0.5 s here; fewer, larger commits than a real week")
	add("pipeline_runs interval", "ingest", "--runs-interval", time.Minute, 5*time.Second,
		"each row is a commit to lake.pipeline_runs")
	maintain := add("maintenance interval", "ingest", "--maintain-interval", time.Hour, 10*time.Second,
		"a maintenance pass takes seconds")
	p.FilesPerPartition = float64(maintain/commit) + tieredFiles
	retain := add("snapshot retention (--retain)", "ingest", "--retain", p.Retain, 30*time.Second, "")
	// --retain-last is a count: 100 snapshots are 8 real minutes of commits,
	// nothing against 7 days, but at a 1 s commit floor they can outlast a
	// scaled retention. Keep it a tenth of what the retention holds.
	if keep := int(retain / time.Second / 10); keep < 100 {
		keep = max(keep, 1)
		p.ProcArgs = append(p.ProcArgs, fmt.Sprintf("ingest=--retain-last=%d", keep))
		p.Unscaled = append(p.Unscaled, fmt.Sprintf("--retain-last: %d instead of 100, so the count does not outlast the scaled --retain at 1 s commits", keep))
	}
	add("orphan file age", "ingest", "--orphan-older-than", 24*time.Hour, time.Minute,
		"younger files may belong to a commit in flight")
	if p.Flags.SnapshotKeepAll {
		add("snapshot keep-all window", "ingest", "--snapshot-keep-all", time.Hour, time.Second, "")
	} else {
		p.Unscaled = append(p.Unscaled, "snapshot keep-all / keep-every: `lakectl ingest` has no --snapshot-keep-all/--snapshot-keep-every yet (retention not merged), so only --retain/--retain-last expire snapshots")
	}
	if p.Flags.SnapshotKeepEvery {
		add("snapshot keep-every cadence", "ingest", "--snapshot-keep-every", time.Hour, time.Second, "")
	}
	add("Flink checkpoint interval", "", "", 2*time.Second, 2*time.Second,
		"kept at the job's default: exactly-once sinks commit per checkpoint")
	if p.TTLClock == "processing" {
		add("Flink lifecycle state TTL (processing time)", "flink", "--state-ttl", p.TTL, time.Second, "")
	} else {
		p.Cadences = append(p.Cadences, Cadence{What: "Flink lifecycle state TTL (event time)", Real: p.TTL, Wall: p.TTL, Scaled: true,
			Note: "counts event time: passed unscaled"})
		p.ProcArgs = append(p.ProcArgs, "flink=--state-ttl="+goDur(p.TTL))
	}
	add("Kafka time retention (record timestamps = wall clock at produce)", "", "", p.KafkaRetention, KafkaRetentionFloor,
		"records must outlive the job's lag behind the generator, which reached 4.5 wall minutes on a loaded machine; Kafka deletes what is older unread, and the job's source resumes at the earliest offset left")
	check := add("Kafka retention check (log.retention.check.interval.ms)", "", "", 5*time.Minute, 5*time.Second, "")
	p.ProcArgs = append(p.ProcArgs, fmt.Sprintf("kafka=--broker-config=log.retention.check.interval.ms=%d", check.Milliseconds()))
	// An expired segment otherwise lingers on disk another minute of wall
	// time (log.segment.delete.delay.ms), which a compressed run reads as
	// a day and more of growth.
	p.ProcArgs = append(p.ProcArgs, "kafka=--broker-config=log.segment.delete.delay.ms=1000")
	// Samples come seconds apart; Flink's REST metrics refresh every 10 s by
	// default, so every other sample read the job's rate as 0.
	p.ProcArgs = append(p.ProcArgs, "flink=--flink=metrics.fetcher.update-interval=1000")
	p.KafkaRetained = time.Duration(float64(p.KafkaRetentionWall()+KafkaSegmentWall(p.KafkaRetentionWall())+check+time.Second) * p.Speed)
	p.Unscaled = append(p.Unscaled,
		"Flink transaction timeout (10 min) and the supervisor's restart backoff: wall clock, unscaled")
	p.Generate = []string{"generate", "--seed", fmt.Sprint(p.Seed), "--start", p.Start.Format(time.RFC3339),
		"--backfill", goDur(p.Span), "--rate", fmt.Sprint(p.Density), "--speed", fmt.Sprintf("%.3f", p.Speed),
		"--malformed-rate", "0", "--http", "off", "--progress=false"}
}

// KafkaRetentionFloor is the shortest wall-clock retention a compressed run
// gives the data topics: Kafka deletes records the job has not read yet
// once its lag behind the generator outlasts the retention, which a real
// week, whose retention is days, never does. With 60 s the short soak lost
// 57,500 and 155,062 of 648,519 raw records in two of four runs (its job
// ran 30 % slower than the generator); with 5 min it lost 124,714 of
// 647,720 on a machine under load (2 CPU hogs), where the job lagged the
// generator by ~4.5 wall minutes. The 7-day runs, whose scaled retention
// is 63 wall minutes, lost 83-91 % because the job fell hours behind: no
// floor covers that, the lake-rows check fails it. 30 min holds the whole
// short soak (3.5 wall minutes of generation, ~0.4 GB of topics).
const KafkaRetentionFloor = 30 * time.Minute

// Wall converts event time of this run to wall time.
func (p Plan) Wall(event time.Duration) time.Duration {
	return time.Duration(float64(event) / p.Speed)
}

// KafkaSegmentWall is the topics' segment.ms for a retention: a quarter of
// it, so expiry deletes in small steps, and at least 10 s.
func KafkaSegmentWall(retention time.Duration) time.Duration {
	return max(retention/4, 10*time.Second)
}

// KafkaRetentionWall is the topics' retention.ms for this run.
func (p Plan) KafkaRetentionWall() time.Duration {
	for _, c := range p.Cadences {
		if strings.HasPrefix(c.What, "Kafka time retention") {
			return c.Wall
		}
	}
	return 0
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d > time.Minute:
		return d.Round(time.Second)
	case d > time.Second:
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// goDur formats a duration as Go's flag parser and the job's both read:
// whole milliseconds, "1500ms"; whole seconds, "90s"; whole hours "48h".
func goDur(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d.Round(time.Millisecond)/time.Millisecond)
}
