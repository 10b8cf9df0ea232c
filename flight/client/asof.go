package client

import (
	"fmt"
	"regexp"
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
