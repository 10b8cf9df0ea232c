//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/e2e/soak"
)

// TestFrozenStackResumesWithoutFlinkFailoverOrDuplicates freezes every
// process of a running stack (SIGSTOP, as a laptop's sleep or `docker
// compose pause` does) for longer than Flink's default heartbeat timeout,
// resumes it, and checks that the Flink job carried on without a failover
// and that transactions-processed holds every valid event exactly once.
// With the default 50 s heartbeat the first tick after the pause declared
// the in-JVM TaskManager lost and restarted every task from the last
// checkpoint while the old attempts were still running.
func TestFrozenStackResumesWithoutFlinkFailoverOrDuplicates(t *testing.T) {
	p := startPipeline(t)
	gen := p.lakectl(context.Background(), "generate", "--rate", "10", "--http", "off", "--malformed-rate", "0",
		"--progress=false")
	genOut, err := os.Create(filepath.Join(t.TempDir(), "generate.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer genOut.Close()
	gen.Stdout, gen.Stderr = genOut, genOut
	if err := gen.Start(); err != nil {
		t.Fatal(err)
	}
	genDone := make(chan error, 1)
	go func() { genDone <- gen.Wait() }()

	flink := fmt.Sprintf("http://127.0.0.1:%d", p.ports.Flink)
	time.Sleep(20 * time.Second)
	jid, before := flinkFailures(t, flink)

	// The supervisor first, so it sees no process stop answering; resumed last.
	pids := append(soak.Tree(p.cmd.Process.Pid), gen.Process.Pid)
	const pause = 75 * time.Second // the default heartbeat.timeout is 50 s
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGSTOP)
	}
	t.Logf("froze %d processes for %s", len(pids), pause)
	time.Sleep(pause)
	for i := len(pids) - 1; i >= 0; i-- {
		_ = syscall.Kill(pids[i], syscall.SIGCONT)
	}
	time.Sleep(30 * time.Second)
	_ = gen.Process.Signal(syscall.SIGINT)
	select {
	case err := <-genDone:
		if err != nil {
			t.Errorf("generator exited with %v (see %s)", err, genOut.Name())
		}
	case <-time.After(60 * time.Second):
		_ = gen.Process.Kill()
		t.Fatal("generator did not stop within 60s of SIGINT")
	}

	jidAfter, after := flinkFailures(t, flink)
	if jidAfter != jid || len(after) != len(before) {
		t.Errorf("Flink job %s with %d failures before the freeze, %s with %d after: the pause failed the job over: %q",
			jid, len(before), jidAfter, len(after), after)
	}

	want := map[string]bool{}
	drain(t, p.brokers(), contract.RawTransactions, 5*time.Second, func(r *kgo.Record) {
		var ev event
		mustJSON(t, r.Value, &ev)
		want[ev.TransactionID+"/"+ev.Status] = true
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got := map[string]int{}
		drain(t, p.brokers(), contract.TransactionsProcessed, 5*time.Second, func(r *kgo.Record) {
			var ev event
			mustJSON(t, r.Value, &ev)
			got[ev.TransactionID+"/"+ev.Status]++
		})
		if len(got) >= len(want) || time.Now().After(deadline) {
			checkExactlyOnceIn(t, contract.TransactionsProcessed, got, want)
			return
		}
		time.Sleep(2 * time.Second)
	}
}

// flinkFailures is the one running job's id and its exception history
// (one entry per failover), as the REST API lists them.
func flinkFailures(t *testing.T, base string) (string, []string) {
	t.Helper()
	var ov struct {
		Jobs []struct {
			ID string `json:"jid"`
		} `json:"jobs"`
	}
	getFlink(t, base+"/jobs/overview", &ov)
	if len(ov.Jobs) != 1 {
		t.Fatalf("Flink lists %d jobs, want 1: %+v", len(ov.Jobs), ov.Jobs)
	}
	var ex struct {
		History struct {
			Entries []struct {
				Name string `json:"exceptionName"`
				Text string `json:"stacktrace"`
			} `json:"entries"`
		} `json:"exceptionHistory"`
	}
	getFlink(t, base+"/jobs/"+ov.Jobs[0].ID+"/exceptions", &ex)
	var out []string
	for _, e := range ex.History.Entries {
		out = append(out, e.Name+": "+tail([]byte(firstLine(e.Text)), 200))
	}
	return ov.Jobs[0].ID, out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func getFlink(t *testing.T, url string, v any) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
