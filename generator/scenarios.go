package generator

import "math/rand/v2"

// Scenario is a kind of injected fraud, each aimed at one default rule of
// config/rules.yaml.
type Scenario uint8

const (
	HighValue Scenario = iota
	VelocityBurst
	NewCountry
	QuietHours
	numScenarios
)

var scenarioNames = [numScenarios]string{"high_value", "velocity_burst", "new_country", "quiet_hours"}

// scenarioRules is the default rule each scenario must trigger.
var scenarioRules = [numScenarios]string{"high_value", "rapid_activity", "unusual_location", "quiet_hours"}

func (s Scenario) String() string { return scenarioNames[s] }

// Rule is the name of the default rule the scenario triggers.
func (s Scenario) Rule() string { return scenarioRules[s] }

// ScenarioNames lists every scenario kind.
func ScenarioNames() []string { return append([]string(nil), scenarioNames[:]...) }

const (
	// High-value amounts sit well above the 10,000 USD threshold so the rule
	// still fires if the FX table moves by tens of percent.
	highValueMinUSD = 15_000
	highValueMaxUSD = 45_000
	// A burst of 6 to 8 transactions at most 5 s apart spans at most 35 s:
	// at least 5 of them fall inside any 1 minute velocity window.
	burstMin, burstMax = 6, 8
	burstMaxGapMS      = 5_000
	// New-country history: 3 home-country transactions 20 s apart, the foreign
	// one 25 s after the last; 4 in 65 s cannot trip the 5-in-1m velocity rule.
	historyNeeded   = 3
	historyGapMS    = 20_000
	foreignAfterMS  = 25_000
	maxQuietWaiting = 1_000
	quietStartMS    = 1 * 3_600_000
	quietEndMS      = 5 * 3_600_000
	dayMS           = 24 * 3_600_000
)

// startScenario injects a fraud scenario beginning at event time at. It emits
// the scenario's first record now and schedules the rest; ok is false when the
// scenario could only be scheduled, leaving the caller to emit ordinary traffic.
func (g *Generator) startScenario(dst []byte, at int64) (Record, bool) {
	rng := g.rng
	kind := Scenario(rng.IntN(int(numScenarios)))
	acct := int32(rng.IntN(len(g.enc.accounts)))
	a := &g.enc.accounts[acct]
	switch kind {
	case HighValue:
		typ, cat := Purchase, Travel
		switch rng.IntN(3) {
		case 1:
			cat = Retail
		case 2:
			typ, cat = Transfer, Online
		}
		usd := highValueMinUSD + rng.Float64()*(highValueMaxUSD-highValueMinUSD)
		ev := g.makeEvent(at, acct, typ, cat, a.Home, usd)
		return g.labelled(g.emitValid(dst, &ev, true), kind, &ev), true

	case VelocityBurst:
		// Card testing: a run of small online purchases in quick succession.
		n := burstMin + rng.IntN(burstMax-burstMin+1)
		t := at
		var first Event
		for i := 0; i < n; i++ {
			ev := g.makeEvent(t, acct, Purchase, Online, a.Home, burstAmountUSD(rng))
			if i == 0 {
				first = ev
			} else {
				g.scheduleItem(item{due: t, ev: ev, kind: scenarioTx, scenario: kind, label: i == n-1})
			}
			t += 1_000 + rng.Int64N(burstMaxGapMS-1_000+1)
		}
		return g.emitValid(dst, &first, true), true

	case NewCountry:
		need := historyNeeded - int(g.state[acct].txCount)
		foreign := item{kind: scenarioTx, scenario: kind, label: true, foreign: true,
			usd: drawAmountUSD(rng, Purchase, Travel, a.Type), ev: Event{Account: acct}}
		if need <= 0 {
			foreign.due = at
			return g.emitScenarioTx(dst, foreign), true
		}
		t := at
		var first Event
		for i := 0; i < need; i++ {
			cat := Category(pickWeighted(rng, categoryShare[:]))
			ev := g.makeEvent(t, acct, Purchase, cat, a.Home, drawAmountUSD(rng, Purchase, cat, a.Type))
			if i == 0 {
				first = ev
			} else {
				g.scheduleItem(item{due: t, ev: ev, kind: scenarioTx, scenario: kind})
			}
			t += historyGapMS
		}
		foreign.due = t - historyGapMS + foreignAfterMS
		g.scheduleItem(foreign)
		return g.emitValid(dst, &first, true), true

	default: // QuietHours
		cat := Category(pickWeighted(rng, categoryShare[:]))
		usd := drawAmountUSD(rng, Purchase, cat, a.Type)
		tod := at % dayMS
		if tod >= quietStartMS && tod < quietEndMS {
			ev := g.makeEvent(at, acct, Purchase, cat, a.Home, usd)
			return g.labelled(g.emitValid(dst, &ev, true), kind, &ev), true
		}
		// Outside the quiet hours the scenario waits for the next night rather
		// than back-dating an event behind the watermark.
		if g.quietQueue >= maxQuietWaiting {
			return Record{}, false
		}
		night := at - tod + quietStartMS
		if tod >= quietEndMS {
			night += dayMS
		}
		due := night + rng.Int64N(quietEndMS-quietStartMS-60_000)
		ev := g.makeEvent(due, acct, Purchase, cat, a.Home, usd)
		g.scheduleItem(item{due: due, ev: ev, kind: scenarioTx, scenario: kind, label: true})
		g.quietQueue++
		return Record{}, false
	}
}

func burstAmountUSD(rng *rand.Rand) float64 {
	return MinAmountUSD + logNormal{12, 0.8}.draw(rng)
}

// emitScenarioTx emits a scheduled scenario transaction. The new-country one
// chooses, at this moment, a country the account has not used in this run.
func (g *Generator) emitScenarioTx(dst []byte, it item) Record {
	if it.scenario == QuietHours {
		g.quietQueue--
	}
	ev := it.ev
	label := it.label
	if it.foreign {
		ev = g.foreignEvent(it, it.ev.Account)
		st := g.state[ev.Account]
		if st.txCount < historyNeeded || st.countries&(1<<ev.Country) != 0 {
			label = false
		}
	}
	r := g.emitValid(dst, &ev, true)
	if label {
		return g.labelled(r, it.scenario, &ev)
	}
	return r
}

// foreignEvent builds the new-country transaction in a country the account has
// not used in this run (falling back to home when it has used them all).
func (g *Generator) foreignEvent(it item, acct int32) Event {
	used := g.state[acct].countries | 1<<g.enc.accounts[acct].Home
	var options [numCountries]Country
	n := 0
	for c := Country(0); c < numCountries; c++ {
		if used&(1<<c) == 0 {
			options[n] = c
			n++
		}
	}
	country := g.enc.accounts[acct].Home
	if n > 0 {
		country = options[g.rng.IntN(n)]
	}
	return g.makeEvent(it.due, acct, Purchase, Travel, country, it.usd)
}

func (g *Generator) labelled(r Record, s Scenario, ev *Event) Record {
	r.Label = &Label{Label: "scenario", Scenario: s.String(), ExpectedRule: s.Rule(), TransactionID: UUIDString(ev.TxID)}
	return r
}
