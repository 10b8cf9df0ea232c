package lake

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// OffsetsPropertyPrefix starts the snapshot-summary property that holds, for
// one Kafka topic, the next offset to read in every partition consumed so far:
// "finlake.offsets.<topic>" = {"0":123,"1":456}. The ingest writer sets it on
// every commit and maintenance copies it onto its rewrite snapshots, so the
// newest snapshot carrying it is where a restarted ingest resumes.
const OffsetsPropertyPrefix = "finlake.offsets."

// OffsetsProperty is the summary property name for topic.
func OffsetsProperty(topic string) string { return OffsetsPropertyPrefix + topic }

// Offsets maps a Kafka partition to the next offset to consume there.
type Offsets map[int32]int64

// Clone copies o.
func (o Offsets) Clone() Offsets { return maps.Clone(o) }

// Covers reports whether o is at or past other in every partition of other:
// a batch ending at other is then already committed.
func (o Offsets) Covers(other Offsets) bool {
	for p, off := range other {
		if o[p] < off {
			return false
		}
	}
	return true
}

// Equal reports whether both name the same partitions with the same offsets.
func (o Offsets) Equal(other Offsets) bool { return maps.Equal(o, other) }

// Encode renders o as the property's JSON object (partitions as string keys,
// sorted so equal offsets give equal strings).
func (o Offsets) Encode() string {
	parts := make([]int32, 0, len(o))
	for p := range o {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%d", strconv.Itoa(int(p)), o[p])
	}
	b.WriteByte('}')
	return b.String()
}

// DecodeOffsets parses the property value written by Encode.
func DecodeOffsets(s string) (Offsets, error) {
	var raw map[string]int64
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("decode offsets %q: %w", s, err)
	}
	o := make(Offsets, len(raw))
	for k, v := range raw {
		p, err := strconv.ParseInt(k, 10, 32)
		if err != nil || p < 0 || v < 0 {
			return nil, fmt.Errorf("decode offsets %q: bad entry %q:%d", s, k, v)
		}
		o[int32(p)] = v
	}
	return o, nil
}

// SnapshotOffsets gives every topic's offsets a snapshot's summary carries.
func SnapshotOffsets(s *table.Snapshot) (map[string]Offsets, error) {
	out := map[string]Offsets{}
	if s == nil || s.Summary == nil {
		return out, nil
	}
	for k, v := range s.Summary.Properties {
		topic, ok := strings.CutPrefix(k, OffsetsPropertyPrefix)
		if !ok {
			continue
		}
		o, err := DecodeOffsets(v)
		if err != nil {
			return nil, fmt.Errorf("snapshot %d: %w", s.SnapshotID, err)
		}
		out[topic] = o
	}
	return out, nil
}

// ErrResumePointExpired says the ancestry walk reached an expired snapshot
// before any that carries offsets: where to resume is unknown.
var ErrResumePointExpired = errors.New("resume point expired")

// LatestOffsets walks the table's ancestry from the current snapshot of main
// back to the first snapshot whose summary carries topic's offsets, and
// returns them with that snapshot. No such snapshot (a new table) gives empty
// offsets and a nil snapshot: consume from the beginning. The walk follows
// parent links, so snapshots of other branches or rolled-back ones never
// count. A walk cut short by an expired parent is ErrResumePointExpired,
// not "from the beginning", which would write everything again (finlake's
// retention never cuts there; another engine's expiry could).
func LatestOffsets(tbl *table.Table, topic string) (Offsets, *table.Snapshot, error) {
	key := OffsetsProperty(topic)
	seen := map[int64]bool{}
	for s := tbl.CurrentSnapshot(); s != nil && !seen[s.SnapshotID]; {
		seen[s.SnapshotID] = true
		if s.Summary != nil {
			if v, ok := s.Summary.Properties[key]; ok {
				o, err := DecodeOffsets(v)
				if err != nil {
					return nil, nil, fmt.Errorf("table %v snapshot %d: %w", tbl.Identifier(), s.SnapshotID, err)
				}
				return o, s, nil
			}
		}
		if s.ParentSnapshotID == nil {
			break
		}
		parent := tbl.SnapshotByID(*s.ParentSnapshotID)
		if parent == nil {
			return nil, nil, fmt.Errorf("table %v: %w: snapshot %d's parent %d was expired and no snapshot from the current one down to it carries %s; "+
				"consuming from the beginning would write every record again: restore the table's metadata, or give the table a snapshot carrying the offsets",
				tbl.Identifier(), ErrResumePointExpired, s.SnapshotID, *s.ParentSnapshotID, key)
		}
		s = parent
	}
	return Offsets{}, nil, nil
}

// CarriedOffsetProperties gives the offsets properties (every topic) of the
// newest snapshot in the ancestry that carries any, ready to be copied into
// a maintenance snapshot's summary so that snapshot keeps the resume point.
func CarriedOffsetProperties(tbl *table.Table) iceberg.Properties {
	seen := map[int64]bool{}
	for s := tbl.CurrentSnapshot(); s != nil && !seen[s.SnapshotID]; {
		seen[s.SnapshotID] = true
		if s.Summary != nil {
			props := iceberg.Properties{}
			for k, v := range s.Summary.Properties {
				if strings.HasPrefix(k, OffsetsPropertyPrefix) {
					props[k] = v
				}
			}
			if len(props) > 0 {
				return props
			}
		}
		if s.ParentSnapshotID == nil {
			break
		}
		s = tbl.SnapshotByID(*s.ParentSnapshotID)
	}
	return iceberg.Properties{}
}
