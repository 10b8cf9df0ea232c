package generator

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Config fixes everything a Generator emits.
type Config struct {
	Seed          uint64
	Start         time.Time // first instant of the simulated event clock (ignored when Live)
	Live          bool      // event time is the wall clock handed to NextLive
	Accounts      int
	Rate          float64 // nominal new transactions per second of event time (simulated clock)
	FraudRate     float64 // share of new transactions that start an injected fraud scenario
	MalformedRate float64 // share of records that are malformed
	Lifecycle     Lifecycle
	FX            FXTable
}

// DefaultConfig holds the documented defaults of lakectl generate.
func DefaultConfig() Config {
	return Config{
		Accounts:      10_000,
		Rate:          10,
		FraudRate:     0.002,
		MalformedRate: 0.0005,
		Lifecycle:     DefaultLifecycle,
		FX:            DefaultFX,
	}
}

// Validate reports the first setting that cannot work, phrased for a flag user.
func (c *Config) Validate() error {
	switch {
	case c.Accounts < 1:
		return errors.New("--accounts must be at least 1")
	case c.Rate <= 0 || math.IsInf(c.Rate, 0) || math.IsNaN(c.Rate):
		return errors.New("the simulated clock needs a positive rate")
	case c.FraudRate < 0 || c.FraudRate > 1:
		return errors.New("--fraud-rate must be between 0 and 1")
	case c.MalformedRate < 0 || c.MalformedRate > 1:
		return errors.New("--malformed-rate must be between 0 and 1")
	}
	for name, p := range map[string]float64{"--pending-prob": c.Lifecycle.PendingProb, "--fail-prob": c.Lifecycle.FailProb, "--reverse-prob": c.Lifecycle.ReverseProb} {
		if p < 0 || p > 1 {
			return fmt.Errorf("%s must be between 0 and 1", name)
		}
	}
	if c.Lifecycle.SettleDelay <= 0 || c.Lifecycle.ReverseDelay <= 0 {
		return errors.New("--settle-delay and --reverse-delay must be positive")
	}
	for i, v := range c.FX {
		if v <= 0 {
			return fmt.Errorf("FX rate of %s must be positive", Currency(i))
		}
	}
	return nil
}

// Record is one record of the output stream.
type Record struct {
	Key   []byte // account_id; shared between records, never modify
	Value []byte // the JSON line without newline (or the non-JSON payload)
	Kind  string // "" for a valid event, else the malformed kind
	Label *Label // ground truth when the record is an injected scenario's or a malformed one
	Time  int64  // event clock at emission, Unix ms
}

// Label is one line of the --labels file.
type Label struct {
	Label         string `json:"label"` // "scenario" or "malformed"
	Scenario      string `json:"scenario,omitempty"`
	ExpectedRule  string `json:"expected_rule,omitempty"`
	Kind          string `json:"kind,omitempty"`
	TransactionID string `json:"transaction_id"`
	Seq           int64  `json:"seq"`
}

// Generator produces the record stream. It is not safe for concurrent use.
type Generator struct {
	cfg       Config
	rng       *rand.Rand
	enc       encoder
	state     []accountState
	byCountry [numCountries][]int32
	act       *activity

	sched      schedule
	order      uint64
	simNextUS  int64 // next new transaction on the simulated clock, Unix µs
	now        int64 // event clock of the last record, Unix ms
	seq        int64
	finals     ring // final events, for duplicates
	failed     ring // failed transactions, for invalid transitions
	quietQueue int  // quiet-hour scenarios waiting for the night
}

// New builds the accounts and merchants of a run.
func New(cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	start := cfg.Start
	if cfg.Live || start.IsZero() {
		start = time.Now()
	}
	accts := newAccounts(rng, cfg.Accounts, start)
	g := &Generator{
		cfg:       cfg,
		rng:       rng,
		enc:       encoder{accounts: accts, merchants: newMerchantTable()},
		state:     make([]accountState, len(accts)),
		simNextUS: cfg.Start.UnixMicro(),
		now:       cfg.Start.UnixMilli(),
		finals:    newRing(512),
		failed:    newRing(256),
	}
	for i, a := range accts {
		g.byCountry[a.Home] = append(g.byCountry[a.Home], int32(i))
	}
	g.act = newActivity(&g.byCountry)
	return g, nil
}

// Accounts lists the run's accounts.
func (g *Generator) Accounts() []Account { return g.enc.accounts }

// Seq is the number of records emitted so far (the seq of the next one).
func (g *Generator) Seq() int64 { return g.seq }

// NextTime is the event time of the next regular record on the simulated clock.
func (g *Generator) NextTime() time.Time { return time.UnixMilli(g.nextSimMS()).UTC() }

// NextIsNew reports whether the next regular record on the simulated clock
// starts a new transaction (and so counts against a rate limit).
func (g *Generator) NextIsNew() bool {
	return len(g.sched) == 0 || g.sched[0].due > g.simNextUS/1000
}

func (g *Generator) nextSimMS() int64 {
	t := g.simNextUS / 1000
	if len(g.sched) > 0 && g.sched[0].due <= t {
		t = g.sched[0].due
	}
	return t
}

