//go:build duckdb_arrow

package flight

import (
	"context"
	"errors"
	"fmt"
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

// limiter hands out the running and the long-running slots.
type limiter struct {
	run       chan struct{} // one token per running query
	long      chan struct{} // one token per query past longAfter
	queueWait time.Duration
	longAfter time.Duration
}

func newLimiter(o Options) *limiter {
	l := &limiter{queueWait: o.QueueWait, longAfter: o.LongQueryAfter}
	if o.MaxConcurrent > 0 {
		l.run = make(chan struct{}, o.MaxConcurrent)
	}
	if o.MaxLongQueries > 0 && o.LongQueryAfter > 0 {
		l.long = make(chan struct{}, o.MaxLongQueries)
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

// watchLong stops the query (cancel with a cause) when it is still running
// after longAfter and every long slot is taken: the long queries the server
// runs at once are bounded, so short ones keep their share of the cores. The
// returned stop ends the watch and gives back a slot it took.
func (l *limiter) watchLong(cancel context.CancelCauseFunc) (stop func()) {
	if l.long == nil {
		return func() {}
	}
	done := make(chan struct{})
	took := make(chan bool, 1)
	go func() {
		t := time.NewTimer(l.longAfter)
		defer t.Stop()
		select {
		case <-done:
			took <- false
			return
		case <-t.C:
		}
		select {
		case l.long <- struct{}{}:
			took <- true
		default:
			took <- false
			cancel(fmt.Errorf("%w: the query ran longer than %s while %d other long queries were running, the most this server allows (lakectl serve --max-long-queries, --long-query-after); retry later, make the query cheaper, or ask the operator to raise them",
				errLimit, l.longAfter, cap(l.long)))
		}
	}()
	return func() {
		close(done)
		if <-took {
			<-l.long
		}
	}
}
