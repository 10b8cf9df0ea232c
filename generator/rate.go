package generator

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Paused and Max are the two rates that are not a pace: Paused (0) holds the
// run, producing nothing, until the rate changes; Max produces as fast as
// the sink takes records. Max has its own word (never 0) because a rate
// typed as 0 to stop a generator must not flood the broker instead.
const (
	Paused  = 0.0
	MaxWord = "max"
)

// Max is the rate "as fast as possible".
var Max = math.Inf(1)

// RateForms is the allowed-forms sentence every rate error ends with.
const RateForms = `a number of transactions per second > 0, 0 to pause, or "max" for as fast as possible`

// ParseRateText reads a rate as typed on the flag, set-rate or PUT /rate:
// a positive number, 0 (Paused) or "max" (Max).
func ParseRateText(s string) (float64, error) {
	t := strings.TrimSpace(s)
	if strings.EqualFold(t, MaxWord) {
		return Max, nil
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) || v > 1e9 {
		return 0, fmt.Errorf("rate %q: want %s", s, RateForms)
	}
	return v, nil
}

// FormatRate writes a rate the way ParseRateText reads it.
func FormatRate(r float64) string {
	if math.IsInf(r, 1) {
		return MaxWord
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// Pacer spaces new transactions at a rate that may change while it runs
// (PUT /rate): Paused holds, Max does not wait.
type Pacer struct {
	mu      sync.Mutex
	rate    float64
	next    time.Time
	changed chan struct{}
}

// maxBurst caps how far behind schedule the pacer may fall and then catch up
// at once, e.g. after the broker stalled generation.
const maxBurst = 100 * time.Millisecond

// NewPacer starts at rate per second.
func NewPacer(rate float64) *Pacer { return &Pacer{rate: rate, changed: make(chan struct{}, 1)} }

// Rate is the current rate.
func (p *Pacer) Rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rate
}

// SetRate changes the rate; a waiter re-plans at once.
func (p *Pacer) SetRate(r float64) {
	p.mu.Lock()
	p.rate = r
	p.next = time.Time{}
	p.mu.Unlock()
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// Wait blocks until the next transaction may start. It returns early with
// ready=false when wake (if not zero) comes first, so a caller can emit
// scheduled events that fall due between two transactions.
func (p *Pacer) Wait(ctx context.Context, wake time.Time) (ready bool, err error) {
	for {
		p.mu.Lock()
		if math.IsInf(p.rate, 1) {
			p.mu.Unlock()
			return true, nil
		}
		if p.rate <= Paused {
			// Held: not even due follow-ups leave, so a paused run sends nothing.
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return false, ctx.Err()
			case <-p.changed:
				continue
			}
		}
		now := time.Now()
		if p.next.IsZero() || p.next.Before(now.Add(-maxBurst)) {
			p.next = now
		}
		if !p.next.After(now) {
			p.next = p.next.Add(time.Duration(float64(time.Second) / p.rate))
			p.mu.Unlock()
			return true, nil
		}
		until := p.next
		p.mu.Unlock()
		early := !wake.IsZero() && wake.Before(until)
		if early {
			until = wake
		}
		d := time.Until(until)
		if d <= 0 {
			if early {
				return false, nil
			}
			continue
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, ctx.Err()
		case <-p.changed:
			t.Stop()
		case <-t.C:
			if early {
				return false, nil
			}
		}
	}
}
