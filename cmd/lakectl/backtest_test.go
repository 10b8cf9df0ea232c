//go:build duckdb_arrow

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestRulesBacktestRejectsAnInvalidCandidateWithLineAndColumnBeforeRunning(t *testing.T) {
	dir := t.TempDir()
	rules, _ := os.ReadFile("../../config/rules.yaml")
	bad := strings.Replace(string(rules), "count: 5", "count: 0", 1)
	file := filepath.Join(dir, "candidate.yaml")
	os.WriteFile(file, []byte(bad), 0o644)
	r := lakectl(t, nil, "", "rules", "backtest", file, "--fx", "../../config/fx_rates.yaml", "--flight", "grpc://127.0.0.1:1")
	line := 1 + strings.Count(bad[:strings.Index(bad, "count: 0")], "\n")
	want := file + ":" + strconv.Itoa(line) + ":"
	if r.code != 2 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "the backtest did not run") {
		t.Fatalf("exit %d, want 2 with %q\nstderr: %s", r.code, want, r.stderr)
	}
}

func TestRulesBacktestOfAWindowWithoutTransactionsSaysWhatTheLakeHolds(t *testing.T) {
	s := startTestServer(t)
	r := lakectl(t, s.env, "", "rules", "backtest", "../../config/rules.yaml", "--fx", "../../config/fx_rates.yaml",
		"--from", "2020-01-01T00:00:00Z", "--to", "2020-01-02T00:00:00Z")
	if r.code != 2 || !strings.Contains(r.stderr, "no transactions in the window") || !strings.Contains(r.stderr, "holds event times") {
		t.Fatalf("exit %d, want 2 naming the lake's event times\nstderr: %s", r.code, r.stderr)
	}
}
