package health

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/finlake/finlake/internal/termout"
)

func num(v float64) string {
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func metricsText(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + num(m[k])
	}
	return strings.Join(parts, " ")
}

func yes(b bool, y, n string) string {
	if b {
		return y
	}
	return n
}

// Render prints the report for people: a verdict, then one section each.
func Render(w io.Writer, r Report) error {
	verdict := "HEALTHY"
	if !r.Healthy {
		verdict = fmt.Sprintf("UNHEALTHY (%d problem(s))", len(r.Problems))
	}
	fmt.Fprintf(w, "finlake health at %s: %s\n\n", r.Time.Format("2006-01-02 15:04:05Z07:00"), verdict)

	var rows [][]string
	if k := r.Kafka; k != nil {
		detail := k.Reason
		if k.Up {
			exist := 0
			for _, t := range k.Topics {
				if t.Exists {
					exist++
				}
			}
			detail = fmt.Sprintf("%d broker(s), %d/%d topics", k.BrokerCount, exist, len(k.Topics))
		}
		rows = append(rows, []string{Kafka, strings.Join(k.Brokers, ","), yes(k.Up, "up", "DOWN"), yes(k.Up, "ready", "-"), detail})
	}
	for _, s := range r.Services {
		detail := s.Reason
		if s.Up {
			detail = strings.TrimSpace(s.Reason + " " + metricsText(s.Metrics))
		}
		rows = append(rows, []string{s.Name, s.URL, yes(s.Up, "up", "DOWN"), yes(s.Ready, "ready", "NOT READY"), detail})
	}
	if f := r.Flink; f != nil {
		detail := f.Reason
		state := "-"
		if f.JobID != "" {
			state = f.State
			detail = fmt.Sprintf("%s: checkpoints %d ok, %d failed", f.Job, f.Completed, f.Failed)
			if f.LastCheckpointID > 0 {
				detail += fmt.Sprintf("; last #%d %.0fs ago, took %dms, state %s", f.LastCheckpointID, f.LastCheckpointAgeSec,
					f.LastCheckpointMs, termout.Bytes(f.LastCheckpointBytes))
			}
		}
		rows = append(rows, []string{Flink, f.URL, yes(f.Up, "up", "DOWN"), state, detail})
	}
	fmt.Fprintln(w, "COMPONENTS")
	if err := termout.Render(w, []string{"component", "address", "up", "ready", "detail"}, rows); err != nil {
		return err
	}

	if k := r.Kafka; k != nil && k.Up {
		rows = rows[:0]
		for _, t := range k.Topics {
			if !t.Exists {
				rows = append(rows, []string{t.Name, t.Stage, "MISSING", "", "", ""})
				continue
			}
			rows = append(rows, []string{t.Name, t.Stage, strconv.Itoa(t.Partitions), strconv.FormatInt(t.Records, 10),
				strconv.FormatInt(t.Recent, 10), num(t.PerSecond)})
		}
		fmt.Fprintln(w, "\nTHROUGHPUT (records whose generation time is in the window)")
		if err := termout.Render(w, []string{"topic", "written by", "partitions", "retained", "in window", "per second"}, rows); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "\nLATENCY (ms)")
	rows = rows[:0]
	for _, name := range []string{"alert", "storage"} {
		p, ok := r.Latency[name]
		if !ok {
			rows = append(rows, []string{name, "-", "-", "-", "0", "no data"})
			continue
		}
		rows = append(rows, []string{name, num(p.P50), num(p.P95), num(p.P99), strconv.FormatInt(p.N, 10), p.Source})
	}
	for _, s := range r.Services {
		if s.QueryLatency != nil {
			p := s.QueryLatency
			rows = append(rows, []string{"flight query", num(p.P50), num(p.P95), num(p.P99), strconv.FormatInt(p.N, 10), p.Source})
		}
	}
	if err := termout.Render(w, []string{"latency", "p50", "p95", "p99", "n", "source"}, rows); err != nil {
		return err
	}

	if k := r.Kafka; k != nil && k.Up {
		fmt.Fprintf(w, "\nDEAD LETTERS: %d retained", k.DeadLetters)
		if len(k.FailedChecks) == 0 {
			fmt.Fprintln(w, "; none in the window")
		} else {
			var parts []string
			for _, c := range k.FailedChecks {
				parts = append(parts, fmt.Sprintf("%s %s/min", c.Check, num(c.PerMinute)))
			}
			fmt.Fprintf(w, "; per check: %s\n", strings.Join(parts, ", "))
		}
		fmt.Fprintln(w, "\nCONSUMER LAG")
		if len(k.Lag) == 0 {
			fmt.Fprintln(w, "(no consumer groups)")
		} else {
			rows = rows[:0]
			for _, l := range k.Lag {
				rows = append(rows, []string{l.Group, l.State, l.Topic, strconv.Itoa(int(l.Partition)),
					strconv.FormatInt(l.Committed, 10), strconv.FormatInt(l.End, 10), strconv.FormatInt(l.Lag, 10)})
			}
			if err := termout.Render(w, []string{"group", "state", "topic", "partition", "committed", "end", "lag"}, rows); err != nil {
				return err
			}
		}
	}
	if len(r.Problems) > 0 {
		fmt.Fprintln(w, "\nPROBLEMS")
		for _, p := range r.Problems {
			fmt.Fprintln(w, "  - "+p)
		}
	}
	return nil
}
