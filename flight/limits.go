//go:build duckdb_arrow

package flight

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Resource limits beyond the per-query timeout and result caps: how many
// queries run at once, and how many of them may run long. DuckDB has one
// memory limit for the whole database (--memory-limit, spilling up to
// --max-spill); a query's share of it is bounded by how many run beside it.

// errLimit marks a query stopped (or never started) by one of these limits.
var errLimit = errors.New("server limit")

// Defaults of the limits (lakectl serve's flags).
const (
	DefaultMaxConcurrent = 8
	DefaultQueueWait     = 10 * time.Second
	DefaultMaxLong       = 2
	DefaultLongAfter     = 2 * time.Second
)

// limiter hands out the running slots and keeps the long-running queries
// bounded.
//
// A query's age is its share of the server, not its wall time: while n
// queries run, each ages 1/n second per second. Wall time would call a cheap
// query long merely because expensive ones slowed it down, and then stop it
// (the probe of BenchmarkProbeUnderHostileLoad, 9 of 342 stopped before this
// rule). A query is long once its share passes longAfter; when more than
// maxLong queries are long, the one with the largest share is stopped: it is
// the one that has cost the others most, and a query that just crossed the
// line is usually the cheaper one.
type limiter struct {
	run       chan struct{} // one token per running query
	queueWait time.Duration
	longAfter time.Duration
	maxLong   int
	tick      time.Duration // how often shares are added up and the rule applied
	longGauge func(n int)   // long queries now (after the rule), for /metrics

	mu      sync.Mutex
	running map[*runningQuery]struct{}
	last    time.Time // when the shares were last added up
	ticking bool      // a goroutine applies the rule while queries run
}

// runningQuery is one admitted query the long-query rule watches.
type runningQuery struct {
	share   time.Duration
	cancel  context.CancelCauseFunc
	stopped bool
}

func newLimiter(o Options, longGauge func(int)) *limiter {
	l := &limiter{queueWait: o.QueueWait, longAfter: o.LongQueryAfter, longGauge: longGauge,
		running: map[*runningQuery]struct{}{}}
	if o.MaxConcurrent > 0 {
		l.run = make(chan struct{}, o.MaxConcurrent)
	}
	if o.MaxLongQueries > 0 && o.LongQueryAfter > 0 {
		l.maxLong = o.MaxLongQueries
		l.tick = min(100*time.Millisecond, max(time.Millisecond, o.LongQueryAfter/20))
	}
	if l.longGauge == nil {
		l.longGauge = func(int) {}
	}
	return l
}

// admit waits (at most queueWait) for a running slot; the returned release
// gives it back.
func (l *limiter) admit(ctx context.Context) (release func(), err error) {
	if l.run == nil {
		return func() {}, nil
	}
	select {
	case l.run <- struct{}{}:
		return func() { <-l.run }, nil
	default:
	}
	t := time.NewTimer(l.queueWait)
	defer t.Stop()
	select {
	case l.run <- struct{}{}:
		return func() { <-l.run }, nil
	case <-t.C:
		return nil, fmt.Errorf("%w: %d queries are running, the most this server runs at once (lakectl serve --max-concurrent-queries), and none ended within %s; retry later, or ask the operator to raise it",
			errLimit, cap(l.run), l.queueWait)
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// watchLong puts an admitted query under the long-query rule: cancel (with
// a cause naming the flags) stops it. The returned stop ends the watch.
func (l *limiter) watchLong(cancel context.CancelCauseFunc) (stop func()) {
	if l.maxLong == 0 {
		return func() {}
	}
	q := l.start(cancel, time.Now())
	l.mu.Lock()
	if !l.ticking {
		l.ticking = true
		go l.loop()
	}
	l.mu.Unlock()
	return func() { l.end(q, time.Now()) }
}

// start and end add and remove a query, adding up the shares first so that
// the time before the change is divided among the queries that ran in it.
func (l *limiter) start(cancel context.CancelCauseFunc, now time.Time) *runningQuery {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.accrue(now)
	q := &runningQuery{cancel: cancel}
	l.running[q] = struct{}{}
	return q
}

func (l *limiter) end(q *runningQuery, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.accrue(now)
	delete(l.running, q)
}

// loop applies the rule every tick while any query runs.
func (l *limiter) loop() {
	t := time.NewTicker(l.tick)
	defer t.Stop()
	for now := range t.C {
		if !l.apply(now) {
			return
		}
	}
}

// apply adds up the shares to now and stops the long queries with the
// largest shares beyond maxLong. It reports whether any query still runs
// (false also ends the ticking).
func (l *limiter) apply(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.accrue(now)
	var long []*runningQuery
	for q := range l.running {
		if !q.stopped && q.share >= l.longAfter {
			long = append(long, q)
		}
	}
	if len(long) > l.maxLong {
		sort.Slice(long, func(i, j int) bool { return long[i].share > long[j].share })
		for _, q := range long[:len(long)-l.maxLong] {
			q.stopped = true
			q.cancel(fmt.Errorf("%w: the query had the largest share of the server (%s) of %d queries past %s at once, more than this server allows (lakectl serve --max-long-queries, --long-query-after); retry later, make the query cheaper, or ask the operator to raise them",
				errLimit, q.share.Round(time.Millisecond), len(long), l.longAfter))
		}
		long = long[len(long)-l.maxLong:]
	}
	l.longGauge(len(long))
	if len(l.running) == 0 {
		l.ticking = false
		return false
	}
	return true
}

// accrue divides the time since the last call among the running queries
// that are not yet stopped (a stopped query is winding down and costs
// little).
func (l *limiter) accrue(now time.Time) {
	dt := now.Sub(l.last)
	l.last = now
	n := 0
	for q := range l.running {
		if !q.stopped {
			n++
		}
	}
	if n == 0 || dt <= 0 {
		return
	}
	for q := range l.running {
		if !q.stopped {
			q.share += dt / time.Duration(n)
		}
	}
}
