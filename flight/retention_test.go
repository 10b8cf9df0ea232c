//go:build duckdb_arrow

package flight_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-adbc/go/adbc"
	"github.com/apache/iceberg-go/table"

	"github.com/finlake/finlake/ingest"
	"github.com/finlake/finlake/lake"
)

// Time travel after retention thinned a table's history, on a real table
// expired by the maintenance code the service runs.

// fourCommits appends 10, 5, 5 and 5 rows ~40 ms apart and returns the four
// snapshots, oldest first.
func fourCommits(t *testing.T, l *testLake) []*table.Snapshot {
	t.Helper()
	l.createTx(t, "transactions")
	var snaps []*table.Snapshot
	for i, n := range []int{10, 5, 5, 5} {
		if i > 0 {
			time.Sleep(40 * time.Millisecond)
		}
		snaps = append(snaps, l.appendRows(t, "transactions", makeRows(fmt.Sprintf("c%d-", i), n, day1)).CurrentSnapshot())
	}
	return snaps
}

// expireAt runs the retention step of maintenance as of now.
func expireAt(t *testing.T, l *testLake, now time.Time, p lake.RetentionPolicy) ingest.MaintainReport {
	t.Helper()
	opts := ingest.DefaultMaintainOptions()
	opts.SkipCompact, opts.SkipOrphans = true, true
	opts.Retention, opts.Now = p, func() time.Time { return now }
	rep, err := ingest.Maintain(context.Background(), l.cat, "transactions", opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// splitInterval finds an interval whose buckets put s[0] alone, s[1] and
// s[2] together, and s[3] after them: then retention keeps s[0] and s[2] as
// interval snapshots and expires s[1].
func splitInterval(t *testing.T, s []*table.Snapshot) time.Duration {
	t.Helper()
	for d := int64(2); d < 1000; d++ {
		b := func(i int) int64 { return s[i].TimestampMs / d }
		if b(0) < b(1) && b(1) == b(2) && b(2) < b(3) {
			return time.Duration(d) * time.Millisecond
		}
	}
	t.Fatalf("no interval splits the commits as needed: %v", s)
	return 0
}

func ms(s *table.Snapshot) time.Time { return time.UnixMilli(s.TimestampMs) }

func TestTimeTravelToAnExpiredInstantAnswersFromTheKeptSnapshotAndSaysWhich(t *testing.T) {
	l := newTestLake(t)
	s := fourCommits(t, l)
	now := ms(s[3])
	rep := expireAt(t, l, now, lake.RetentionPolicy{KeepAll: 0, KeepEvery: splitInterval(t, s), Retain: now.Sub(ms(s[0])), MinKeep: 1})
	if rep.SnapshotsExpired != 1 || rep.SnapshotsKept != 3 {
		t.Fatalf("setup: want only the second snapshot expired, report %+v", rep)
	}
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)

	// The second commit's instant: its snapshot is gone, the first answers.
	at := ms(s[1]).UTC().Format("2006-01-02 15:04:05.000") + "+00"
	rows, sc, err := c.query(fmt.Sprintf("SELECT count(*) FROM transactions FOR TIMESTAMP AS OF TIMESTAMP '%s'", at))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d@%s", s[0].SnapshotID, lake.FormatMs(s[0].TimestampMs))
	if got, _ := sc.Metadata().GetValue("finlake.snapshot.transactions"); rows[0][0] != "10" || got != want {
		t.Fatalf("as of %s: got %s rows answered by %q; want 10 rows answered by %q", at, rows[0][0], got, want)
	}
	// The x-finlake-as-of header follows the same rule.
	header := dial(t, r.Addr(), map[string]string{"adbc.flight.sql.rpc.call_header.x-finlake-as-of": ms(s[1]).UTC().Format(time.RFC3339Nano)})
	rows, sc, err = header.query("SELECT count(*) FROM transactions")
	if got, _ := sc.Metadata().GetValue("finlake.snapshot.transactions"); err != nil || rows[0][0] != "10" || got != want {
		t.Fatalf("header as of the expired instant: %v rows %v answered by %q; want 10 by %q", err, rows, got, want)
	}
	// The expired snapshot's id is NotFound, naming the oldest kept instant.
	_, _, err = c.query(fmt.Sprintf("SELECT count(*) FROM transactions FOR VERSION AS OF %d", s[1].SnapshotID))
	if adbcStatus(err) != adbc.StatusNotFound || !strings.Contains(err.Error(), lake.FormatMs(s[0].TimestampMs)) {
		t.Fatalf("expired snapshot id: want NotFound naming %s, got %v", lake.FormatMs(s[0].TimestampMs), err)
	}
}

func TestTimeTravelBeforeTheOldestKeptSnapshotIsNotFoundNamingIt(t *testing.T) {
	l := newTestLake(t)
	s := fourCommits(t, l)
	now := ms(s[3])
	// Keep the last two in full, nothing older.
	expireAt(t, l, now, lake.RetentionPolicy{KeepAll: now.Sub(ms(s[2])), KeepEvery: time.Hour, Retain: now.Sub(ms(s[2])), MinKeep: 1})
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)

	oldest := lake.FormatMs(s[2].TimestampMs)
	at := ms(s[1]).UTC().Format("2006-01-02 15:04:05.000") + "+00"
	_, _, err := c.query(fmt.Sprintf("SELECT count(*) FROM transactions FOR TIMESTAMP AS OF TIMESTAMP '%s'", at))
	if adbcStatus(err) != adbc.StatusNotFound || !strings.Contains(err.Error(), "the oldest kept is snapshot "+fmt.Sprint(s[2].SnapshotID)+" from "+oldest) {
		t.Fatalf("as of an instant before the oldest kept snapshot: want NotFound naming %s, got %v", oldest, err)
	}
	if got := c.one(fmt.Sprintf("SELECT count(*) FROM transactions FOR TIMESTAMP AS OF TIMESTAMP '%s'", ms(s[2]).UTC().Format("2006-01-02 15:04:05.000")+"+00")); got != "20" {
		t.Fatalf("as of the oldest kept instant: got %s rows, want 20", got)
	}
}
