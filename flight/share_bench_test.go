//go:build duckdb_arrow

package flight_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	adbcfs "github.com/apache/arrow-adbc/go/adbc/driver/flightsql"

	"github.com/finlake/finlake/flight"
)

// benchRows is the size of the lake the benchmarks query (FINLAKE_BENCH_ROWS).
func benchRows(b *testing.B) int {
	n := 1_000_000
	if v := os.Getenv("FINLAKE_BENCH_ROWS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	return n
}

// benchLake is a transactions table of n rows over 10,000 accounts with
// real-shaped ids, in commits of 100,000 rows, served with a reader and a
// share token.
func benchLake(b *testing.B, n int, mod func(*flight.Config)) (reader, sharer *client, r *flight.Running) {
	reader, sharer, r, _ = benchLakeAt(b, n, mod)
	return reader, sharer, r
}

func benchLakeAt(b *testing.B, n int, mod func(*flight.Config)) (reader, sharer *client, r *flight.Running, l *testLake) {
	l = newTestLake(b)
	l.createTx(b, "transactions")
	rng := rand.New(rand.NewPCG(1, 2))
	for done := 0; done < n; {
		rows := makeRows(fmt.Sprintf("c%d", done), min(100_000, n-done), day1)
		for i := range rows {
			rows[i].Account = fmt.Sprintf("AC%07d", rng.IntN(10_000)*997%10_000_000)
		}
		l.appendRows(b, "transactions", rows)
		done += len(rows)
	}
	r = startServer(b, l, func(c *flight.Config) {
		c.Auth = &flight.Auth{ReaderToken: readerToken, ShareToken: shareToken}
		c.AuditLog = "off"
		if mod != nil {
			mod(c)
		}
	})
	reader = dial(b, r.Addr(), map[string]string{adbcfs.OptionAuthorizationHeader: "Bearer " + readerToken})
	sharer = dial(b, r.Addr(), map[string]string{adbcfs.OptionAuthorizationHeader: "Bearer " + shareToken})
	return reader, sharer, r, l
}

// BenchmarkMaskedGroupBy times GROUP BY account_id over the lake, unmasked
// (reader token) and masked (share token), alternating so both see the same
// machine load; masked/unmasked is reported as the ratio.
//
//	go test -tags duckdb_arrow -run - -bench MaskedGroupBy -benchtime 20x ./flight/
func BenchmarkMaskedGroupBy(b *testing.B) {
	reader, sharer, _, l := benchLakeAt(b, benchRows(b), nil)
	// The same lake served without authentication, for the in-process
	// (no wire) figures: plan, DuckDB and the pseudonym join alone.
	local := startServer(b, l, func(c *flight.Config) { c.AuditLog = "off" })
	const q = "SELECT account_id, count(*) AS n, sum(amount) AS total FROM transactions GROUP BY account_id"
	groups := len(reader.mustQuery(q))
	if got := len(sharer.mustQuery(q)); got != groups { // also fills the pseudonym table once
		b.Fatalf("masked %d groups, unmasked %d", got, groups)
	}
	var plain, masked, plainIn, maskedIn []time.Duration
	for b.Loop() {
		t0 := time.Now()
		reader.mustQuery(q)
		t1 := time.Now()
		sharer.mustQuery(q)
		t2 := time.Now()
		if _, err := flight.RunInProcess(local, q, false); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		if _, err := flight.RunInProcess(local, q, true); err != nil {
			b.Fatal(err)
		}
		plain, masked = append(plain, t1.Sub(t0)), append(masked, t2.Sub(t1))
		plainIn, maskedIn = append(plainIn, t3.Sub(t2)), append(maskedIn, time.Since(t3))
	}
	pi, mi := median(plainIn), median(maskedIn)
	b.ReportMetric(float64(pi.Microseconds())/1000, "inproc_unmasked_ms")
	b.ReportMetric(float64(mi.Microseconds())/1000, "inproc_masked_ms")
	b.ReportMetric(float64(mi)/float64(pi), "inproc_masked/unmasked")
	p, m := median(plain), median(masked)
	b.ReportMetric(float64(p.Microseconds())/1000, "unmasked_ms")
	b.ReportMetric(float64(m.Microseconds())/1000, "masked_ms")
	b.ReportMetric(float64(m)/float64(p), "masked/unmasked")
	b.ReportMetric(float64(groups), "groups")
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkProbeUnderHostileLoad measures a probe query's latency from 16
// clients, first with the server idle, then while 4 clients run the
// hostile-resource corpus in a loop; the p95s and their ratio are reported.
//
//	go test -tags duckdb_arrow -run - -bench ProbeUnderHostileLoad -benchtime 1x ./flight/
func BenchmarkProbeUnderHostileLoad(b *testing.B) {
	reader, _, r := benchLake(b, 200_000, func(c *flight.Config) {
		c.QueryTimeout = 10 * time.Second
		c.MemoryLimit = "1GB"
		c.MaxSpill = "256MB"
		c.MaxResultBytes = 64 << 20
		c.MaxConcurrent = flight.DefaultMaxConcurrent
		c.MaxLongQueries = flight.DefaultMaxLong
		c.LongQueryAfter = flight.DefaultLongAfter
	})
	_ = reader
	const probe = "SELECT count(*) FROM transactions WHERE currency = 'EUR' AND amount > 100"
	hostile := []string{
		"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
		"SELECT count(*) FROM transactions a, transactions b",
		"SELECT count(*) FROM range(1000000000000)",
		"SELECT string_agg(repeat('x', 1000), ',') FROM range(100000000)",
	}
	// Probes that failed, by the flag their error names (--max-long-queries:
	// the long-query rule stopped a probe; --query-timeout or
	// --max-concurrent-queries: the machine, not the rule, was too slow).
	var failed int
	failedBy := map[string]int{}
	probes := func(d time.Duration) []time.Duration {
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		end := time.Now().Add(d)
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := dial(b, r.Addr(), map[string]string{adbcfs.OptionAuthorizationHeader: "Bearer " + readerToken})
				for time.Now().Before(end) {
					t0 := time.Now()
					_, _, err := c.query(probe)
					mu.Lock()
					if err != nil {
						failed++
						failedBy[limitFlag.FindString(err.Error())]++
					} else {
						lat = append(lat, time.Since(t0))
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return lat
	}
	for b.Loop() {
		probes(2 * time.Second) // warm
		failed = 0
		idle := probes(15 * time.Second)
		idleFailed := failed
		failed = 0
		clear(failedBy)
		stop := make(chan struct{})
		var hwg sync.WaitGroup
		var stopped, finished int
		var hmu sync.Mutex
		for i := 0; i < 4; i++ {
			hwg.Add(1)
			go func(i int) {
				defer hwg.Done()
				c := dial(b, r.Addr(), map[string]string{adbcfs.OptionAuthorizationHeader: "Bearer " + readerToken})
				for k := i; ; k++ {
					select {
					case <-stop:
						return
					default:
					}
					_, _, err := c.query(hostile[k%len(hostile)])
					hmu.Lock()
					if err != nil {
						stopped++
					} else {
						finished++
					}
					hmu.Unlock()
				}
			}(i)
		}
		time.Sleep(time.Second)
		loaded := probes(15 * time.Second)
		close(stop)
		hwg.Wait()
		pi, pl := percentile(idle, 0.95), percentile(loaded, 0.95)
		b.ReportMetric(float64(pi.Microseconds())/1000, "idle_p95_ms")
		b.ReportMetric(float64(pl.Microseconds())/1000, "hostile_p95_ms")
		b.ReportMetric(float64(pl)/float64(pi), "p95_ratio")
		b.ReportMetric(float64(len(idle)), "idle_probes")
		b.ReportMetric(float64(len(loaded)), "hostile_probes")
		b.ReportMetric(float64(idleFailed), "idle_probes_failed")
		b.ReportMetric(float64(failed), "hostile_probes_failed")
		b.ReportMetric(float64(failedBy["--max-long-queries"]), "hostile_probes_stopped_as_long")
		b.Logf("probes failed during the hostile corpus, by the flag named: %v", failedBy)
		b.ReportMetric(float64(stopped), "hostile_stopped")
		b.ReportMetric(float64(finished), "hostile_finished")
	}
}
