//go:build duckdb_arrow

package backtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Job says how to run the Flink job's replay mode.
type Job struct {
	Java     string   // java executable
	Jar      string   // the job's shaded jar
	JavaOpts []string // e.g. -Xmx1g
}

// ReplaySummary is the job's JSON summary line.
type ReplaySummary struct {
	Records     int64   `json:"records"`
	Processed   int64   `json:"transactions_processed"`
	Alerts      int64   `json:"alerts"`
	DeadLetters int64   `json:"dead_letters"`
	Seconds     float64 `json:"seconds"`
	JobSeconds  float64 `json:"job_seconds"`
}

// run replays in through the job with the rules and FX files into outDir;
// the JVM's log goes to logPath, progress (output size) to progress.
func (j Job) run(ctx context.Context, in, rulesFile, fxFile, outDir, logPath string, progress io.Writer) (ReplaySummary, error) {
	var s ReplaySummary
	if _, err := os.Stat(j.Jar); err != nil {
		return s, fmt.Errorf("the Flink job jar %s is missing: build it with `just flink-jar`, or pass --flink-jar / FINLAKE_FLINK_JAR", j.Jar)
	}
	args := append(append([]string{}, j.JavaOpts...), "-jar", j.Jar, "--replay", in, "--rules", rulesFile,
		"--fx", fxFile, "--out", outDir)
	cmd := exec.CommandContext(ctx, j.Java, args...)
	logf, err := os.Create(logPath)
	if err != nil {
		return s, err
	}
	defer logf.Close()
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, logf
	if err := cmd.Start(); err != nil {
		return s, fmt.Errorf("start %s (java 17+ needed; --java or FINLAKE_JAVA names it): %w", j.Java, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	started := time.Now()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return s, fmt.Errorf("the replay job failed (%v); the end of its log %s:\n%s", err, logPath, logTail(logPath, 2000))
			}
			line := strings.TrimSpace(stdout.String())
			if i := strings.LastIndexByte(line, '\n'); i >= 0 {
				line = line[i+1:]
			}
			if err := json.Unmarshal([]byte(line), &s); err != nil {
				return s, fmt.Errorf("the replay job printed no summary (%q): %w", line, err)
			}
			return s, nil
		case <-tick.C:
			if progress != nil {
				var size int64
				if st, err := os.Stat(filepath.Join(outDir, "transactions-processed.jsonl")); err == nil {
					size = st.Size()
				}
				fmt.Fprintf(progress, "backtest: replay running for %s, %d MiB of transactions-processed written\n",
					time.Since(started).Round(time.Second), size>>20)
			}
		}
	}
}

func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
