package soak

import (
	"math"
	"strings"
	"testing"
	"time"
)

func planFor(t *testing.T, o Options) Plan {
	t.Helper()
	if o.Now.IsZero() {
		o.Now = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	}
	p, err := NewPlan(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// samples makes hourly samples over days with f giving each curve's value,
// the job keeping up with the generator.
func samples(days int, f func(h float64) float64) []Sample {
	var out []Sample
	for h := 0.0; h <= float64(days*24); h++ {
		v := f(h)
		out = append(out, Sample{SimHours: h, JobHours: h, FlinkStateBytes: int64(v), FlinkLiveStateBytes: int64(v), LiveHeapBytes: map[string]int64{"flink": int64(v)},
			Tables: map[string]TableSample{"transactions": {MetadataBytes: int64(v)}}})
	}
	return out
}

func verdict(t *testing.T, vs []Verdict, name string) Verdict {
	t.Helper()
	return named(t, vs, name, func(v Verdict) string { return v.Curve })
}

// named is the item whose name is name; the test fails without one.
func named[T any](t *testing.T, items []T, name string, nameOf func(T) string) T {
	t.Helper()
	for _, it := range items {
		if nameOf(it) == name {
			return it
		}
	}
	var zero T
	t.Fatalf("no %T named %q", zero, name)
	return zero
}

func TestACurveThatKeepsGrowingAfterTheSteadyStateFailsTheShortSoak(t *testing.T) {
	p := planFor(t, Options{Mode: ModeShort})
	// Rises until the TTL, then keeps rising 0.5% an hour: a leak.
	vs := Judge(p, samples(4, func(h float64) float64 { return 100e6 * (1 + 0.005*h) }))
	for _, name := range []string{"flink live state", "flink live heap", "metadata.json transactions"} {
		if v := verdict(t, vs, name); v.Result != "grows" || v.OK {
			t.Errorf("%s growing 0.5%%/h after the steady state: %+v, want grows and failed", name, v)
		}
	}
	if len(Failed(vs)) == 0 {
		t.Fatal("Failed lists nothing")
	}
}

func TestAFlatCurveWithADailyCycleIsFlatAfterTheSteadyState(t *testing.T) {
	p := planFor(t, Options{Mode: ModeShort})
	// Grows up to the TTL, then swings ±15% with the time of day.
	vs := Judge(p, samples(4, func(h float64) float64 {
		return 100e6 * math.Min(1, h/12) * (1 + 0.15*math.Sin(2*math.Pi*h/24))
	}))
	for _, name := range []string{"flink live state", "flink live heap", "metadata.json transactions"} {
		if v := verdict(t, vs, name); v.Result != "flat" || !v.OK {
			t.Errorf("%s: %+v, want flat", name, v)
		}
	}
}

// Universal compaction keeps dead versions until a full merge, so the
// checkpointed state and its files swing up to 3x around a flat live state;
// a leak of checkpoint files adds a few MiB with every checkpoint.
func TestCheckpointedStateIsJudgedByDailyGrowthSoCompactionSwingsPassAndAFileLeakFails(t *testing.T) {
	p := planFor(t, Options{Mode: ModeShort})
	run := func(disk func(h float64) float64) []Sample {
		ss := samples(4, func(h float64) float64 { return 8 << 20 * math.Min(1, h/12) })
		for i := range ss {
			h := ss[i].SimHours
			// Dead versions pile up for a while after the steady state, so even
			// the floor rises (a floor judgement would call it growth), then
			// stay bounded: up to 3x the live bytes.
			ss[i].FlinkStateBytes = int64(float64(ss[i].FlinkLiveStateBytes) * (1 + math.Min(1, h/40) + float64(int(h)%7)/6))
			ss[i].DiskBytes = map[string]int64{"checkpoints": int64(disk(h))}
		}
		return ss
	}
	swing := run(func(h float64) float64 { return 12<<20*(1+math.Min(1, h/40)) + float64((int(h*7)%20)<<20) })
	for _, name := range []string{"flink live state", "flink state", "disk checkpoints"} {
		if v := verdict(t, Judge(p, swing), name); !v.OK {
			t.Errorf("%s swinging with compaction around a flat live state: %+v, want passed", name, v)
		}
	}
	leak := run(func(h float64) float64 { return 12<<20 + h*(10<<20)/24 })
	if v := verdict(t, Judge(p, leak), "disk checkpoints"); v.Result != "exceeds" || v.OK {
		t.Errorf("checkpoint files growing 10 MiB a day: %+v, want exceeds and failed", v)
	}
}

func TestARunThatEndsBeforeTheSteadyStateSaysSoInsteadOfJudging(t *testing.T) {
	p := planFor(t, Options{Mode: ModeDays, Days: 1})
	v := verdict(t, Judge(p, samples(1, func(h float64) float64 { return h * 1e6 })), "flink state")
	if v.Result != "not reached" || !v.OK {
		t.Fatalf("one day against a 48h TTL: %+v, want not reached", v)
	}
}

func TestAProcessingTimeTTLIsScaledAndAnEventTimeOneIsNot(t *testing.T) {
	proc := planFor(t, Options{Mode: ModeDays, Days: 7, FlinkHelp: "[--state-ttl 48h]"})
	if proc.TTLClock != "processing" || !hasArg(proc, "flink=--state-ttl=1080s") {
		t.Fatalf("processing-time TTL: clock %s args %v, want --state-ttl=1080s (48h / 160)", proc.TTLClock, proc.ProcArgs)
	}
	// The job's usage as it is worded, the clock on the explanation's second line.
	help := "[--checkpoint-interval 1s] [--state-ttl 48h]\n" +
		"  --state-ttl: a transaction's lifecycle (duplicate and transition checks) is kept this long\n" +
		"  after its latest event, in event time. --state-backend rocksdb (default) keeps state in\n"
	ev := planFor(t, Options{Mode: ModeDays, Days: 7, FlinkHelp: help})
	if ev.TTLClock != "event" || !hasArg(ev, "flink=--state-ttl=48h") {
		t.Fatalf("event-time TTL: clock %s args %v, want --state-ttl=48h", ev.TTLClock, ev.ProcArgs)
	}
}

func TestSnapshotKeepFlagsArePassedOnlyWhenIngestOffersThem(t *testing.T) {
	without := planFor(t, Options{Mode: ModeDays, Days: 7, IngestHelp: "--retain duration"})
	for _, a := range without.ProcArgs {
		if strings.Contains(a, "snapshot-keep") {
			t.Fatalf("passed %s to an ingest without the flag", a)
		}
	}
	with := planFor(t, Options{Mode: ModeDays, Days: 7, IngestHelp: "--snapshot-keep-all duration\n--snapshot-keep-every duration"})
	if !hasArg(with, "ingest=--snapshot-keep-all=22500ms") || !hasArg(with, "ingest=--snapshot-keep-every=22500ms") {
		t.Fatalf("args %v, want both keep flags at 1h/160", with.ProcArgs)
	}
	if !hasArg(with, "ingest=--commit-interval=1s") {
		t.Fatalf("args %v: the 5s commit interval scaled below 1s must stay at 1s", with.ProcArgs)
	}
}

func hasArg(p Plan, a string) bool {
	for _, x := range p.ProcArgs {
		if x == a {
			return true
		}
	}
	return false
}

func TestHeapInfoSumsTheGenerationsButNotMetaspace(t *testing.T) {
	serial := ` def new generation   total 39296K, used 1234K [0x00000000d0000000, 0x00000000d2aa0000, 0x00000000e0000000)
  eden space 34944K,   3% used [0x00000000d0000000, 0x00000000d0134a28, 0x00000000d2220000)
 tenured generation   total 87424K, used 20000K [0x00000000e0000000, 0x00000000e5560000, 0x0000000100000000)
 Metaspace       used 4823K, committed 4992K, reserved 1114112K
`
	if n, err := parseHeapInfo(serial); err != nil || n != (1234+20000)<<10 {
		t.Fatalf("serial: %d %v", n, err)
	}
	g1 := " garbage-first heap   total 397312K, used 19941K [0x0000000687400000, 0x0000000800000000)\n Metaspace       used 4823K\n"
	if n, err := parseHeapInfo(g1); err != nil || n != 19941<<10 {
		t.Fatalf("g1: %d %v", n, err)
	}
	if _, err := parseHeapInfo("Metaspace used 1K"); err == nil {
		t.Fatal("no heap line was accepted")
	}
}

func TestHistogramQuantileInterpolatesInsideTheBucket(t *testing.T) {
	b := map[float64]float64{1: 0, 2: 50, 5: 100, math.Inf(1): 100}
	if q := histQuantile(b, 0.5); q != 2 {
		t.Fatalf("p50 %v, want 2", q)
	}
	if q := histQuantile(b, 0.75); q != 3.5 {
		t.Fatalf("p75 %v, want 3.5", q)
	}
	if q := histQuantile(map[float64]float64{1: 0}, 0.5); q != 0 {
		t.Fatalf("empty: %v", q)
	}
}

func TestMetadataProjectedToARealWeekFailsWithoutKeepEveryRetentionAndPassesWithIt(t *testing.T) {
	// 1 KiB per snapshot, as measured on the short soak.
	ss := []Sample{{SimHours: 90, Tables: map[string]TableSample{"transactions": {MetadataBytes: 100 << 10, Snapshots: 100}}}}
	help := "   --retain duration     expire snapshots older than this (default: 168h0m0s)\n"
	today := planFor(t, Options{Mode: ModeShort, IngestHelp: help})
	if v := projectMetadata(today, ss); v.Result != "exceeds" || v.OK || today.RealSnapshots != 120960 {
		t.Fatalf("retain 7d at 5 s commits: %d snapshots, %+v; want 120960 and a failed projection", today.RealSnapshots, v)
	}
	help += "   --snapshot-keep-all duration   (default: 1h0m0s)\n   --snapshot-keep-every duration   (default: 1h0m0s)\n"
	kept := planFor(t, Options{Mode: ModeShort, IngestHelp: help})
	if v := projectMetadata(kept, ss); v.Result != "within" || !v.OK || kept.RealSnapshots != 720+168 {
		t.Fatalf("keep-all 1h + keep-every 1h for 7d: %d snapshots, %+v; want 888 and within the bound", kept.RealSnapshots, v)
	}
}

// Files per partition rise with each commit and fall at each compaction: the
// samples catch that sawtooth at random phases, so the curve is judged by its
// bound (one maintenance interval's commits), not by its medians.
func TestFilesPerPartitionAreJudgedByTheCompactionBoundNotByASawtoothsMedians(t *testing.T) {
	p := planFor(t, Options{Mode: ModeShort})
	files := func(f func(h float64) int) []Sample {
		s := samples(4, func(float64) float64 { return 0 })
		for i := range s {
			s[i].Tables = map[string]TableSample{"transactions": {MaxFilesPerPartition: f(s[i].SimHours)}, "alerts": {MaxFilesPerPartition: 1}}
		}
		return s
	}
	// Low early, high late: a median comparison would call this growth.
	sawtooth := verdict(t, Judge(p, files(func(h float64) int { return 1 + int(h)%3 + int(h/48)*3 })), "max files per partition transactions")
	if sawtooth.Result != "within" || !sawtooth.OK {
		t.Errorf("a sawtooth of 1-6 files under the bound %.0f: %+v, want within", p.FilesPerPartition, sawtooth)
	}
	// No compaction: every commit's file stays.
	uncompacted := verdict(t, Judge(p, files(func(h float64) int { return int(h) })), "max files per partition transactions")
	if uncompacted.Result != "exceeds" || uncompacted.OK {
		t.Errorf("files growing without compaction past the bound %.0f: %+v, want exceeds and failed", p.FilesPerPartition, uncompacted)
	}
}

func TestLiveStatePerRecordDividesByTheRecordsOfTheTTLBeforeTheJobsEventTime(t *testing.T) {
	p := planFor(t, Options{Mode: ModeShort})
	ttl := p.TTL.Hours()
	// The generator produces 1,000 raw records an event hour for 96 hours;
	// the job reads them at half its pace, so it is done at generator hour
	// 192, and keeps each record 100 bytes for the TTL of its own event time.
	var ss []Sample
	for h := 0.0; h <= 192; h += 3 {
		job := h / 2
		held := math.Min(job, ttl) * 1000
		ss = append(ss, Sample{SimHours: h, JobHours: job, RawRecords: int64(math.Min(h, 96) * 1000), FlinkLiveStateBytes: int64(held * 100)})
	}
	per, n := LiveStatePerRecord(p, ss)
	if n == 0 || math.Abs(per-100) > 0.01 {
		t.Fatalf("%v bytes per record over %d samples, want 100", per, n)
	}
}

// lagging makes hourly samples of a job that reads at 30 % of the
// generator's pace, its state ramping up to 20 MiB over the TTL of its own
// event time and flat after: the generator's clock reads 320 h when the job
// is done with the short soak's four days.
func lagging(p Plan) []Sample {
	const pace, plateau = 0.3, 20 << 20
	var out []Sample
	for h := 0.0; h <= 96/pace; h++ {
		job := pace * h
		v := int64(plateau * math.Min(1, job/p.TTL.Hours()))
		out = append(out, Sample{SimHours: h, JobHours: job, FlinkStateBytes: v, FlinkLiveStateBytes: v,
			LiveHeapBytes: map[string]int64{"flink": 64<<20 + v}, DiskBytes: map[string]int64{"checkpoints": 2 * v}})
	}
	return out
}

func curve(t *testing.T, p Plan, name string) Curve {
	t.Helper()
	return named(t, Curves(p), name, func(c Curve) string { return c.Name })
}

func TestAJobThatLagsTheGeneratorIsJudgedOnItsOwnEventTime(t *testing.T) {
	p := planFor(t, Options{Mode: ModeShort})
	vs := Judge(p, lagging(p))
	for _, name := range []string{"flink live state", "flink state", "flink live heap", "disk checkpoints"} {
		v := verdict(t, vs, name)
		if !v.OK || (v.Result != "flat" && v.Result != "within") || v.Clock != JobClock {
			t.Errorf("%s of a job at 30 %% of the generator's pace, flat after its own TTL: %+v, want flat (or within) on the job clock", name, v)
		}
	}
}

func TestOnTheGeneratorsClockALaggingJobsRampReadsAsGrowth(t *testing.T) {
	p := planFor(t, Options{Mode: ModeShort})
	c := curve(t, p, "flink live state")
	c.Clock = ""
	// After the generator's steady state (sim hour 15) the job is at event
	// hour 4.5, a third of the way up its 20 MiB ramp.
	if v := judge(p, c, lagging(p)); v.Result != "grows" || v.OK {
		t.Fatalf("the lagging job's live state on the generator's clock: %+v, want grows and failed", v)
	}
}

func TestAShortSoakWhoseJobNeverReachesTheSteadyStateFails(t *testing.T) {
	p := planFor(t, Options{Mode: ModeShort})
	// The generator's four days, the job at a tenth of its pace: event hour
	// 9.6 at the end, short of the steady state at 15.
	ss := samples(4, func(float64) float64 { return 8 << 20 })
	for i := range ss {
		ss[i].JobHours = ss[i].SimHours / 10
	}
	vs := Judge(p, ss)
	for _, name := range []string{"flink live state", "flink state", "flink live heap", "disk checkpoints"} {
		if v := verdict(t, vs, name); v.Result != "not reached" || v.OK {
			t.Errorf("%s of a job that never reached the steady state: %+v, want not reached and failed", name, v)
		}
	}
	// The generator's clock did reach it: those curves are judged.
	if v := verdict(t, vs, "metadata.json transactions"); v.Result != "flat" || !v.OK {
		t.Errorf("metadata.json on the generator's clock: %+v, want flat", v)
	}
	if len(Failed(vs)) == 0 {
		t.Fatal("Failed lists nothing")
	}
}

func TestTheShortSoaksKafkaRetentionOutlastsTheJobsLagAndTheLongRunsKeepTheirScaledOne(t *testing.T) {
	short := planFor(t, Options{Mode: ModeShort})
	if r := short.KafkaRetentionWall(); r != KafkaRetentionFloor {
		t.Errorf("short soak's Kafka retention %s, want the %s floor", r, KafkaRetentionFloor)
	}
	// The floor keeps everything the short soak produces: its Kafka disk is reported, not judged.
	if v := verdict(t, Judge(short, samples(4, func(float64) float64 { return 1 })), "disk kafka"); v.Result != "reported" || !v.OK {
		t.Errorf("disk kafka of the short soak: %+v, want reported", v)
	}
	week := planFor(t, Options{Mode: ModeDays, Days: 7})
	if r := week.KafkaRetentionWall(); r != 63*time.Minute {
		t.Errorf("7-day run's Kafka retention %s, want 7 days / 160 = 63m", r)
	}
}
