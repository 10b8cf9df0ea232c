//go:build e2e && compose

package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/stack"
)

// The compose stack's addresses on the laptop side (docker-compose.yml).
const (
	composeKafka  = "127.0.0.1:9092"
	composeFlight = "grpc://127.0.0.1:32010"
	composeToken  = "finlake-admin" // FINLAKE_ADMIN_TOKEN's default
)

// composeStack drives the repository's docker-compose.yml as a user does:
// through `just up` / `just compose-down` and the docker CLI, with the one
// difference that the rules directory is a copy the test may edit.
type composeStack struct {
	t      *testing.T
	root   string
	bin    string
	config string // FINLAKE_CONFIG_DIR
}

func (c *composeStack) env() []string {
	return append(os.Environ(), "FINLAKE_CONFIG_DIR="+c.config)
}

func (c *composeStack) run(within time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = c.root, c.env()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *composeStack) must(within time.Duration, name string, args ...string) string {
	c.t.Helper()
	out, err := c.run(within, name, args...)
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail([]byte(out), 6000))
	}
	return out
}

func (c *composeStack) compose(args ...string) string {
	c.t.Helper()
	return c.must(5*time.Minute, "docker", append([]string{"compose"}, args...)...)
}

// container is the id of a service's container.
func (c *composeStack) container(svc string) string {
	c.t.Helper()
	id := strings.TrimSpace(c.compose("ps", "-a", "-q", svc))
	if id == "" {
		c.t.Fatalf("service %s has no container", svc)
	}
	return id
}

type containerState struct {
	Status     string
	Running    bool
	Pid        int
	ExitCode   int
	Health     *struct{ Status string }
	StartedAt  time.Time
	OOMKilled  bool
	Restarting bool
}

func (c *composeStack) state(svc string) (containerState, int) {
	c.t.Helper()
	out := c.must(time.Minute, "docker", "inspect", c.container(svc))
	var got []struct {
		State        containerState
		RestartCount int
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 {
		c.t.Fatalf("docker inspect %s: %v: %s", svc, err, tail([]byte(out), 2000))
	}
	return got[0].State, got[0].RestartCount
}

func (st containerState) healthy() bool {
	return st.Running && !st.Restarting && st.Health != nil && st.Health.Status == "healthy"
}

// longRunning are the services that run until stopped; topics is a one-shot.
var longRunning = []string{"kafka", "rules-watcher", "flink", "ingest", "flight", "generator", "jupyter"}

func (c *composeStack) allHealthy() error {
	for _, svc := range longRunning {
		if st, _ := c.state(svc); !st.healthy() {
			return fmt.Errorf("%s is %s (health %v)", svc, st.Status, st.Health)
		}
	}
	if st, _ := c.state("topics"); st.Status != "exited" || st.ExitCode != 0 {
		return fmt.Errorf("topics is %s with exit code %d, want exited 0", st.Status, st.ExitCode)
	}
	return nil
}

func (c *composeStack) waitHealthy(within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := c.allHealthy()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.dumpLogs()
			c.t.Fatalf("not every service healthy within %s: %v", within, err)
		}
		time.Sleep(2 * time.Second)
	}
}

func (c *composeStack) dumpLogs() {
	out, _ := c.run(time.Minute, "docker", "compose", "ps", "-a")
	c.t.Logf("docker compose ps -a:\n%s", out)
	for _, svc := range append([]string{"topics"}, longRunning...) {
		out, _ := c.run(time.Minute, "docker", "compose", "logs", "--no-color", "--tail", "40", svc)
		c.t.Logf("%s logs:\n%s", svc, out)
	}
}

// query runs `lakectl query` from the host against the flight service and
// returns the CSV rows after the header.
func (c *composeStack) query(sql string, extra ...string) [][]string {
	c.t.Helper()
	args := append([]string{"query", "--flight", composeFlight, "--format", "csv"}, extra...)
	cmd := exec.Command(c.bin, append(args, sql)...)
	cmd.Env = append(os.Environ(), "FINLAKE_TOKEN="+composeToken)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("lakectl query %v %q: %v\n%s", extra, sql, err, stderr.String())
	}
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil || len(rows) == 0 {
		c.t.Fatalf("lakectl query %q: no CSV (%v): %s", sql, err, out)
	}
	return rows[1:]
}

func (c *composeStack) count(sql string, extra ...string) int64 {
	c.t.Helper()
	rows := c.query(sql, extra...)
	if len(rows) != 1 || len(rows[0]) < 1 {
		c.t.Fatalf("%q: want one value, got %v", sql, rows)
	}
	n, err := strconv.ParseInt(rows[0][0], 10, 64)
	if err != nil {
		c.t.Fatalf("%q: %v", sql, err)
	}
	return n
}

