package client

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

var relativeRE = regexp.MustCompile(`^-\s*([0-9]+)\s*(ms|s|m|h|d|w)$`)

// ResolveAsOf turns a --as-of value into what the server accepts: an RFC 3339
// timestamp (UTC) or a snapshot id. Relative values (-15m, -2h, -1d, -1w, or
// any Go duration with a leading minus such as -1h30m) count back from now,
// so the same instant pins every table of the query.
func ResolveAsOf(s string, now time.Time) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return s, nil // a snapshot id
	}
	if m := relativeRE.FindStringSubmatch(s); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		unit := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour,
			"d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
		return now.Add(-time.Duration(n) * unit).UTC().Format(time.RFC3339Nano), nil
	}
	if strings.HasPrefix(s, "-") {
		if d, err := time.ParseDuration(s[1:]); err == nil && d > 0 {
			return now.Add(-d).UTC().Format(time.RFC3339Nano), nil
		}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339Nano), nil
		}
	}
	// Zone-less values are read as UTC, the lake's zone, and said so in help.
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC().Format(time.RFC3339Nano), nil
		}
	}
	return "", fmt.Errorf("--as-of %q: want an RFC 3339 time (2026-11-26T01:00:00Z), a date (2026-11-26, UTC), a relative time (-15m, -2h, -1d) or a snapshot id", s)
}

// snapshotMetadataPrefix mirrors lakeview.SnapshotMetadataPrefix: the result
// schema's metadata keys naming the snapshot that answered for each table.
const snapshotMetadataPrefix = "finlake.snapshot."

// AnsweredBy gives, per table the query read, the snapshot that answered it
// as the server named it ("<snapshot id>@<committed at>", comma-separated
// when the table was read at several points). Time travel answers from the
// newest kept snapshot at or before the instant asked for, which after
// retention may be well before it: this says which one it was.
func (r *Rows) AnsweredBy() map[string]string {
	out := map[string]string{}
	md := r.Schema().Metadata()
	for i, k := range md.Keys() {
		if t, ok := strings.CutPrefix(k, snapshotMetadataPrefix); ok {
			out[t] = md.Values()[i]
		}
	}
	return out
}

// AnsweredByText renders AnsweredBy as one line per table, sorted, e.g.
// "as of 2026-12-02T05:30:00Z: lake.transactions answered from snapshot 123 committed 2026-12-02T04:59:55Z".
func AnsweredByText(asOf string, answered map[string]string) string {
	names := make([]string, 0, len(answered))
	for n := range answered {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		var parts []string
		for _, v := range strings.Split(answered[n], ",") {
			if id, at, ok := strings.Cut(v, "@"); ok {
				parts = append(parts, "snapshot "+id+" committed "+at)
			} else {
				parts = append(parts, "no snapshot")
			}
		}
		fmt.Fprintf(&b, "as of %s: %s answered from %s\n", asOf, n, strings.Join(parts, ", "))
	}
	return b.String()
}
