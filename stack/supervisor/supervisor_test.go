package supervisor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/finlake/finlake/internal/testsupport"
)

// syncBuffer collects the supervisor's slog output for assertions.
type syncBuffer struct{ testsupport.SyncBuffer }

func (s *syncBuffer) records(t *testing.T) []map[string]any {
	var out []map[string]any
	for _, line := range bytes.Split(s.Bytes(), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("supervisor log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func newSup(t *testing.T, specs []Spec, opts Options) (*Supervisor, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	if opts.LogDir == "" {
		opts.LogDir = t.TempDir()
	}
	opts.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	s, err := New(specs, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s, logs
}

func statusOf(s *Supervisor, name string) Status {
	for _, st := range s.Status() {
		if st.Name == name {
			return st
		}
	}
	return Status{}
}

func TestStartWaitsForEachDependencyToBeHealthy(t *testing.T) {
	dbAddr, apiAddr := testsupport.FreeAddr(t), testsupport.FreeAddr(t)
	// db takes a while to listen; api exits with an error if db is not
	// serving when it starts, which would show up as a restart.
	db := helperSpec(t, "db", "http", "HELPER_ADDR="+dbAddr, "HELPER_DELAY=700ms")
	db.Health = Check{HTTP: "http://" + dbAddr + "/healthz", Timeout: 20 * time.Second}
	api := helperSpec(t, "api", "require-http", "HELPER_ADDR="+apiAddr, "HELPER_REQUIRE=http://"+dbAddr+"/healthz")
	api.DependsOn = []string{"db"}
	api.Health = Check{TCP: apiAddr, Timeout: 20 * time.Second}
	// Declared dependent-first on purpose: the order must come from DependsOn.
	s, _ := newSup(t, []Spec{api, db}, Options{})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	dbSt, apiSt := statusOf(s, "db"), statusOf(s, "api")
	if apiSt.Restarts != 0 || !apiSt.StartedAt.After(dbSt.HealthyAt) || apiSt.State != Running {
		t.Fatalf("api started %v, db healthy %v; api restarts %d, state %s", apiSt.StartedAt, dbSt.HealthyAt, apiSt.Restarts, apiSt.State)
	}
}

func TestStartFailsAndStartsNoDependentWhenHealthNeverPasses(t *testing.T) {
	never := helperSpec(t, "never", "ignore-term")
	never.Health = Check{TCP: testsupport.FreeAddr(t), Timeout: time.Second, Interval: 50 * time.Millisecond}
	never.StopTimeout = 200 * time.Millisecond
	dep := helperSpec(t, "dependent", "ignore-term")
	dep.DependsOn = []string{"never"}
	s, _ := newSup(t, []Spec{never, dep}, Options{})
	err := s.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "start never") {
		t.Fatalf("Start error = %v, want one naming process never", err)
	}
	if st := statusOf(s, "dependent"); !st.StartedAt.IsZero() {
		t.Fatalf("dependent was started at %v although its dependency never became healthy", st.StartedAt)
	}
}

func TestRestartsKilledProcessWithGrowingBackoff(t *testing.T) {
	addr := testsupport.FreeAddr(t)
	sp := helperSpec(t, "svc", "http", "HELPER_ADDR="+addr)
	sp.Health = Check{HTTP: "http://" + addr + "/healthz", Interval: 20 * time.Millisecond}
	const minBackoff = 300 * time.Millisecond
	s, logs := newSup(t, []Spec{sp}, Options{MinBackoff: minBackoff, MaxBackoff: 5 * time.Second, StableAfter: time.Minute})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var gaps []time.Duration
	for i := 1; i <= 2; i++ {
		old := statusOf(s, "svc").PID
		killedAt := time.Now()
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "svc restarted and healthy", func() bool {
			st := statusOf(s, "svc")
			return st.Restarts == i && st.State == Running && st.PID != old
		})
		gaps = append(gaps, statusOf(s, "svc").StartedAt.Sub(killedAt))
	}
	// Backoff doubles: the first restart waits at least min, the second at least 2×min.
	if gaps[0] < minBackoff || gaps[1] < 2*minBackoff {
		t.Fatalf("restart delays %v, want at least %v then %v", gaps, minBackoff, 2*minBackoff)
	}
	var restarts int
	for _, r := range logs.records(t) {
		if r["msg"] == "process died; restarting after backoff" && r["proc"] == "svc" && strings.Contains(r["exit"].(string), "killed") {
			restarts++
		}
	}
	if restarts != 2 {
		t.Fatalf("logged %d restarts after SIGKILL, want 2", restarts)
	}
}

func TestStopTerminatesDependentsBeforeDependencies(t *testing.T) {
	termFile := filepath.Join(t.TempDir(), "terms")
	aAddr, bAddr := testsupport.FreeAddr(t), testsupport.FreeAddr(t)
	a := helperSpec(t, "a", "http", "HELPER_ADDR="+aAddr, "HELPER_TERM_FILE="+termFile)
	a.Health = Check{TCP: aAddr}
	b := helperSpec(t, "b", "http", "HELPER_ADDR="+bAddr, "HELPER_TERM_FILE="+termFile)
	b.Health = Check{TCP: bAddr}
	b.DependsOn = []string{"a"}
	s, _ := newSup(t, []Spec{a, b}, Options{})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("graceful stop reported %v", err)
	}
	data, err := os.ReadFile(termFile)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		order = append(order, strings.Fields(line)[0])
	}
	if strings.Join(order, ",") != "b,a" {
		t.Fatalf("SIGTERM handled in order %v, want b then a", order)
	}
	for _, st := range s.Status() {
		if st.State != Stopped || st.LastExit != "exit status 0" {
			t.Fatalf("%s: state %s, last exit %q; want stopped after a clean exit", st.Name, st.State, st.LastExit)
		}
	}
}

