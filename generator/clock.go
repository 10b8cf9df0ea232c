package generator

import "time"

// DefaultStart is the first instant of the simulated clock when --start is
// not given: 00:00 UTC of the day before the one the run would have to start
// on to end by now. For ordinary runs that is simply yesterday's midnight, a
// deterministic instant (for the same UTC day) that keeps every valid record
// in the past; a very long --count or --duration moves it back further. The
// span estimate assumes at least one record per transaction and an activity
// trough at half the nominal rate.
func DefaultStart(now time.Time, count int64, rate float64, duration time.Duration) time.Time {
	span := duration
	if count > 0 && rate > 0 {
		if est := time.Duration(2 * float64(count) / rate * float64(time.Second)); est > span {
			span = est
		}
	}
	day := now.UTC().Add(-span).Truncate(24 * time.Hour)
	return day.AddDate(0, 0, -1)
}