// Next emits the next record on the simulated clock, appending its value to dst.
func (g *Generator) Next(dst []byte) Record {
	t := g.nextSimMS()
	if t > g.now {
		g.now = t
	}
	if g.rng.Float64() < g.cfg.MalformedRate {
		return g.finish(g.malformed(dst, g.now))
	}
	if len(g.sched) > 0 && g.sched[0].due <= g.simNextUS/1000 {
		return g.finish(g.emitScheduled(dst, g.sched.pop()))
	}
	at := g.simNextUS / 1000
	g.advanceSim()
	return g.finish(g.emitNew(dst, at))
}

// advanceSim moves the simulated clock by an exponential gap at the nominal
// rate modulated by the time-of-day curve (a Poisson process).
func (g *Generator) advanceSim() {
	lambda := g.cfg.Rate * g.act.intensity[utcHour(g.simNextUS/1000)]
	gap := -math.Log(1-g.rng.Float64()) / lambda * 1e6
	if gap < 1 {
		gap = 1
	}
	g.simNextUS += int64(gap)
}

// NextLive emits, at wall time now, a due scheduled event if there is one,
// else a new transaction when allowNew; ok is false when there is nothing to emit.
func (g *Generator) NextLive(dst []byte, now time.Time, allowNew bool) (rec Record, ok bool) {
	ms := now.UnixMilli()
	if ms > g.now {
		g.now = ms
	}
	due := len(g.sched) > 0 && g.sched[0].due <= ms
	if !due && !allowNew {
		return Record{}, false
	}
	if g.rng.Float64() < g.cfg.MalformedRate {
		return g.finish(g.malformed(dst, g.now)), true
	}
	if due {
		return g.finish(g.emitScheduled(dst, g.sched.pop())), true
	}
	return g.finish(g.emitNew(dst, g.now)), true
}

// NextDue is the emission time of the earliest scheduled event, if any.
func (g *Generator) NextDue() (time.Time, bool) {
	if len(g.sched) == 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(g.sched[0].due), true
}

func (g *Generator) finish(r Record) Record {
	if r.Label != nil {
		r.Label.Seq = g.seq
	}
	r.Time = g.now
	g.seq++
	return r
}

// emitValid encodes a valid event, updates what the run knows of its account
// and schedules its next lifecycle step.
func (g *Generator) emitValid(dst []byte, ev *Event, first bool) Record {
	if first {
		st := &g.state[ev.Account]
		st.txCount++
		st.countries |= 1 << ev.Country
	}
	g.afterEmit(ev, g.now)
	return Record{Key: g.enc.accounts[ev.Account].key, Value: g.enc.appendEvent(dst, ev)}
}

func (g *Generator) emitScheduled(dst []byte, it item) Record {
	if it.kind == followUp {
		return g.emitValid(dst, &it.ev, false)
	}
	return g.emitScenarioTx(dst, it)
}

// emitNew starts a transaction at event time at: usually ordinary traffic,
// sometimes an injected fraud scenario.
func (g *Generator) emitNew(dst []byte, at int64) Record {
	if g.cfg.FraudRate > 0 && g.rng.Float64() < g.cfg.FraudRate {
		if r, ok := g.startScenario(dst, at); ok {
			return r
		}
	}
	ev := g.background(at)
	return g.emitValid(dst, &ev, true)
}

// abroadProb is the chance that an in-person transaction happens outside the home country.
const abroadProb = 0.03

// background draws an ordinary transaction of a customer active at this hour.
func (g *Generator) background(at int64) Event {
	rng := g.rng
	home := g.act.pickCountry(rng, at)
	accts := g.byCountry[home]
	acct := accts[rng.IntN(len(accts))]
	at64 := g.enc.accounts[acct].Type
	typ := TxType(pickWeighted(rng, txTypeShare[at64][:]))
	var cat Category
	switch typ {
	case Transfer:
		cat = Online
	default:
		cat = Category(pickWeighted(rng, categoryShare[:]))
	}
	country := home
	if (typ == Purchase || typ == Withdrawal) && cat != Online && cat != Utilities && rng.Float64() < abroadProb {
		country = Country((int(home) + 1 + rng.IntN(int(numCountries)-1)) % int(numCountries))
	}
	usd := drawAmountUSD(rng, typ, cat, at64)
	return g.makeEvent(at, acct, typ, cat, country, usd)
}

// makeEvent completes a transaction's first event: merchant, amount in the
// local currency, id and first status.
func (g *Generator) makeEvent(at int64, acct int32, typ TxType, cat Category, country Country, usd float64) Event {
	rng := g.rng
	m := g.enc.merchants
	var merchant int32
	switch typ {
	case Withdrawal:
		atms := m.atms[country]
		merchant = atms[rng.IntN(len(atms))]
	case Transfer:
		x := m.xfers[country]
		merchant = x[rng.IntN(len(x))]
	default:
		merchant = m.pick(rng, cat, country)
	}
	cat = m.all[merchant].Category
	cur := country.Currency()
	amount := toMinor(&g.cfg.FX, usd, cur, typ == Withdrawal)
	if typ == Refund {
		amount = -amount
	}
	return Event{
		TxID:     newTxID(rng),
		Time:     at,
		Account:  acct,
		Merchant: merchant,
		Amount:   amount,
		Currency: cur,
		Category: cat,
		Type:     typ,
		Country:  country,
		Status:   g.firstStatus(),
	}
}
