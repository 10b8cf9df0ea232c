package generator

import (
	"context"
	"sync"
	"time"
)

// Pacer spaces new transactions at a rate that may change while it runs
// (PUT /rate). A rate of 0 means as fast as possible.
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
		if p.rate <= 0 {
			p.mu.Unlock()
			return true, nil
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
