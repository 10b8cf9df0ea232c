// Command notebookfixture lands a Flink job replay's output in a lake, so the
// notebooks can run without the streaming pipeline. The data comes from the
// real parts: `lakectl generate` writes the raw transactions, the job's
// replay mode applies config/rules.yaml to them, and ingest.LoadReplay writes
// the enriched transactions, alerts and pipeline_runs rows through ingest's
// own JSON → Arrow path (e2e/notebooks/conftest.py runs all three).
//
//	go run ./cmd/notebookfixture --data /tmp/lake --replay /tmp/replay-out
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/finlake/finlake/ingest"
	"github.com/finlake/finlake/lake"
)

func main() {
	data := flag.String("data", "", "lake directory (catalog.db and warehouse/ inside)")
	replay := flag.String("replay", "", "the replay's --out directory")
	commits := flag.Int("commits", 4, "commits per table, so time travel has snapshots to choose from")
	flag.Parse()
	if *data == "" || *replay == "" {
		fmt.Fprintln(os.Stderr, "notebookfixture: --data DIR and --replay DIR are required")
		os.Exit(2)
	}
	written, err := ingest.LoadReplay(context.Background(), ingest.ReplayOptions{
		Lake: lake.Config{DataDir: *data}, Dir: *replay, Commits: *commits, Version: "notebook-fixture"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "notebookfixture:", err)
		os.Exit(1)
	}
	for _, t := range []string{lake.TableTransactions, lake.TableAlerts, lake.TablePipelineRuns} {
		fmt.Printf("lake.%s: %d rows\n", t, written[t])
	}
}
