package ingest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/google/uuid"

	"github.com/finlake/finlake/lake"
)

// ReplayOptions names the output of a Flink job replay (`java -jar
// finlake-flinkjob.jar --replay IN --out DIR`) to land in a lake.
type ReplayOptions struct {
	Lake lake.Config
	// Dir is the replay's --out directory: transactions-processed.jsonl and
	// alerts.jsonl inside.
	Dir string
	// Commits is how many commits each table gets, so time travel has
	// snapshots to choose from.
	Commits int
	// Version goes to lake.pipeline_runs.version.
	Version string
}

// Replay output files and the tables they land in, in commit order within a
// round (as ingest commits them: every table has a snapshot early on).
var replayFiles = []struct{ file, table string }{
	{"transactions-processed.jsonl", lake.TableTransactions},
	{"alerts.jsonl", lake.TableAlerts},
}

// LoadReplay lands a replay's enriched transactions and alerts in the lake
// without Kafka, through the same JSON → Arrow mapping and appends as the
// streaming writer, in o.Commits rounds of one commit per table. Each round is
// reported in lake.pipeline_runs as a session reports a window. The Kafka
// coordinates are the replay's (README "Replay"): partition 0, the 0-based line
// index as offset, and the raw record's generation time, its own timestamp,
// as kafka_timestamp. It returns the rows written per table.
func LoadReplay(ctx context.Context, o ReplayOptions) (map[string]int64, error) {
	if o.Commits < 1 {
		return nil, fmt.Errorf("commits must be at least 1, got %d", o.Commits)
	}
	cat, closeCat, err := lake.OpenCatalog(ctx, o.Lake)
	if err != nil {
		return nil, err
	}
	defer closeCat()
	if err := lake.EnsureTables(ctx, cat); err != nil {
		return nil, err
	}
	lines := make([][][]byte, len(replayFiles))
	metas := make([][]KafkaMeta, len(replayFiles))
	for i, f := range replayFiles {
		if lines[i], metas[i], err = readReplayFile(filepath.Join(o.Dir, f.file)); err != nil {
			return nil, err
		}
	}
	session, started := uuid.NewString(), time.Now().UTC()
	host, _ := os.Hostname()
	win := newWindow(started)
	written := map[string]int64{}
	for c := 0; c < o.Commits; c++ {
		for i, f := range replayFiles {
			per := (len(lines[i]) + o.Commits - 1) / o.Commits
			lo, hi := min(c*per, len(lines[i])), min((c+1)*per, len(lines[i]))
			if lo == hi {
				continue
			}
			props := iceberg.Properties{propSession: session, propRows: strconv.Itoa(hi - lo)}
			res, err := appendJSON(ctx, cat, f.table, lines[i][lo:hi], metas[i][lo:hi], props)
			if err != nil {
				return nil, err
			}
			kafkaMs := make([]int64, 0, hi-lo)
			for _, m := range metas[i][lo:hi] {
				kafkaMs = append(kafkaMs, m.Timestamp.UnixMilli())
			}
			win.consumed(f.table, int64(hi-lo), res.invalid, res.unknown)
			win.committed(f.table, res.rows, 0, time.Now(), kafkaMs)
			written[f.table] += res.rows
		}
		now := time.Now().UTC()
		if err := appendRun(ctx, cat, session, runRow(win.cut(now), session, started, o.Version, host, now)); err != nil {
			return nil, err
		}
		written[lake.TablePipelineRuns]++
	}
	return written, nil
}

// readReplayFile reads one JSON record a line with its replay coordinates.
func readReplayFile(path string) ([][]byte, []KafkaMeta, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read the replay output: %w (run the job with --replay IN --out DIR first)", err)
	}
	defer f.Close()
	var lines [][]byte
	var metas []KafkaMeta
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 0; sc.Scan(); n++ {
		line := bytes.Clone(sc.Bytes())
		at, err := generationTime(line)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %w", path, n+1, err)
		}
		lines = append(lines, line)
		metas = append(metas, KafkaMeta{Partition: 0, Offset: int64(n), Timestamp: at})
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	return lines, metas, nil
}

// generationTime is the raw record's own timestamp: top-level on an enriched
// transaction, under "transaction" on an alert.
func generationTime(record []byte) (time.Time, error) {
	var ts, nested []byte
	err := scanObject(record, func(k, v []byte) error {
		switch string(k) {
		case "timestamp":
			ts = v
		case "transaction":
			nested = v
		}
		return nil
	})
	if err == nil && ts == nil && nested != nil {
		err = scanObject(nested, func(k, v []byte) error {
			if string(k) == "timestamp" {
				ts = v
			}
			return nil
		})
	}
	if err != nil {
		return time.Time{}, err
	}
	if ts == nil {
		return time.Time{}, fmt.Errorf("no timestamp (nor transaction.timestamp) in the record")
	}
	return parseTime(ts)
}
