package generator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/finlake/finlake/generator"
)

var testStart = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

type parsedEvent struct {
	TransactionID    string      `json:"transaction_id"`
	Timestamp        time.Time   `json:"timestamp"`
	AccountID        string      `json:"account_id"`
	Amount           json.Number `json:"amount"`
	Currency         string      `json:"currency"`
	MerchantName     string      `json:"merchant_name"`
	MerchantCategory string      `json:"merchant_category"`
	TransactionType  string      `json:"transaction_type"`
	LocationCountry  string      `json:"location_country"`
	Status           string      `json:"status"`
}

func parse(t *testing.T, raw []byte) parsedEvent {
	t.Helper()
	var e parsedEvent
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("valid record does not parse: %v: %s", err, raw)
	}
	return e
}

func generate(t *testing.T, cfg generator.Config, n int) []generator.Record {
	t.Helper()
	g, err := generator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]generator.Record, n)
	for i := range recs {
		recs[i] = g.Next(nil)
	}
	return recs
}

func testConfig(seed uint64) generator.Config {
	cfg := generator.DefaultConfig()
	cfg.Seed = seed
	cfg.Start = testStart
	return cfg
}

var fx = map[string]float64{"USD": 1, "EUR": 1.08, "GBP": 1.27, "JPY": 0.0067}
var decimals = map[string]int{"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0}
var countryCurrency = map[string]string{"US": "USD", "GB": "GBP", "JP": "JPY", "DE": "EUR", "FR": "EUR", "ES": "EUR", "IT": "EUR", "NL": "EUR", "IE": "EUR"}

func TestTenThousandRecordsCoverEveryTypeCategoryAndCurrency(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range generate(t, testConfig(1), 10_000) {
		if r.Kind != "" {
			continue
		}
		e := parse(t, r.Value)
		seen["type:"+e.TransactionType] = true
		seen["category:"+e.MerchantCategory] = true
		seen["currency:"+e.Currency] = true
		seen["country:"+e.LocationCountry] = true
		seen["status:"+e.Status] = true
	}
	var missing []string
	for _, want := range []string{"type:purchase", "type:withdrawal", "type:transfer", "type:refund",
		"category:retail", "category:dining", "category:travel", "category:online", "category:groceries",
		"category:entertainment", "category:utilities", "currency:USD", "currency:EUR", "currency:GBP", "currency:JPY",
		"status:pending", "status:completed", "status:failed", "status:reversed"} {
		if !seen[want] {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("never generated: %v", missing)
	}
}

func TestAmountsStayInRangeWithTheCurrencysDecimalsAndSignByType(t *testing.T) {
	for i, r := range generate(t, testConfig(2), 10_000) {
		if r.Kind != "" {
			continue
		}
		e := parse(t, r.Value)
		s := e.Amount.String()
		frac := 0
		if dot := strings.IndexByte(s, '.'); dot >= 0 {
			frac = len(s) - dot - 1
		}
		if frac != decimals[e.Currency] {
			t.Fatalf("record %d: amount %s in %s has %d decimals, want %d", i, s, e.Currency, frac, decimals[e.Currency])
		}
		amt, _ := new(big.Rat).SetString(s)
		f, _ := amt.Float64()
		if usd := math.Abs(f) * fx[e.Currency]; usd < 0.5 || usd > 50_000 {
			t.Fatalf("record %d: amount %s %s is %.2f USD, outside [0.50, 50000]", i, s, e.Currency, usd)
		}
		if (amt.Sign() < 0) != (e.TransactionType == "refund") {
			t.Fatalf("record %d: amount %s on a %s", i, s, e.TransactionType)
		}
		if countryCurrency[e.LocationCountry] != e.Currency {
			t.Fatalf("record %d: %s in %s", i, e.Currency, e.LocationCountry)
		}
	}
}

func TestValidStreamPassesEveryContractCheckIncludingLifecycle(t *testing.T) {
	cfg := testConfig(3)
	cfg.MalformedRate = 0
	cfg.FraudRate = 0.01
	chk := newContractChecker(time.Now())
	firsts, reversed := 0, 0
	for i, r := range generate(t, cfg, 10_000) {
		if errs := chk.check(r.Value); len(errs) > 0 {
			t.Fatalf("record %d fails %v: %s", i, errs, r.Value)
		}
		e := parse(t, r.Value)
		if e.Status == "reversed" {
			reversed++
		}
		if !strings.Contains(string(r.Key), e.AccountID) || len(r.Key) != len(e.AccountID) {
			t.Fatalf("record %d keyed %q, account %q", i, r.Key, e.AccountID)
		}
		firsts++
	}
	if reversed == 0 {
		t.Fatal("no transaction was reversed in 10,000 records")
	}
}

func TestLifecycleEventsRepeatTheRecordAndKeepTheOccurrenceTime(t *testing.T) {
	cfg := testConfig(4)
	cfg.MalformedRate = 0
	first := map[string]parsedEvent{}
	followUps := 0
	for _, r := range generate(t, cfg, 5_000) {
		e := parse(t, r.Value)
		f, ok := first[e.TransactionID]
		if !ok {
			first[e.TransactionID] = e
			continue
		}
		followUps++
		g := e
		g.Status = f.Status
		if g != f {
			t.Fatalf("follow-up changes the record:\nfirst %+v\nlater %+v", f, e)
		}
	}
	if followUps == 0 {
		t.Fatal("no lifecycle follow-ups in 5,000 records")
	}
}

func TestEveryMalformedRecordFailsExactlyItsLabelledCheck(t *testing.T) {
	cfg := testConfig(5)
	cfg.MalformedRate = 0.2
	cfg.FraudRate = 0.01
	chk := newContractChecker(time.Now())
	perKind := map[string]int{}
	n := 10_000
	for i, r := range generate(t, cfg, n) {
		errs := chk.check(r.Value)
		if r.Kind == "" {
			if len(errs) > 0 {
				t.Fatalf("valid record %d fails %v: %s", i, errs, r.Value)
			}
			continue
		}
		if r.Label == nil || r.Label.Label != "malformed" || r.Label.Kind != r.Kind || r.Label.Seq != int64(i) {
			t.Fatalf("record %d of kind %s has label %+v", i, r.Kind, r.Label)
		}
		if len(errs) != 1 || errs[0] != r.Kind {
			t.Fatalf("record %d labelled %s fails %v: %q", i, r.Kind, errs, r.Value)
		}
		perKind[r.Kind]++
	}
	want := float64(n) * cfg.MalformedRate / float64(len(generator.MalformedKinds))
	for _, k := range generator.MalformedKinds {
		if got := float64(perKind[k]); got < want*0.6 || got > want*1.4 {
			t.Errorf("%s: %v records, want about %.0f (shares %v)", k, got, want, perKind)
		}
	}
}

func TestDefaultMalformedShareIsAboutFiveInTenThousand(t *testing.T) {
	cfg := testConfig(6)
	const n = 200_000
	g, err := generator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	buf := make([]byte, 0, 512)
	for i := 0; i < n; i++ {
		r := g.Next(buf[:0])
		if r.Kind != "" {
			bad++
		}
	}
	// Binomial(200000, 0.0005): mean 100, sd 10.
	if bad < 60 || bad > 140 {
		t.Fatalf("%d malformed of %d, want about %d", bad, n, int(n*cfg.MalformedRate))
	}
}

func TestInjectedScenariosTriggerTheirRules(t *testing.T) {
	cfg := testConfig(7)
	cfg.FraudRate = 0.05
	cfg.MalformedRate = 0.01
	type first struct {
		ts      time.Time
		country string
	}
	history := map[string][]first{} // account -> valid first events in stream order
	chk := newContractChecker(time.Now())
	seenTx := map[string]bool{}
	fired := map[string]int{}
	for i, r := range generate(t, cfg, 10_000) {
		if len(chk.check(r.Value)) > 0 {
			continue
		}
		e := parse(t, r.Value)
		if seenTx[e.TransactionID] {
			continue // rules look at first events only
		}
		seenTx[e.TransactionID] = true
		past := history[e.AccountID]
		history[e.AccountID] = append(past, first{e.Timestamp, e.LocationCountry})
		if r.Label == nil {
			continue
		}
		if r.Label.Label != "scenario" || r.Label.TransactionID != e.TransactionID || r.Label.Seq != int64(i) {
			t.Fatalf("record %d: label %+v for %s", i, r.Label, e.TransactionID)
		}
		var ok bool
		switch r.Label.Scenario {
		case "high_value":
			amt, _ := new(big.Rat).SetString(e.Amount.String())
			f, _ := amt.Float64()
			ok = f*fx[e.Currency] > 10_000 && r.Label.ExpectedRule == "high_value"
		case "velocity_burst":
			inWindow := 1
			for _, p := range past {
				if p.ts.After(e.Timestamp.Add(-time.Minute)) && !p.ts.After(e.Timestamp) {
					inWindow++
				}
			}
			ok = inWindow >= 6 && r.Label.ExpectedRule == "rapid_activity"
		case "new_country":
			ok = len(past) >= 3 && r.Label.ExpectedRule == "unusual_location"
			for _, p := range past {
				ok = ok && p.country != e.LocationCountry
			}
		case "quiet_hours":
			h := e.Timestamp.UTC().Hour()
			ok = h >= 1 && h < 5 && r.Label.ExpectedRule == "quiet_hours"
		}
		if !ok {
			t.Fatalf("record %d: scenario %s does not trigger %s: %s (history %v)", i, r.Label.Scenario, r.Label.ExpectedRule, r.Value, past)
		}
		fired[r.Label.Scenario]++
	}
	for _, s := range generator.ScenarioNames() {
		if fired[s] == 0 {
			t.Errorf("scenario %s never injected (%v)", s, fired)
		}
	}
}

func runToBytes(t *testing.T, cfg generator.Config, count int64) (out, labels []byte) {
	t.Helper()
	g, err := generator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var o, l bytes.Buffer
	stats := &generator.Stats{}
	err = generator.Run(context.Background(), generator.RunOptions{Gen: g, Sink: generator.NewWriterSink(&o, nil, stats),
		Stats: stats, Count: count, Labels: &l})
	if err != nil {
		t.Fatal(err)
	}
	return o.Bytes(), l.Bytes()
}

func TestSameSeedStartAndCountGiveIdenticalBytes(t *testing.T) {
	cfg := testConfig(8)
	cfg.FraudRate, cfg.MalformedRate = 0.02, 0.02
	a, la := runToBytes(t, cfg, 10_000)
	b, lb := runToBytes(t, cfg, 10_000)
	if !bytes.Equal(a, b) || !bytes.Equal(la, lb) {
		t.Fatal("two runs with the same seed, start and count differ")
	}
	cfg.Seed = 9
	c, _ := runToBytes(t, cfg, 10_000)
	if bytes.Equal(a, c) {
		t.Fatal("a different seed gave the same output")
	}
	if got := bytes.Count(a, []byte("\n")); got != 10_000 {
		t.Fatalf("%d lines for --count 10000", got)
	}
}

func TestLabelsFileNamesTheRecordAtEachSeq(t *testing.T) {
	cfg := testConfig(10)
	cfg.FraudRate, cfg.MalformedRate = 0.05, 0.02
	out, labels := runToBytes(t, cfg, 5_000)
	lines := bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
	n := 0
	for _, l := range bytes.Split(bytes.TrimSpace(labels), []byte("\n")) {
		var lab generator.Label
		if err := json.Unmarshal(l, &lab); err != nil {
			t.Fatalf("label line %q: %v", l, err)
		}
		if lab.TransactionID != "" && !bytes.Contains(lines[lab.Seq], []byte(lab.TransactionID)) {
			t.Fatalf("label %+v: line %d is %s", lab, lab.Seq, lines[lab.Seq])
		}
		n++
	}
	if n < 100 {
		t.Fatalf("only %d labels in 5,000 records at fraud 5%% and malformed 2%%", n)
	}
}

func TestTimestampsAreMillisecondRFC3339UTCAndNonDecreasingForNewTransactions(t *testing.T) {
	cfg := testConfig(11)
	cfg.MalformedRate = 0
	var last time.Time
	seen := map[string]bool{}
	for i, r := range generate(t, cfg, 5_000) {
		e := parse(t, r.Value)
		var raw struct{ Timestamp string }
		_ = json.Unmarshal(r.Value, &raw)
		if got := e.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z"); got != raw.Timestamp {
			t.Fatalf("record %d: timestamp %q, want the form %q", i, raw.Timestamp, got)
		}
		if seen[e.TransactionID] {
			continue
		}
		seen[e.TransactionID] = true
		if e.Timestamp.Before(last) {
			t.Fatalf("record %d: new transaction at %v after one at %v", i, e.Timestamp, last)
		}
		last = e.Timestamp
	}
}

func TestDefaultStartIsYesterdaysMidnightForOrdinaryRuns(t *testing.T) {
	now := time.Date(2026, 11, 26, 7, 30, 0, 0, time.UTC)
	if got, want := generator.DefaultStart(now, 2000, 10, 0), time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("DefaultStart = %v, want %v", got, want)
	}
	// Ten million records at 10/s would outrun the wall clock from yesterday.
	if got := generator.DefaultStart(now, 10_000_000, 10, 0); !got.Before(now.Add(-2 * 10_000_000 / 10 * time.Second)) {
		t.Fatalf("DefaultStart for a long run = %v, not early enough", got)
	}
}

