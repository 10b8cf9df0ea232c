package lake

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// simulatedHistory builds real Iceberg table metadata (iceberg-go's builder)
// whose main branch has one snapshot every step from start to end, each
// carrying offsets like an ingest commit. The snapshots' timestamps are
// fabricated in the past, which a live commit cannot do, so days of history
// are a fraction of a second to build. Manifest lists are never read.
func simulatedHistory(t *testing.T, start, end time.Time, step time.Duration) table.Metadata {
	t.Helper()
	b, err := table.NewMetadataBuilder(2)
	if err != nil {
		t.Fatal(err)
	}
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.AddSchema(sc))
	must(b.SetCurrentSchemaID(0))
	must(b.AddPartitionSpec(iceberg.UnpartitionedSpec, true))
	must(b.SetDefaultSpecID(0))
	must(b.AddSortOrder(&table.UnsortedSortOrder))
	must(b.SetDefaultSortOrderID(0))
	must(b.SetLoc("file:///simulated"))
	var parent *int64
	schemaID := 0
	for i, ts := 0, start; !ts.After(end); i, ts = i+1, ts.Add(step) {
		id := int64(i + 1)
		must(b.AddSnapshot(&table.Snapshot{
			SnapshotID: id, ParentSnapshotID: parent, SequenceNumber: id, TimestampMs: ts.UnixMilli(),
			ManifestList: fmt.Sprintf("file:///simulated/metadata/snap-%d.avro", id), SchemaID: &schemaID,
			Summary: &table.Summary{Operation: table.OpAppend, Properties: iceberg.Properties{
				OffsetsProperty("t"): Offsets{0: int64(i + 1)}.Encode()}},
		}))
		must(b.SetSnapshotRef(table.MainBranch, id, table.BranchRef))
		parent = &id
	}
	meta, err := b.Build()
	must(err)
	return meta
}