func (c *composeStack) lakeRows() int64 { return c.count("SELECT count(*) FROM lake.transactions") }

// waitGrows waits until lake.transactions holds more than from rows.
func (c *composeStack) waitGrows(from int64, within time.Duration, what string) int64 {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if n := c.lakeRows(); n > from {
			return n
		}
		if time.Now().After(deadline) {
			c.dumpLogs()
			c.t.Fatalf("%s: lake.transactions did not grow past %d rows within %s", what, from, within)
		}
		time.Sleep(2 * time.Second)
	}
}

// killInside SIGKILLs the service's main process (the JVM or lakectl, pid 1
// of its container) from the host, as a crash would, and returns how long the
// restart policy took to have the container healthy again. `docker kill`
// would not do: it marks the container as stopped by hand, and the restart
// policy then leaves it down.
func (c *composeStack) killInside(svc string) time.Duration {
	c.t.Helper()
	before, restarts := c.state(svc)
	if !before.healthy() || before.Pid == 0 {
		c.t.Fatalf("%s is %s before the fault", svc, before.Status)
	}
	start := time.Now()
	if err := syscall.Kill(before.Pid, syscall.SIGKILL); err != nil {
		c.t.Fatalf("SIGKILL %s (pid %d on the host): %v", svc, before.Pid, err)
	}
	deadline := start.Add(4 * time.Minute)
	for {
		st, n := c.state(svc)
		if n > restarts && st.healthy() {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			c.dumpLogs()
			c.t.Fatalf("%s not healthy again 4 min after SIGKILL (restarts %d → %d, %s)", svc, restarts, n, st.Status)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// rawRecord is a transaction event of the contract for account acct.
func rawRecord(id, acct, amount string) []byte {
	return []byte(fmt.Sprintf(`{"transaction_id":%q,"timestamp":%q,"account_id":%q,"amount":%s,"currency":"USD","merchant_name":"Probe Store","merchant_category":"retail","transaction_type":"purchase","location_country":"US","status":"completed"}`,
		id, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), acct, amount))
}

// waitAlert waits for an alert of rule on transaction id and returns its rule_version.
func waitAlert(t *testing.T, alerts *follower, id, rule string, within time.Duration) (int, bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, s := range alerts.take() {
			if a, err := contract.DecodeAlert(s.rec.Value); err == nil && a.TransactionID == id && a.RuleName == rule {
				return int(a.RuleVersion), true
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return 0, false
}

// TestComposeUp runs the laptop deployment for real: `just up` from a clean
// state, then uses and faults it as a user's laptop would, and checks that
// no transaction is lost or landed twice.
func TestComposeUp(t *testing.T) {
	root := repoRoot(t)
	bin := os.Getenv("FINLAKE_BIN")
	if bin == "" {
		t.Fatal("FINLAKE_BIN is required: run `just test-compose-up`")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Fatal("docker is required: ./finlake test-compose-up installs and starts it")
	}
	config := filepath.Join(t.TempDir(), "config")
	if err := os.MkdirAll(config, 0o755); err != nil {
		t.Fatal(err)
	}
	// The containers run as other users: the copy must be readable by them.
	_ = os.Chmod(filepath.Dir(config), 0o755)
	for _, f := range []string{"rules.yaml", "fx_rates.yaml"} {
		copyFile(t, filepath.Join(root, "config", f), filepath.Join(config, f))
		_ = os.Chmod(filepath.Join(config, f), 0o644)
	}
	c := &composeStack{t: t, root: root, bin: bin, config: config}
	figures := map[string]string{}
	defer func() {
		for k, v := range figures {
			t.Logf("figure %s: %s", k, v)
		}
	}()

	// A clean state: no containers, no volumes of an earlier run.
	c.must(5*time.Minute, "docker", "compose", "down", "--volumes", "--remove-orphans", "--timeout", "60")
	t.Cleanup(func() {
		if t.Failed() {
			c.dumpLogs()
		}
		if os.Getenv("FINLAKE_COMPOSE_KEEP") == "" {
			_, _ = c.run(5*time.Minute, "docker", "compose", "down", "--volumes", "--remove-orphans", "--timeout", "60")
		}
	})

	start := time.Now()
	c.must(40*time.Minute, "just", "up")
	figures["just up to healthy (images cached, empty volumes)"] = time.Since(start).Round(time.Second).String()
	c.waitHealthy(time.Minute)

	alerts := follow(t, composeKafka, contract.Alerts)
	deadLetters := follow(t, composeKafka, contract.DeadLetter)

	t.Run("transactions, alerts and dead letters flow", func(t *testing.T) {
		id := uuid.NewString()
		produce(t, composeKafka, contract.RawTransactions, []byte("ACCOMPOSE0001"), rawRecord(id, "ACCOMPOSE0001", "50000.00"))
		produce(t, composeKafka, contract.RawTransactions, []byte("ACCOMPOSE0002"), []byte(`{"transaction_id": "not json`))
		if _, ok := waitAlert(t, alerts, id, "high_value", 2*time.Minute); !ok {
			t.Fatal("a 50,000 USD transaction raised no high_value alert within 2 minutes")
		}
		deadline := time.Now().Add(2 * time.Minute)
		for found := false; !found; {
			for _, s := range deadLetters.take() {
				found = found || bytes.Contains(s.rec.Value, []byte("not json"))
			}
			if !found && time.Now().After(deadline) {
				t.Fatal("the malformed record reached no dead letter within 2 minutes")
			}
			time.Sleep(200 * time.Millisecond)
		}
		c.waitGrows(0, 3*time.Minute, "first rows")
		deadline = time.Now().Add(3 * time.Minute)
		for c.count(fmt.Sprintf("SELECT count(*) FROM lake.alerts WHERE transaction_id = '%s'", id)) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the high_value alert did not land in lake.alerts within 3 minutes")
			}
			time.Sleep(2 * time.Second)
		}
	})

	t.Run("lakectl query --as-of from the host answers from an earlier snapshot", func(t *testing.T) {
		before := c.lakeRows()
		instant := time.Now().UTC()
		time.Sleep(1100 * time.Millisecond)
		after := c.lakeRows()
		now := c.waitGrows(after, 2*time.Minute, "after the instant")
		asOf := c.count("SELECT count(*) FROM lake.transactions", "--as-of", instant.Format(time.RFC3339Nano))
		if asOf < before || asOf > after || asOf >= now {
			t.Fatalf("--as-of %s counts %d rows; want between %d (before it) and %d (just after), and below %d (now)",
				instant.Format(time.RFC3339Nano), asOf, before, after, now)
		}
	})

	t.Run("a notebook runs inside the Jupyter container against the flight service", func(t *testing.T) {
		out, err := c.run(5*time.Minute, "docker", "compose", "exec", "-T", "jupyter",
			"jupyter", "nbconvert", "--to", "notebook", "--execute", "--output-dir", "/tmp", "01_quickstart.ipynb")
		if err != nil {
			t.Fatalf("notebook 01 failed inside the jupyter container: %v\n%s", err, tail([]byte(out), 6000))
		}
	})

	t.Run("the backtest notebook runs lakectl and the replay job inside the Jupyter container", func(t *testing.T) {
		out, err := c.run(10*time.Minute, "docker", "compose", "exec", "-T", "jupyter",
			"jupyter", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=540", "--output-dir", "/tmp", "05_rule_backtesting.ipynb")
		if err != nil {
			t.Fatalf("notebook 05 failed inside the jupyter container: %v\n%s", err, tail([]byte(out), 6000))
		}
	})

	t.Run("a rule edit in the config directory applies without a restart", func(t *testing.T) {
		_, flinkRestarts := c.state("flink")
		b, err := os.ReadFile(filepath.Join(config, "rules.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`amount_usd:\s*10000`)
		if !re.Match(b) {
			t.Fatal("config/rules.yaml no longer has amount_usd: 10000; update this test")
		}
		tmp := filepath.Join(config, "rules.yaml.tmp")
		if err := os.WriteFile(tmp, re.ReplaceAll(b, []byte("amount_usd: 2000")), 0o644); err != nil {
			t.Fatal(err)
		}
		// An editor's save: a new file renamed over the old one.
		if err := os.Rename(tmp, filepath.Join(config, "rules.yaml")); err != nil {
			t.Fatal(err)
		}
		edited := time.Now()
		for n := 1; ; n++ {
			id := uuid.NewString()
			acct := fmt.Sprintf("ACCOMPOSERULE%03d", n)
			produce(t, composeKafka, contract.RawTransactions, []byte(acct), rawRecord(id, acct, "5000.00"))
			if _, ok := waitAlert(t, alerts, id, "high_value", 20*time.Second); ok {
				break
			}
			if time.Since(edited) > 3*time.Minute {
				t.Fatal("3 minutes after lowering the threshold to 2,000 USD, 5,000 USD still raises no high_value alert")
			}
		}
		figures["rule edit in force after"] = time.Since(edited).Round(100 * time.Millisecond).String()
		if _, n := c.state("flink"); n != flinkRestarts {
			t.Errorf("the flink container restarted (%d → %d) for a rule edit", flinkRestarts, n)
		}
	})

	t.Run("SIGKILL inside the ingest and flink containers: the restart policy brings them back", func(t *testing.T) {
		for _, svc := range []string{"ingest", "flink"} {
			d := c.killInside(svc)
			figures["recovery after SIGKILL of "+svc] = d.Round(100 * time.Millisecond).String()
			c.waitGrows(c.lakeRows(), 3*time.Minute, "after the "+svc+" restart")
		}
	})

	t.Run("90 s paused (a laptop's sleep), then the pipeline resumes by itself", func(t *testing.T) {
		c.compose("pause")
		time.Sleep(90 * time.Second)
		c.compose("unpause")
		resumed := time.Now()
		c.waitGrows(c.lakeRows(), 3*time.Minute, "after unpause")
		c.waitHealthy(3 * time.Minute)
		figures["healthy and landing again after unpause"] = time.Since(resumed).Round(time.Second).String()
	})

	// What the containers use at this point of the run (generator at 10 tx/s since `just up`), beside their limits.
	stats, _ := c.run(time.Minute, "docker", "stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.CPUPerc}}")
	t.Logf("docker stats %s after `just up`:\n%s", time.Since(start).Round(time.Second), stats)

	landedBefore := checkComposeExactlyOnce(t, c, "after the faults")

	t.Run("just compose-down stops everything", func(t *testing.T) {
		start := time.Now()
		c.must(5*time.Minute, "just", "compose-down")
		figures["just compose-down"] = time.Since(start).Round(100 * time.Millisecond).String()
		if out := strings.TrimSpace(c.compose("ps", "-q")); out != "" {
			t.Fatalf("containers still running after compose-down: %s", out)
		}
	})

	t.Run("just up again: the lake, topics and checkpoints are still there and ingest resumes exactly once", func(t *testing.T) {
		start := time.Now()
		c.must(20*time.Minute, "just", "up")
		figures["just up to healthy (second start, volumes kept)"] = time.Since(start).Round(time.Second).String()
		if n := c.lakeRows(); n < landedBefore {
			t.Fatalf("lake.transactions holds %d rows after the restart, %d before", n, landedBefore)
		}
		logs := c.compose("logs", "--no-color", "flink")
		if !strings.Contains(logs, "resuming from checkpoint") {
			t.Errorf("the Flink job did not resume from its checkpoint volume; its log:\n%s", tail([]byte(logs), 3000))
		}
		c.waitGrows(landedBefore, 3*time.Minute, "after the second just up")
		checkComposeExactlyOnce(t, c, "after the second start")
	})
}

// checkComposeExactlyOnce stops the generator, waits until ingest has landed
// everything the Flink job emitted, and checks that every raw record became
// exactly one processed record or dead letter, and every processed record
// exactly one lake row. It returns the lake's row count and restarts the
// generator.
func checkComposeExactlyOnce(t *testing.T, c *composeStack, when string) int64 {
	t.Helper()
	var landed int64
	t.Run("nothing lost or duplicated "+when, func(t *testing.T) {
		c.compose("stop", "generator")
		defer c.compose("start", "generator")
		raw := sumOffsets(endOffsets(t, &pipeline{ports: stack.DefaultPorts()}, contract.RawTransactions))
		processed := map[string]int{}
		var dead int
		deadline := time.Now().Add(5 * time.Minute)
		for {
			processed = map[string]int{}
			drain(t, composeKafka, contract.TransactionsProcessed, 3*time.Second, func(r *kgo.Record) {
				var ev event
				if json.Unmarshal(r.Value, &ev) == nil {
					processed[ev.TransactionID+"/"+ev.Status]++
				}
			})
			dead = 0
			drain(t, composeKafka, contract.DeadLetter, 3*time.Second, func(*kgo.Record) { dead++ })
			if int64(total(processed)+dead) >= raw || time.Now().After(deadline) {
				break
			}
			time.Sleep(2 * time.Second)
		}
		if got := int64(total(processed) + dead); got != raw {
			t.Errorf("%d raw records, but %d processed + %d dead letters = %d", raw, total(processed), dead, got)
		}
		for k, n := range processed {
			if n > 1 {
				t.Errorf("transactions-processed holds %s %d times", k, n)
			}
		}
		want := int64(len(processed))
		deadline = time.Now().Add(3 * time.Minute)
		for landed = c.lakeRows(); landed < want && time.Now().Before(deadline); landed = c.lakeRows() {
			time.Sleep(2 * time.Second)
		}
		time.Sleep(5 * time.Second) // a duplicate committed late is seen too
		landed = c.lakeRows()
		distinct := c.count("SELECT count(DISTINCT transaction_id || '/' || status) FROM lake.transactions")
		if landed != want || distinct != landed {
			t.Errorf("lake.transactions: %d rows, %d distinct (transaction_id, status); transactions-processed: %d", landed, distinct, want)
		} else {
			t.Logf("%d raw records → %d processed + %d dead letters; lake.transactions holds each processed event once", raw, want, dead)
		}
	})
	return landed
}