func TestBuiltInFXTableMatchesConfigFile(t *testing.T) {
	got, err := generator.LoadFX("../config/fx_rates.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got != generator.DefaultFX {
		t.Fatalf("config/fx_rates.yaml has %v, the generator's built-in table %v: update DefaultFX (amount bounds and scenarios are drawn with it)", got, generator.DefaultFX)
	}
}

func TestRunUntilStopsTheSimulatedClockAtTheEndOfTheSpan(t *testing.T) {
	cfg := testConfig(12)
	cfg.MalformedRate = 0
	g, err := generator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	until := testStart.Add(10 * time.Minute)
	var out bytes.Buffer
	stats := &generator.Stats{}
	if err := generator.Run(context.Background(), generator.RunOptions{Gen: g, Sink: generator.NewWriterSink(&out, nil, stats),
		Stats: stats, Until: until}); err != nil {
		t.Fatal(err)
	}
	var latest time.Time
	for _, line := range bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
		e := parse(t, line)
		if !e.Timestamp.Before(until) {
			t.Fatalf("record at %v, after the end of the span %v", e.Timestamp, until)
		}
		if e.Timestamp.After(latest) {
			latest = e.Timestamp
		}
	}
	if until.Sub(latest) > 10*time.Second {
		t.Fatalf("the last record is at %v, %v before the end of the span", latest, until.Sub(latest))
	}
}

