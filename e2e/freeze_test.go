//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/e2e/soak"
)

// TestFrozenStackResumesWithoutHeartbeatFailoverOrDuplicates freezes every
// process of a running stack (SIGSTOP, as a laptop's sleep or `docker
// compose pause` does) for longer than Flink's default heartbeat timeout,
// resumes it, and checks that the Flink job did not fail over on a heartbeat
// timeout (nor restart its JVM)
// and that transactions-processed holds every valid event exactly once.
// With the default 50 s heartbeat the first tick after the pause declared
// the in-JVM TaskManager lost and restarted every task from the last
// checkpoint while the old attempts were still running.
func TestFrozenStackResumesWithoutHeartbeatFailoverOrDuplicates(t *testing.T) {
	p := startPipeline(t)
	gen, stopGen := p.startGenerator(t, filepath.Join(t.TempDir(), "generate.log"),
		"--rate", "10", "--http", "off", "--malformed-rate", "0", "--progress=false")

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
	stopGen()

	// A heartbeat timeout between the JobManager and TaskManager of one JVM is what the freeze must not
	// cause. A failover of another kind can still follow it: the one-node broker fences itself after its
	// 9 s session timeout and a sink's transaction then fails (seen once, 2026-12-02); exactly-once,
	// checked below, must hold through it, and it is logged here, not failed.
	jidAfter, after := flinkFailures(t, flink)
	if jidAfter != jid {
		t.Errorf("Flink job %s before the freeze, %s after: the JVM restarted", jid, jidAfter)
	}
	for _, f := range after {
		if strings.Contains(f, "Heartbeat") {
			t.Errorf("the job failed over on a heartbeat timeout: %s", f)
		}
	}
	if len(after) > len(before) {
		t.Logf("%d failures before the freeze, %d after: %q", len(before), len(after), after)
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
