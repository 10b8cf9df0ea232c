//go:build duckdb_arrow

package flight

import (
	"context"
	"errors"
	"testing"
	"time"
)

// stoppable is a query under the long-query rule whose stop is recorded.
type stoppable struct {
	q   *runningQuery
	why error
}

func (s *stoppable) cancel(err error) { s.why = err }

// The rule is driven by an explicit clock: which query it stops follows from
// the shares alone, whatever the machine's load.
func TestALongQueryIsStoppedRatherThanACheapOneItSlowedPastLongQueryAfter(t *testing.T) {
	l := newLimiter(Options{MaxLongQueries: 1, LongQueryAfter: time.Second}, nil)
	t0 := time.Unix(0, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	l.last = t0
	start := func(now time.Time) *stoppable {
		s := &stoppable{}
		s.q = l.start(s.cancel, now)
		return s
	}

	hostile := start(at(0))
	l.apply(at(1500 * time.Millisecond)) // alone: 1.5 s of share, long, the one slot
	cheap := start(at(1500 * time.Millisecond))
	// 1.6 s of wall time beside the hostile query: 0.8 s of share, not long.
	l.apply(at(3100 * time.Millisecond))
	l.end(cheap.q, at(3100*time.Millisecond))
	if cheap.why != nil || hostile.why != nil {
		t.Fatalf("one long query and one cheap query it slowed: nothing may be stopped (cheap: %v, hostile: %v)", cheap.why, hostile.why)
	}

	second := start(at(3100 * time.Millisecond))
	l.apply(at(5300 * time.Millisecond)) // 1.1 s each: the second is long too
	if second.why != nil || !errors.Is(hostile.why, errLimit) {
		t.Fatalf("two long queries, one allowed: the one with the larger share must be stopped (first: %v, second: %v)", hostile.why, second.why)
	}
}

func TestAQueryAloneAgesAtWallTimeAndBesideOthersAtItsShare(t *testing.T) {
	l := newLimiter(Options{MaxLongQueries: 1, LongQueryAfter: time.Hour}, nil)
	t0 := time.Unix(0, 0)
	l.last = t0
	_, cancel := context.WithCancelCause(context.Background())
	a := l.start(cancel, t0)
	b := l.start(cancel, t0.Add(time.Second))
	l.apply(t0.Add(3 * time.Second))
	if a.share != 2*time.Second || b.share != time.Second {
		t.Fatalf("a alone 1 s then beside b 2 s: want shares 2s and 1s, got %s and %s", a.share, b.share)
	}
}