func TestSpeedHoldsTheSimulatedClockToAMultipleOfTheWallClock(t *testing.T) {
	cfg := testConfig(13)
	g, err := generator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// 10 minutes of event time at 600 event seconds per wall second: a
	// second of wall time; unpaced, the same span takes a few milliseconds.
	var out bytes.Buffer
	stats := &generator.Stats{}
	start := time.Now()
	if err := generator.Run(context.Background(), generator.RunOptions{Gen: g, Sink: generator.NewWriterSink(&out, nil, stats),
		Stats: stats, Until: testStart.Add(10 * time.Minute), Speed: 600}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Fatalf("10 minutes of event time at speed 600 took %v, want about 1s", took)
	}
	if stats.Generated.Load() < 1000 {
		t.Fatalf("only %d records in 10 event minutes", stats.Generated.Load())
	}
}

func TestSpeedNeedsASimulatedClock(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	c := generator.Choices{Config: generator.DefaultConfig(), Rate: 10, PacedOutput: true, Speed: 160}
	if _, err := generator.NewPlan(c, now); err == nil || !strings.Contains(err.Error(), "--backfill") {
		t.Fatalf("live mode with a speed: err %v, want one naming --start, --seed or --backfill", err)
	}
	c.Backfill = 24 * time.Hour
	p, err := generator.NewPlan(c, now)
	if err != nil || p.Speed != 160 || p.Pace != generator.Max {
		t.Fatalf("backfill with speed 160: speed %v pace %v err %v; want speed 160 and no rate limit", p.Speed, p.Pace, err)
	}
}
