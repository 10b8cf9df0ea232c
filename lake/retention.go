package lake

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/apache/iceberg-go/table"
)

// RetentionPolicy says which snapshots of a table survive maintenance:
// every snapshot younger than KeepAll, then, up to Retain, the newest
// snapshot of each KeepEvery interval (pinned by an Iceberg tag whose max
// ref age is Retain, so any Iceberg engine's expiry honours it too), and
// nothing older, except the current snapshot and the chain down to the
// newest offset-carrying one (the exactly-once resume point).
type RetentionPolicy struct {
	KeepAll   time.Duration // every main snapshot younger than this is kept
	KeepEvery time.Duration // beyond KeepAll, one snapshot per interval is kept
	Retain    time.Duration // nothing older is kept (but the resume point)
	MinKeep   int           // at least this many of main's newest snapshots are kept, whatever their age
}

// DefaultRetentionPolicy keeps an hour in full and hourly points for a week:
// about 720 + 168 snapshots per table at a commit every 5 s.
func DefaultRetentionPolicy() RetentionPolicy {
	return RetentionPolicy{KeepAll: time.Hour, KeepEvery: time.Hour, Retain: 7 * 24 * time.Hour, MinKeep: 1}
}

// Validate says what is wrong with p, in the flags' words.
func (p RetentionPolicy) Validate() error {
	switch {
	case p.KeepAll < 0:
		return errors.New("--snapshot-keep-all must not be negative")
	case p.KeepEvery <= 0:
		return errors.New("--snapshot-keep-every must be positive")
	case p.Retain < 0:
		return errors.New("--retain must not be negative (0 keeps only the current snapshot and the resume point)")
	case p.KeepAll > p.Retain:
		return fmt.Errorf("--snapshot-keep-all (%s) must not exceed --retain (%s): nothing older than --retain is kept", p.KeepAll, p.Retain)
	case p.MinKeep < 1:
		return errors.New("--retain-last must be at least 1")
	}
	return nil
}

// KeepTagName names the tag that pins the kept snapshot of the interval
// starting at start: hourly-2026-12-02T05, daily-2026-12-02, or
// keep-2026-12-02T05:30:00Z for other intervals. Names parse back with
// IsKeepTag, which is how maintenance tells its tags from anyone else's.
func KeepTagName(every time.Duration, start time.Time) string {
	start = start.UTC()
	switch every {
	case time.Hour:
		return "hourly-" + start.Format("2006-01-02T15")
	case 24 * time.Hour:
		return "daily-" + start.Format("2006-01-02")
	}
	return "keep-" + start.Format(time.RFC3339Nano)
}

// IsKeepTag reports whether name is a tag KeepTagName makes (for any interval).
func IsKeepTag(name string) bool {
	for prefix, layout := range map[string]string{"hourly-": "2006-01-02T15", "daily-": "2006-01-02", "keep-": time.RFC3339Nano} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			if _, err := time.Parse(layout, rest); err == nil {
				return true
			}
		}
	}
	return false
}

// RetentionPlan is what one maintenance pass changes.
type RetentionPlan struct {
	Keep       map[int64]bool   // snapshot ids that stay
	Expire     []int64          // snapshot ids to remove, oldest first
	SetTags    map[string]int64 // keep tags to create or move
	RemoveTags []string         // keep tags no longer wanted
	TagMaxAge  time.Duration    // max-ref-age of the keep tags
}

// PlanRetention applies p to meta as of now. Main's history is walked
// through parent links; snapshots of other branches and of tags that are
// not keep tags are left alone, as are unreferenced snapshots younger than
// KeepAll (a commit may be in flight).
func PlanRetention(meta table.Metadata, now time.Time, p RetentionPolicy) RetentionPlan {
	plan := RetentionPlan{Keep: map[int64]bool{}, SetTags: map[string]int64{}, TagMaxAge: p.Retain}
	age := func(s *table.Snapshot) time.Duration { return now.Sub(time.UnixMilli(s.TimestampMs)) }
	main := MainHistory(meta)
	hist := TimeTravelCandidates(meta) // main plus the interval snapshots of earlier passes

	// The head, the resume point and everything between them, and the
	// newest MinKeep, whatever their age.
	resume := 0
	for i, s := range main {
		if carriesOffsets(s) {
			resume = i
			break
		}
	}
	for i, s := range main {
		if i <= resume || i < p.MinKeep || age(s) <= p.KeepAll {
			plan.Keep[s.SnapshotID] = true
		}
	}
	// One per interval: the newest snapshot beyond KeepAll in each bucket.
	for _, s := range hist {
		a := age(s)
		if a <= p.KeepAll || a > p.Retain {
			continue
		}
		// Intervals are aligned to the Unix epoch, so hours and days are UTC's.
		every := max(p.KeepEvery.Milliseconds(), 1)
		start := time.UnixMilli(s.TimestampMs - s.TimestampMs%every)
		name := KeepTagName(p.KeepEvery, start)
		if _, ok := plan.SetTags[name]; !ok { // hist is newest first
			plan.SetTags[name] = s.SnapshotID
			plan.Keep[s.SnapshotID] = true
		}
	}
	// Other refs: their snapshots (and a branch's ancestry) are not ours to drop.
	for name, ref := range meta.Refs() {
		if name == table.MainBranch {
			continue
		}
		if ref.SnapshotRefType == table.TagRef && IsKeepTag(name) {
			if id, ok := plan.SetTags[name]; !ok {
				plan.RemoveTags = append(plan.RemoveTags, name)
			} else if id == ref.SnapshotID && ref.MaxRefAgeMs != nil && *ref.MaxRefAgeMs == p.Retain.Milliseconds() {
				delete(plan.SetTags, name) // already in place
			}
			continue
		}
		plan.Keep[ref.SnapshotID] = true
		if ref.SnapshotRefType == table.BranchRef {
			for _, s := range history(meta, ref.SnapshotID) {
				plan.Keep[s.SnapshotID] = true
			}
		}
	}
	onMain := make(map[int64]bool, len(hist))
	for _, s := range hist {
		onMain[s.SnapshotID] = true
	}
	snaps := meta.Snapshots()
	sort.SliceStable(snaps, func(i, j int) bool { return snaps[i].TimestampMs < snaps[j].TimestampMs })
	for _, s := range snaps {
		if !onMain[s.SnapshotID] && age(&s) <= p.KeepAll {
			plan.Keep[s.SnapshotID] = true
		}
		if !plan.Keep[s.SnapshotID] {
			plan.Expire = append(plan.Expire, s.SnapshotID)
		}
	}
	sort.Strings(plan.RemoveTags)
	return plan
}

