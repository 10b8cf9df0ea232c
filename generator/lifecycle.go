package generator

import (
	"math"
	"math/rand/v2"
	"time"
)

// Lifecycle sets how transactions move through pending → completed|failed →
// reversed. Delays are means of exponential distributions on the event clock.
type Lifecycle struct {
	PendingProb  float64       // first event is pending (else instant completed or failed)
	FailProb     float64       // a transaction ends failed rather than completed
	ReverseProb  float64       // a completed transaction is later reversed
	SettleDelay  time.Duration // mean time from pending to completed/failed
	ReverseDelay time.Duration // mean time from completed to reversed
}

// DefaultLifecycle: most card transactions authorise first and settle within
// seconds to minutes; a few fail; a few are charged back much later.
var DefaultLifecycle = Lifecycle{
	PendingProb:  0.85,
	FailProb:     0.04,
	ReverseProb:  0.02,
	SettleDelay:  20 * time.Second,
	ReverseDelay: 10 * time.Minute,
}

type itemKind uint8

const (
	followUp   itemKind = iota // a later lifecycle event of an emitted transaction
	scenarioTx                 // a scheduled first event of an injected scenario
)

// item is an event scheduled for a later instant of the event clock.
type item struct {
	due      int64 // ms on the event clock when it is emitted
	order    uint64
	ev       Event
	kind     itemKind
	scenario Scenario
	label    bool    // the labelled transaction of its scenario
	foreign  bool    // new_country: pick a country the account has not used yet, at emission
	usd      float64 // the USD amount to re-express in the chosen country's currency
}

// schedule is a min-heap of items by (due, order): order breaks ties so the
// emission order is deterministic.
type schedule []item

func (s schedule) less(i, j int) bool {
	if s[i].due != s[j].due {
		return s[i].due < s[j].due
	}
	return s[i].order < s[j].order
}

func (s *schedule) push(it item) {
	*s = append(*s, it)
	h := *s
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (s *schedule) pop() item {
	h := *s
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h.less(l, m) {
			m = l
		}
		if r < n && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*s = h
	return top
}

func expDelay(rng *rand.Rand, mean time.Duration) int64 {
	ms := -math.Log(1-rng.Float64()) * float64(mean.Milliseconds())
	// Settlement and chargebacks never happen within the same second.
	if ms < 1000 {
		ms = 1000
	}
	return int64(ms)
}

// firstStatus draws the status of a transaction's first event.
func (g *Generator) firstStatus() Status {
	lc := &g.cfg.Lifecycle
	if g.rng.Float64() < lc.PendingProb {
		return Pending
	}
	if g.rng.Float64() < lc.FailProb {
		return Failed
	}
	return Completed
}

// afterEmit schedules the next lifecycle event of a transaction whose event ev
// was just emitted at emission time at, or records it as final.
func (g *Generator) afterEmit(ev *Event, at int64) {
	lc := &g.cfg.Lifecycle
	next := *ev
	switch ev.Status {
	case Pending:
		next.Status = Completed
		if g.rng.Float64() < lc.FailProb {
			next.Status = Failed
		}
		g.scheduleItem(item{due: at + expDelay(g.rng, lc.SettleDelay), ev: next, kind: followUp})
		return
	case Completed:
		if g.rng.Float64() < lc.ReverseProb {
			next.Status = Reversed
			g.scheduleItem(item{due: at + expDelay(g.rng, lc.ReverseDelay), ev: next, kind: followUp})
			return
		}
	case Failed:
		g.failed.put(*ev)
	}
	g.finals.put(*ev)
}

func (g *Generator) scheduleItem(it item) {
	it.order = g.order
	g.order++
	g.sched.push(it)
}

// ring keeps the most recent events of some kind for the malformed injector.
type ring struct {
	buf  []Event
	next int
	n    int
}

func newRing(size int) ring { return ring{buf: make([]Event, size)} }

func (r *ring) put(ev Event) {
	r.buf[r.next] = ev
	r.next = (r.next + 1) % len(r.buf)
	if r.n < len(r.buf) {
		r.n++
	}
}

// take removes and returns a random element.
func (r *ring) take(rng *rand.Rand) (Event, bool) {
	if r.n == 0 {
		return Event{}, false
	}
	i := (r.next - 1 - rng.IntN(r.n) + 2*len(r.buf)) % len(r.buf)
	ev := r.buf[i]
	// Move the oldest element into the hole so the ring stays contiguous.
	oldest := (r.next - r.n + len(r.buf)) % len(r.buf)
	r.buf[i] = r.buf[oldest]
	r.n--
	return ev, true
}

func (r *ring) peek(rng *rand.Rand) (Event, bool) {
	if r.n == 0 {
		return Event{}, false
	}
	return r.buf[(r.next-1-rng.IntN(r.n)+2*len(r.buf))%len(r.buf)], true
}
