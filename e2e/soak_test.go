//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/e2e/soak"
)

// TestSoak runs the whole stack for a compressed week (FINLAKE_SOAK=days:N,
// `just soak --days N`), a real span (real:1h, `just soak --real 1h`) or
// the short soak of `just test` (short), recording every simulated hour what
// package soak samples, and writes soak-<date>[-mode].md and .json to
// FINLAKE_SOAK_OUT. Every mode fails when the lake lacks raw records; the
// short soak also when a size curve grows past its bound after the state
// TTL's steady state (on the job's event time for what the job holds), or
// never gets there. The other modes only report their curves.
func TestSoak(t *testing.T) {
	spec := os.Getenv("FINLAKE_SOAK")
	if spec == "" {
		t.Skip("FINLAKE_SOAK not set: run `just soak` or `just test-soak`")
	}
	opts, err := soakOptions(spec)
	if err != nil {
		t.Fatal(err)
	}
	root := repoRoot(t)
	bin, jar := binAndJar(root)
	opts.IngestHelp = helpText(t, bin, "ingest", "--help")
	opts.FlinkHelp = helpText(t, "java", "-jar", jar, "--help")
	opts.TTLClock = os.Getenv("FINLAKE_SOAK_TTL_CLOCK")
	opts.Now = time.Now()
	plan, err := soak.NewPlan(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("soak %s: event time ×%.1f, %s at %g tx/s, a sample every %s of event time (%s wall), TTL %s (%s time), steady from sim hour %.0f",
		plan.Mode, plan.Speed, plan.Span, plan.Density, plan.SampleEvery, plan.Wall(plan.SampleEvery).Round(100*time.Millisecond),
		plan.TTL, plan.TTLClock, plan.SteadyFrom.Hours())
	for _, u := range plan.Unscaled {
		t.Logf("not scaled: %s", u)
	}

	// Registered before the pipeline, so it runs after the pipeline's own
	// cleanup: the failed curves are the last lines a CI log's tail shows.
	var failed []string
	t.Cleanup(func() {
		for _, f := range failed {
			t.Error(f)
		}
	})
	var args []string
	for _, a := range plan.ProcArgs {
		args = append(args, "--proc-arg", a)
	}
	upStart := time.Now()
	p := startPipeline(t, args...)
	sum := soak.Summary{Date: time.Now().UTC().Format(time.RFC3339), StackUpSeconds: time.Since(upStart).Seconds(),
		Machine: fmt.Sprintf("%d cores, %s/%s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)}
	if r := plan.KafkaRetentionWall(); r > 0 && plan.Speed > 1 {
		setKafkaRetention(t, p, r)
	}
	if plan.Lookback > 0 {
		setLookback(t, p, plan.Lookback)
	}

	gen := p.lakectl(context.Background(), plan.Generate...)
	genLog, _ := os.Create(filepath.Join(t.TempDir(), "generate.log"))
	gen.Stdout, gen.Stderr = genLog, genLog
	genStart := time.Now()
	if err := gen.Start(); err != nil {
		t.Fatal(err)
	}
	genDone := make(chan error, 1)
	go func() { genDone <- gen.Wait() }()

	target := soak.Target{Data: p.data, CatalogURI: p.catalog, Brokers: p.brokers(),
		FlinkURL:  fmt.Sprintf("http://127.0.0.1:%d", p.ports.Flink),
		IngestURL: fmt.Sprintf("http://127.0.0.1:%d", p.ports.Ingest),
		FlightURI: fmt.Sprintf("grpc://127.0.0.1:%d", p.ports.Flight)}
	sampler := soak.NewSampler(target, plan, genStart)
	var samples []soak.Sample
	take := func() {
		s := sampler.Take(context.Background(), rawEnd(t, p))
		samples = append(samples, s)
		t.Log(soak.Line(s))
	}
	every := plan.Wall(plan.SampleEvery)
	next := genStart.Add(every)
	// sampleDue takes a sample when one is due; a slow sample skips ticks
	// rather than bunching them.
	sampleDue := func() {
		if time.Now().Before(next) {
			return
		}
		take()
		for !next.After(time.Now()) {
			next = next.Add(every)
		}
	}
	var genErr error
loop:
	for {
		select {
		case genErr = <-genDone:
			break loop
		case <-time.After(time.Until(next)):
			sampleDue()
		}
	}
	sum.GenerateSeconds = time.Since(genStart).Seconds()
	if genErr != nil {
		b, _ := os.ReadFile(genLog.Name())
		t.Fatalf("generator: %v\n%s", genErr, tail(b, 3000))
	}
	if n := len(samples); n > 0 {
		sum.JobLagHours = samples[n-1].SimHours - samples[n-1].JobHours
	}
	sum.RawRecords = rawEnd(t, p)
	// Sampling goes on until the lake has every record: a job that lagged
	// the generator is still catching up, and the curves on its clock need
	// the event time it reaches meanwhile.
	landed := waitSettled(t, p, sum.RawRecords, 20*time.Minute, sampleDue)
	sum.LandedSeconds = landed.Sub(genStart).Seconds()
	sum.ThroughputRPS = float64(sum.RawRecords) / sum.LandedSeconds
	sum.LakeRows = lakeRows(t, p)
	if snap := loadTable(t, p.lake(), "alerts").CurrentSnapshot(); snap != nil && snap.Summary != nil {
		sum.AlertRows, _ = strconv.ParseInt(snap.Summary.Properties["total-records"], 10, 64)
	}
	// Every generated record is valid and its lifecycle (minutes) fits the
	// TTL in every mode, so a missing row is a lost record, not a dead
	// letter; and curves of a job that skipped records say nothing.
	if lost := sum.RawRecords - sum.LakeRows; lost > 0 {
		lagWall := plan.Wall(time.Duration(sum.JobLagHours * float64(time.Hour))).Round(time.Second)
		retention := "the topics' default"
		if r := plan.KafkaRetentionWall(); r > 0 && plan.Speed > 1 {
			retention = r.String() + " wall"
		}
		failed = append(failed, fmt.Sprintf("lake.transactions holds %d rows for %d raw records: %d records (%.1f%%) lost. "+
			"Likely cause: Kafka deleted records the job had not read, the job lagging the generator past the topics' retention "+
			"(%.1f event hours, %s wall, behind at the end of generation; retention %s). The job's counters: %v",
			sum.LakeRows, sum.RawRecords, lost, float64(lost)/float64(sum.RawRecords)*100,
			sum.JobLagHours, lagWall, retention, lastCounters(samples)))
	} else if lost < 0 {
		failed = append(failed, fmt.Sprintf("lake.transactions holds %d rows for %d raw records: %d rows more than were generated (duplicates; the job's counters: %v)",
			sum.LakeRows, sum.RawRecords, -lost, lastCounters(samples)))
	}

	res := soak.Result{Plan: plan, Summary: sum, Samples: samples, Verdicts: soak.Judge(plan, samples)}
	out := os.Getenv("FINLAKE_SOAK_OUT")
	if out == "" {
		out = filepath.Join(os.TempDir(), "finlake-soak")
	}
	name := "soak-" + soak.Stamp(time.Now())
	if plan.Mode != soak.ModeDays {
		name += "-" + plan.Mode
	}
	jsonPath, mdPath, err := soak.Write(filepath.Join(out, name), res)
	if err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(mdPath)
	t.Logf("wrote %s and %s:\n%s", jsonPath, mdPath, md)
	if plan.Mode == soak.ModeShort {
		for _, v := range soak.Failed(res.Verdicts) {
			clock := ""
			if v.Clock == soak.JobClock {
				clock = " (on the job's event time)"
			}
			if v.Result == "not reached" {
				failed = append(failed, fmt.Sprintf("%s%s never reached the steady state: nothing judged (%s)", v.Curve, clock, v.Note))
				continue
			}
			failed = append(failed, fmt.Sprintf("%s%s grows after the steady state: %.0f → %.0f %s (%+.1f%%, %.0f a simulated day, %s%s): unbounded growth",
				v.Curve, clock, v.First, v.Last, v.Unit, v.Change*100, v.PerDay, v.Result, noteSuffix(v.Note)))
		}
	}
}

func lastCounters(samples []soak.Sample) map[string]int64 {
	if n := len(samples); n > 0 {
		return samples[n-1].FlinkCounters
	}
	return nil
}

func noteSuffix(note string) string {
	if note == "" {
		return ""
	}
	return "; " + note
}

func soakOptions(spec string) (soak.Options, error) {
	mode, arg, _ := strings.Cut(spec, ":")
	o := soak.Options{Mode: mode}
	switch mode {
	case soak.ModeDays:
		n, err := strconv.Atoi(arg)
		if err != nil {
			return o, fmt.Errorf("FINLAKE_SOAK=%q: want days:N", spec)
		}
		o.Days = n
	case soak.ModeReal:
		d, err := time.ParseDuration(arg)
		if err != nil {
			return o, fmt.Errorf("FINLAKE_SOAK=%q: want real:1h", spec)
		}
		o.Real = d
	case soak.ModeShort:
	default:
		return o, fmt.Errorf("FINLAKE_SOAK=%q: want days:N, real:DURATION or short", spec)
	}
	return o, nil
}

func binAndJar(root string) (string, string) {
	bin, jar := os.Getenv("FINLAKE_BIN"), os.Getenv("FINLAKE_FLINK_JAR")
	if bin == "" {
		bin = filepath.Join(root, "bin", "lakectl")
	}
	if jar == "" {
		jar = filepath.Join(root, "flinkjob", "target", "finlake-flinkjob.jar")
	}
	return bin, jar
}

// helpText is a command's --help output, which says which flags it has.
func helpText(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Logf("%s %s: %v (taken as no optional flags)", name, strings.Join(args, " "), err)
	}
	return string(out)
}

// setKafkaRetention gives the data topics the run's time retention, with
// segments rolling at a quarter of it so expiry deletes in small steps.
func setKafkaRetention(t *testing.T, p *pipeline, retention time.Duration) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.brokers()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ms := strconv.FormatInt(retention.Milliseconds(), 10)
	seg := strconv.FormatInt(soak.KafkaSegmentWall(retention).Milliseconds(), 10)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topics := []string{contract.RawTransactions, contract.TransactionsProcessed, contract.Alerts, contract.DeadLetter}
	resp, err := kadm.NewClient(cl).AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "retention.ms", Value: &ms},
		{Op: kadm.SetConfig, Name: "segment.ms", Value: &seg},
	}, topics...)
	if err == nil {
		for _, r := range resp {
			if r.Err != nil {
				err = fmt.Errorf("%s: %w", r.Name, r.Err)
			}
		}
	}
	if err != nil {
		t.Fatalf("set Kafka retention: %v", err)
	}
	t.Logf("Kafka data topics: retention.ms=%s segment.ms=%s", ms, seg)
}

