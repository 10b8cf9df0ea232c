package generator

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"time"
)

// Modes of the event clock (see Plan).
const (
	ModeLive      = "live"
	ModeSimulated = "simulated"
	ModeBackfill  = "backfill"
)

// Choices are a run's clock and pacing settings as the user gave them;
// NewPlan turns them into a Config, a pace and an end.
type Choices struct {
	Config Config // the base: accounts, shares, lifecycle, FX (Rate, Seed, Start and Live are set by NewPlan)
	// Rate is new transactions per second, Paused or Max; RateSet says it was given explicitly.
	Rate    float64
	RateSet bool
	Seed    *uint64   // nil: a random seed
	Start   time.Time // zero: not given
	// Backfill simulates this span ending now; Duration stops after this
	// much event time (wall time in live mode); Count after this many records.
	Backfill, Duration time.Duration
	Count              int64
	// Speed paces a simulated or backfill run at this many event seconds per
	// wall second instead of by Rate (0: off).
	Speed float64
	// PacedOutput: the output is paced by default (Kafka); other outputs
	// (a file, stdout) only when RateSet, so a dump finishes at once.
	PacedOutput bool
}

// Plan is how a run generates: its mode, the generator's Config, the wall
// clock pace (Paused, Max or a rate) and the event time to stop before.
type Plan struct {
	Mode   string
	Config Config
	Pace   float64
	Speed  float64   // event seconds per wall second; 0: paced by Pace only
	Until  time.Time // zero: no limit
}

// NewPlan picks the clock mode: backfill (Backfill > 0), simulated (Start
// or Seed given) or live; and the pace: a backfill and an unpaced output
// run at Max, except that Paused always holds the run.
func NewPlan(c Choices, now time.Time) (Plan, error) {
	if c.Rate < 0 || c.Rate != c.Rate {
		return Plan{}, errors.New("rate: want " + RateForms)
	}
	if c.Speed < 0 || c.Speed != c.Speed {
		return Plan{}, errors.New("speed: want a positive number of event seconds per wall second")
	}
	if c.Count < 0 || c.Duration < 0 || c.Backfill < 0 {
		return Plan{}, errors.New("count, duration and backfill cannot be negative")
	}
	cfg := c.Config
	// Paused and Max are paces, not a density: the event clock keeps its default.
	if c.Rate > 0 && c.Rate != Max {
		cfg.Rate = c.Rate
	}
	if c.Seed != nil {
		cfg.Seed = *c.Seed
	} else {
		var b [8]byte
		_, _ = rand.Read(b[:])
		cfg.Seed = binary.LittleEndian.Uint64(b[:])
	}
	p := Plan{Mode: ModeSimulated}
	switch {
	case c.Backfill > 0:
		p.Mode = ModeBackfill
		cfg.Start = now.Add(-c.Backfill).Truncate(time.Millisecond)
		if !c.Start.IsZero() {
			cfg.Start = c.Start
		}
	case !c.Start.IsZero():
		cfg.Start = c.Start
	case c.Seed != nil:
		cfg.Start = DefaultStart(now, c.Count, cfg.Rate, c.Duration)
	default:
		p.Mode = ModeLive
		cfg.Live = true
	}
	p.Config = cfg

	if c.Speed > 0 && p.Mode == ModeLive {
		return Plan{}, errors.New("speed: the live clock runs at the wall clock's speed; give --start, --seed or --backfill for a simulated clock")
	}
	p.Speed = c.Speed
	p.Pace = Max
	switch {
	case c.Rate == Paused:
		p.Pace = Paused
	case c.Speed > 0:
		// The event clock is the pace: Max leaves the rate limiter out of it.
	case p.Mode != ModeBackfill && (c.PacedOutput || c.RateSet):
		p.Pace = c.Rate
	}

	if p.Mode == ModeLive {
		if c.Duration > 0 {
			p.Until = now.Add(c.Duration)
		}
	} else {
		if c.Backfill > 0 {
			p.Until = cfg.Start.Add(c.Backfill)
		}
		if c.Duration > 0 && (p.Until.IsZero() || cfg.Start.Add(c.Duration).Before(p.Until)) {
			p.Until = cfg.Start.Add(c.Duration)
		}
	}
	return p, nil
}