func TestStopKillsProcessGroupThatIgnoresSIGTERM(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	stubborn := helperSpec(t, "stubborn", "ignore-term")
	stubborn.StopTimeout = 300 * time.Millisecond
	stubborn.Health = Check{Settle: 100 * time.Millisecond}
	// parent forks a child into its process group; the child must not survive.
	parent := helperSpec(t, "parent", "spawn", "HELPER_PID_FILE="+pidFile, "HELPER_ALLOC_MB=1")
	parent.Health = Check{Func: func(context.Context) error { _, err := os.Stat(pidFile); return err }}
	s, _ := newSup(t, []Spec{stubborn, parent}, Options{})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(pidFile)
	child, _ := strconv.Atoi(string(b))
	stubbornPID := s.PID("stubborn")
	err := s.Stop()
	if err == nil || !strings.Contains(err.Error(), "stubborn") {
		t.Fatalf("Stop error = %v, want it to name the SIGKILLed stubborn process", err)
	}
	if alive(stubbornPID) || alive(child) {
		t.Fatalf("after Stop: stubborn alive %v, forked child alive %v", alive(stubbornPID), alive(child))
	}
}

func TestLogsAreJSONLinesWithPlainOutputWrapped(t *testing.T) {
	dir := t.TempDir()
	addr := testsupport.FreeAddr(t)
	sp := helperSpec(t, "talker", "http", "HELPER_ADDR="+addr)
	sp.Health = Check{TCP: addr}
	s, _ := newSup(t, []Spec{sp}, Options{LogDir: dir})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var passed, wrapped bool
	eventually(t, 10*time.Second, "both helper lines in the log", func() bool {
		f, err := os.Open(filepath.Join(dir, "talker.log"))
		if err != nil {
			return false
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("log line is not JSON: %q", sc.Text())
			}
			if m["msg"] == "helper serving" && m["addr"] == addr {
				passed = true
			}
			if m["msg"] == "plain text on stderr from talker" && m["proc"] == "talker" && m["stream"] == "stderr" && m["ts"] != nil {
				wrapped = true
			}
		}
		return passed && wrapped
	})
}

func TestLogRotatesPastMaxSize(t *testing.T) {
	dir := t.TempDir()
	l, err := openLog(dir, "p", 1000)
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReader(strings.Repeat("x", 90) + "\n")
	for i := 0; i < 30; i++ {
		r.Seek(0, 0)
		l.copyLines(r, "stdout")
	}
	l.close()
	cur, err1 := os.Stat(filepath.Join(dir, "p.log"))
	old, err2 := os.Stat(filepath.Join(dir, "p.log.1"))
	if err1 != nil || err2 != nil || cur.Size() > 1000 || old.Size() > 1000 {
		t.Fatalf("after 30 lines of ~150 bytes with a 1000-byte cap: p.log %v %v, p.log.1 %v %v", cur, err1, old, err2)
	}
}

func TestStatusRSSIncludesForkedChildren(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	sp := helperSpec(t, "jvm-like", "spawn", "HELPER_PID_FILE="+pidFile, "HELPER_ALLOC_MB=64")
	sp.Health = Check{Func: func(context.Context) error { _, err := os.Stat(pidFile); return err }}
	s, _ := newSup(t, []Spec{sp}, Options{})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "RSS of the process tree above 64 MiB", func() bool {
		st := statusOf(s, "jvm-like")
		return st.RSSBytes > 64<<20 && vmRSS(st.PID) < 64<<20
	})
}

func TestChildrenDieWhenSupervisorIsKilled(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig is Linux-only")
	}
	dir := t.TempDir()
	exe, _ := os.Executable()
	sup := exec.Command(exe)
	sup.Env = append(os.Environ(), "FINLAKE_SUP_HELPER=supervise", "HELPER_LOG_DIR="+dir)
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sup.Process.Kill(); _ = sup.Wait() })
	var child int
	eventually(t, 20*time.Second, "the supervised child's pid", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "child.pid"))
		child, _ = strconv.Atoi(string(b))
		return err == nil && child > 0
	})
	if !alive(child) {
		t.Fatal("child not running before the supervisor is killed")
	}
	_ = sup.Process.Kill()
	_ = sup.Wait()
	eventually(t, 10*time.Second, "the child to die with its supervisor", func() bool { return !alive(child) })
}

func TestNewRejectsCyclesAndUnknownDependencies(t *testing.T) {
	cases := map[string][]Spec{
		"cycle":   {{Name: "a", Command: "true", DependsOn: []string{"b"}}, {Name: "b", Command: "true", DependsOn: []string{"a"}}},
		"unknown": {{Name: "a", Command: "true", DependsOn: []string{"zz"}}},
		"missing": {{Name: "a", Command: "no-such-command-finlake"}},
	}
	for name, specs := range cases {
		if _, err := New(specs, Options{LogDir: t.TempDir()}); err == nil {
			t.Errorf("%s: New accepted %+v", name, specs)
		}
	}
}