// setLookback rewrites the new_country lookback in the stack's rules file;
// the rules watcher publishes it and the job applies it before the first
// generated record (the generator starts after the publish shows in the
// watcher's log).
func setLookback(t *testing.T, p *pipeline, d time.Duration) {
	t.Helper()
	b, err := os.ReadFile(p.rules)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "lookback: ")
	if i < 0 {
		t.Fatalf("%s has no new_country lookback to scale", p.rules)
	}
	j := i + strings.IndexByte(s[i:], '\n')
	val := fmt.Sprintf("%dh", int(d.Hours()))
	if err := os.WriteFile(p.rules, []byte(s[:i]+"lookback: "+val+s[j:]), 0o644); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(p.data, "logs", "rules.log")
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(log); strings.Contains(string(b), `"change":"update"`) {
			t.Logf("new_country lookback: %s (rules republished)", val)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the rules watcher did not publish the scaled lookback within a minute (see %s)", log)
}

// waitSettled waits until lake.transactions holds want rows, or its count
// has stopped moving with nothing left for ingest (records the job
// dead-lettered or Kafka deleted unread never land), and says when the last
// row landed. It calls tick between two counts (after one, so a sample's
// seconds do not delay when the last row is seen to land).
func waitSettled(t *testing.T, p *pipeline, want int64, within time.Duration, tick func()) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	last, lastChange := int64(-1), time.Now()
	for time.Now().Before(deadline) {
		n := lakeRows(t, p)
		if n >= want {
			return time.Now()
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > 30*time.Second {
			return lastChange
		}
		tick()
		time.Sleep(time.Second)
	}
	t.Errorf("lake.transactions still moving %s after the generator ended (%d rows, %d raw records)", within, last, want)
	return time.Now()
}