func carriesOffsets(s *table.Snapshot) bool {
	if s.Summary == nil {
		return false
	}
	for k := range s.Summary.Properties {
		if strings.HasPrefix(k, OffsetsPropertyPrefix) {
			return true
		}
	}
	return false
}

// MainHistory is main's snapshots from the current one back through parent
// links, newest first, as far as they are kept.
func MainHistory(meta table.Metadata) []*table.Snapshot {
	cur := meta.CurrentSnapshot()
	if cur == nil {
		return nil
	}
	return history(meta, cur.SnapshotID)
}

func history(meta table.Metadata, id int64) []*table.Snapshot {
	var out []*table.Snapshot
	seen := map[int64]bool{}
	for s := meta.SnapshotByID(id); s != nil && !seen[s.SnapshotID]; {
		seen[s.SnapshotID] = true
		out = append(out, s)
		if s.ParentSnapshotID == nil {
			break
		}
		s = meta.SnapshotByID(*s.ParentSnapshotID)
	}
	return out
}

// ErrNoSnapshot says a time-travel target is not (or no longer) kept.
var ErrNoSnapshot = errors.New("no snapshot")

// TimeTravelCandidates are the snapshots time travel by instant may answer
// from, newest first: main's history as far as parent links reach, and the
// snapshots keep tags hold (expiry cuts the parent links between them). The
// snapshot log is not used: Iceberg truncates it at the newest expired
// snapshot, so after retention thinned the history it no longer reaches the
// kept hourly snapshots.
func TimeTravelCandidates(meta table.Metadata) []*table.Snapshot {
	out := MainHistory(meta)
	seen := map[int64]bool{}
	for _, s := range out {
		seen[s.SnapshotID] = true
	}
	for name, ref := range meta.Refs() {
		if ref.SnapshotRefType != table.TagRef || !IsKeepTag(name) || seen[ref.SnapshotID] {
			continue
		}
		if s := meta.SnapshotByID(ref.SnapshotID); s != nil {
			seen[s.SnapshotID] = true
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].TimestampMs > out[j].TimestampMs })
	return out
}

// SnapshotAt is the one time-travel rule: the newest kept snapshot
// committed at or before t. A t before the oldest kept snapshot is
// ErrNoSnapshot, naming the oldest instant still available.
func SnapshotAt(meta table.Metadata, t time.Time) (*table.Snapshot, error) {
	cands := TimeTravelCandidates(meta)
	ms := t.UnixMilli()
	for _, s := range cands {
		if s.TimestampMs <= ms {
			return s, nil
		}
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w as of %s; it has no snapshots yet", ErrNoSnapshot, t.UTC().Format(time.RFC3339Nano))
	}
	oldest := cands[len(cands)-1]
	return nil, fmt.Errorf("%w as of %s; the oldest kept is snapshot %d from %s (before it the table did not exist or its history was expired)",
		ErrNoSnapshot, t.UTC().Format(time.RFC3339Nano), oldest.SnapshotID, FormatMs(oldest.TimestampMs))
}

// SnapshotByID is time travel to a snapshot id: ErrNoSnapshot when the id
// was never the table's or has been expired, naming the oldest kept instant.
func SnapshotByID(meta table.Metadata, id int64) (*table.Snapshot, error) {
	if s := meta.SnapshotByID(id); s != nil {
		return s, nil
	}
	cands := TimeTravelCandidates(meta)
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w %d; it has no snapshots yet", ErrNoSnapshot, id)
	}
	oldest := cands[len(cands)-1]
	return nil, fmt.Errorf("%w %d (expired, or never this table's); the oldest kept is snapshot %d from %s",
		ErrNoSnapshot, id, oldest.SnapshotID, FormatMs(oldest.TimestampMs))
}

// FormatMs renders an Iceberg millisecond timestamp as RFC 3339 in UTC.
func FormatMs(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }
