//go:build duckdb_arrow

package flight_test

import (
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/finlake/finlake/flight"
)

// limitFlag is how every limit error tells the client which limit stopped it
// and how to raise it.
var limitFlag = regexp.MustCompile(`--(query-timeout|memory-limit|max-spill|max-result-bytes|max-result-rows|max-long-queries|max-concurrent-queries)`)

func hostileServer(t *testing.T, mod func(*flight.Config)) *client {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	l.appendRows(t, "transactions", makeRows("a", 300, day1))
	r := startServer(t, l, func(c *flight.Config) {
		c.QueryTimeout = time.Second
		c.MemoryLimit = "256MB"
		c.MaxSpill = "64MB"
		c.MaxResultBytes = 32 << 20
		c.MaxConcurrent = 4
		if mod != nil {
			mod(c)
		}
	})
	return dial(t, r.Addr(), nil)
}

func TestHostileResourceQueriesAreStoppedWithinTheirBoundSayingWhichLimit(t *testing.T) {
	c := hostileServer(t, nil)
	corpus := []string{
		"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
		"SELECT count(*) FROM transactions a, transactions b, transactions c, transactions d",
		"SELECT count(*) FROM range(1000000000000)",
		"SELECT * FROM range(1000000000000)",
		"SELECT string_agg(repeat('x', 1000), ',') FROM range(100000000)",
		"SELECT list(range) FROM range(1000000000)",
		"SELECT a.range, b.range FROM range(100000) a, range(100000) b ORDER BY a.range + b.range DESC",
	}
	for _, sql := range corpus {
		start := time.Now()
		_, _, err := c.query(sql)
		took := time.Since(start)
		switch {
		case err == nil:
			t.Errorf("%q ran to its end", sql)
		case !limitFlag.MatchString(err.Error()):
			t.Errorf("%q: the error names no limit flag: %v", sql, err)
		case took > time.Second+15*time.Second:
			t.Errorf("%q was stopped only after %s (timeout 1s)", sql, took)
		}
		t.Logf("%s after %s: %.160v", sql, took.Round(time.Millisecond), err)
		if got := c.one("SELECT 42"); got != "42" {
			t.Fatalf("after %q the server answers %s", sql, got)
		}
	}
}

func TestOnlyMaxLongQueriesRunPastLongQueryAfter(t *testing.T) {
	c := hostileServer(t, func(c *flight.Config) {
		c.MaxLongQueries = 1
		c.LongQueryAfter = 300 * time.Millisecond
		c.QueryTimeout = 2 * time.Second
	})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = c.query("SELECT count(*) FROM range(1000000000000)")
		}()
	}
	wg.Wait()
	longStops := 0
	for _, err := range errs {
		if err != nil && regexp.MustCompile(`--max-long-queries`).MatchString(err.Error()) {
			longStops++
		}
	}
	if longStops != 1 {
		t.Fatalf("want exactly one of two long queries stopped by --max-long-queries: %v", errs)
	}
}