// applyPlan commits a plan's changes to metadata as maintenance does (the
// same updates, through iceberg-go's metadata builder).
func applyPlan(t *testing.T, meta table.Metadata, plan RetentionPlan) table.Metadata {
	t.Helper()
	b, err := table.MetadataBuilderFromBase(meta, "file:///simulated/metadata/v1.metadata.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range plan.RemoveTags {
		if err := b.RemoveSnapshotRef(n); err != nil {
			t.Fatal(err)
		}
	}
	for n, id := range plan.SetTags {
		if err := b.SetSnapshotRef(n, id, table.TagRef, table.WithMaxRefAgeMs(plan.TagMaxAge.Milliseconds())); err != nil {
			t.Fatal(err)
		}
	}
	if len(plan.Expire) > 0 {
		if err := b.RemoveSnapshots(plan.Expire, false); err != nil {
			t.Fatal(err)
		}
	}
	out, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pastHalfHour is half past the hour before last: a simulated history must
// end in the past (iceberg-go refuses metadata updated before its newest
// snapshot), and a :30 end puts the keep-all cutoff mid-hour.
func pastHalfHour() time.Time {
	return time.Now().UTC().Truncate(time.Hour).Add(-90 * time.Minute)
}

func snapshotIDs(meta table.Metadata) []int64 {
	var ids []int64
	for _, s := range meta.Snapshots() {
		ids = append(ids, s.SnapshotID)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func TestRetentionOverEightSimulatedDaysKeepsTheLastHourAndOneSnapshotPerHourForAWeek(t *testing.T) {
	end := pastHalfHour()
	start := end.Add(-8 * 24 * time.Hour)
	meta := simulatedHistory(t, start, end, time.Minute)
	p := DefaultRetentionPolicy()
	// Maintenance every simulated hour, as the service runs it; the last
	// pass is at end.
	for now := start.Add(time.Hour); !now.After(end); now = now.Add(time.Hour) {
		meta = applyPlan(t, meta, PlanRetention(meta, now, p))
	}

	// Expected, from the rule stated plainly: each minute's snapshot is kept
	// if it is at most an hour old, or it is the last one of its clock hour
	// and at most seven days old.
	var want []int64
	for i, ts := 0, start; !ts.After(end); i, ts = i+1, ts.Add(time.Minute) {
		age, next := end.Sub(ts), ts.Add(time.Minute)
		// The last of its hour among those beyond the hour in full.
		lastOfHour := next.Hour() != ts.Hour() || end.Sub(next) <= time.Hour
		if age <= time.Hour || (lastOfHour && age <= 7*24*time.Hour) {
			want = append(want, int64(i+1))
		}
	}
	got := snapshotIDs(meta)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("kept %d snapshots, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	tags := 0
	for n, ref := range meta.Refs() {
		if n == table.MainBranch {
			continue
		}
		tags++
		s := meta.SnapshotByID(ref.SnapshotID)
		ts := time.UnixMilli(s.TimestampMs).UTC()
		if n != "hourly-"+ts.Format("2006-01-02T15") || ref.SnapshotRefType != table.TagRef || *ref.MaxRefAgeMs != p.Retain.Milliseconds() {
			t.Errorf("tag %s -> snapshot %d at %s, %+v: want hourly-<its hour>, a tag with max-ref-age %s", n, ref.SnapshotID, ts, ref, p.Retain)
		}
	}
	if tags != 7*24 {
		t.Errorf("want %d hourly tags (one per hour beyond the last hour, for 7 days), got %d", 7*24, tags)
	}
}

func TestSnapshotAtAnswersFromTheNewestKeptSnapshotAtOrBeforeTheInstant(t *testing.T) {
	end := pastHalfHour()
	start := end.Add(-3 * 24 * time.Hour)
	meta := simulatedHistory(t, start, end, time.Minute)
	p := RetentionPolicy{KeepAll: time.Hour, KeepEvery: time.Hour, Retain: 48 * time.Hour, MinKeep: 1}
	meta = applyPlan(t, meta, PlanRetention(meta, end, p))

	// hh:30 a day ago was expired: the kept snapshot at or before it is the
	// last of the hour before, (hh-1):59.
	at := end.Add(-25 * time.Hour)
	s, err := SnapshotAt(meta, at)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := time.UnixMilli(s.TimestampMs).UTC(), at.Truncate(time.Hour).Add(-time.Minute); !got.Equal(want) {
		t.Fatalf("as of %s: answered from the snapshot of %s, want the kept one of %s", at, got, want)
	}
	// Inside the last hour every snapshot is kept: the answer is exact.
	at = end.Add(-10*time.Minute + 30*time.Second)
	if s, err = SnapshotAt(meta, at); err != nil || time.UnixMilli(s.TimestampMs).UTC() != end.Add(-10*time.Minute) {
		t.Fatalf("as of %s: got %v, %v; want the snapshot of %s", at, s, err, end.Add(-10*time.Minute))
	}
}

func TestSnapshotAtBeforeTheOldestKeptSnapshotIsNotFoundNamingIt(t *testing.T) {
	end := pastHalfHour()
	meta := simulatedHistory(t, end.Add(-72*time.Hour), end, time.Minute)
	p := RetentionPolicy{KeepAll: time.Hour, KeepEvery: time.Hour, Retain: 48 * time.Hour, MinKeep: 1}
	meta = applyPlan(t, meta, PlanRetention(meta, end, p))
	oldest := end.Add(-48 * time.Hour).Truncate(time.Hour).Add(59 * time.Minute) // last of the oldest hour within 48 h

	_, err := SnapshotAt(meta, oldest.Add(-time.Second))
	if !errors.Is(err, ErrNoSnapshot) || !strings.Contains(err.Error(), oldest.Format(time.RFC3339)) {
		t.Fatalf("want ErrNoSnapshot naming the oldest kept instant %s, got %v", oldest.Format(time.RFC3339), err)
	}
	if s, err := SnapshotAt(meta, oldest); err != nil || s.TimestampMs != oldest.UnixMilli() {
		t.Fatalf("as of the oldest kept instant itself: got %v, %v", s, err)
	}
	if _, err := SnapshotByID(meta, 1); !errors.Is(err, ErrNoSnapshot) || !strings.Contains(err.Error(), oldest.Format(time.RFC3339)) {
		t.Fatalf("an expired snapshot id: want ErrNoSnapshot naming %s, got %v", oldest.Format(time.RFC3339), err)
	}
}

func TestRetentionKeepsTheChainDownToTheNewestOffsetSnapshot(t *testing.T) {
	end := pastHalfHour()
	meta := simulatedHistory(t, end.Add(-3*time.Hour), end.Add(-2*time.Hour), time.Minute)
	// Two later commits that carry no offsets (say, another writer's), old
	// enough to fall out of every window.
	b, _ := table.MetadataBuilderFromBase(meta, "file:///simulated/metadata/v1.metadata.json")
	parent := meta.CurrentSnapshot().SnapshotID
	for i, id := range []int64{1000, 1001} {
		p := parent
		_ = b.AddSnapshot(&table.Snapshot{SnapshotID: id, ParentSnapshotID: &p, SequenceNumber: id,
			TimestampMs: end.Add(-2*time.Hour + time.Duration(i+1)*time.Minute).UnixMilli(), ManifestList: "file:///x.avro",
			Summary: &table.Summary{Operation: table.OpAppend}})
		if err := b.SetSnapshotRef(table.MainBranch, id, table.BranchRef); err != nil {
			t.Fatal(err)
		}
		parent = id
	}
	meta, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	want := meta.SnapshotByID(int64(len(meta.Snapshots()) - 2)) // the last offset-carrying commit
	meta = applyPlan(t, meta, PlanRetention(meta, end, RetentionPolicy{KeepAll: time.Minute, KeepEvery: time.Hour, Retain: time.Minute, MinKeep: 1}))
	if got := snapshotIDs(meta); fmt.Sprint(got) != fmt.Sprint([]int64{want.SnapshotID, 1000, 1001}) {
		t.Fatalf("kept %v, want the head, its parent and the offset snapshot %d below them", got, want.SnapshotID)
	}
}

func TestLatestOffsetsRefusesToStartOverWhenExpiryCutTheWalkAboveTheResumePoint(t *testing.T) {
	end := pastHalfHour()
	meta := simulatedHistory(t, end.Add(-time.Hour), end.Add(-50*time.Minute), time.Minute)
	// A commit without offsets on top, then everything below it expired,
	// as another engine's expire_snapshots(retain_last=1) would do.
	b, _ := table.MetadataBuilderFromBase(meta, "file:///simulated/metadata/v1.metadata.json")
	parent := meta.CurrentSnapshot().SnapshotID
	_ = b.AddSnapshot(&table.Snapshot{SnapshotID: 1000, ParentSnapshotID: &parent, SequenceNumber: 1000,
		TimestampMs: end.Add(-49 * time.Minute).UnixMilli(), ManifestList: "file:///x.avro", Summary: &table.Summary{Operation: table.OpAppend}})
	if err := b.SetSnapshotRef(table.MainBranch, 1000, table.BranchRef); err != nil {
		t.Fatal(err)
	}
	if err := b.RemoveSnapshots(snapshotIDs(meta), false); err != nil {
		t.Fatal(err)
	}
	cut, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	tbl := table.New([]string{"lake", "t"}, cut, "file:///simulated/metadata/v2.metadata.json", nil, nil)
	if _, _, err := LatestOffsets(tbl, "t"); !errors.Is(err, ErrResumePointExpired) {
		t.Fatalf("want ErrResumePointExpired, got %v", err)
	}
}
