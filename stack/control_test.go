package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/internal/testsupport"
	"github.com/finlake/finlake/stack/supervisor"
)

// With FINLAKE_STACK_HELPER set the test binary is a stack supervisor (or
// one of its processes), so Down can signal a real separate process.
func TestMain(m *testing.M) {
	switch os.Getenv("FINLAKE_STACK_HELPER") {
	case "run":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		exe, _ := os.Executable()
		specs := []supervisor.Spec{
			{Name: "first", Command: exe, Env: []string{"FINLAKE_STACK_HELPER=sleep"}, Health: supervisor.Check{Settle: 200 * time.Millisecond}},
			{Name: "second", Command: exe, Env: []string{"FINLAKE_STACK_HELPER=sleep"}, DependsOn: []string{"first"},
				Health: supervisor.Check{Settle: 200 * time.Millisecond}},
		}
		if err := Run(ctx, specs, RunOptions{DataDir: os.Getenv("HELPER_DATA")}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case "sleep":
		fmt.Println("sleeping until SIGTERM")
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		<-ctx.Done()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func startSupervisorProcess(t *testing.T, data string) (*exec.Cmd, <-chan struct{}) {
	t.Helper()
	exe, _ := os.Executable()
	c := exec.Command(exe)
	c.Env = append(os.Environ(), "FINLAKE_STACK_HELPER=run", "HELPER_DATA="+data)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = c.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = c.Process.Kill()
		<-exited
	})
	return c, exited
}

func TestDownStopsASupervisorRunningInAnotherProcess(t *testing.T) {
	data := t.TempDir()
	_, exited := startSupervisorProcess(t, data)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := WaitPhase(ctx, data, exited, PhaseUp)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, p := range st.Processes {
		if p.State != supervisor.Running || p.PID == 0 {
			t.Fatalf("state.json says %s is %s with pid %d, want running", p.Name, p.State, p.PID)
		}
		pids = append(pids, p.PID)
	}
	if pid, err := Running(data); err != nil || pid != st.PID {
		t.Fatalf("Running = %d, %v; state.json pid %d", pid, err, st.PID)
	}

	if err := Down(ctx, data, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	final, err := ReadState(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("process %d still alive after down", pid)
		}
	}
	if _, err := Running(data); !errors.Is(err, ErrNotRunning) || final.Phase != PhaseStopped || final.Error != "" {
		t.Fatalf("after down: Running err %v, phase %s, error %q", err, final.Phase, final.Error)
	}
}

func TestSecondStackOnSameDataDirIsRefused(t *testing.T) {
	data := t.TempDir()
	_, exited := startSupervisorProcess(t, data)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := WaitPhase(ctx, data, exited, PhaseUp); err != nil {
		t.Fatal(err)
	}
	err := Run(ctx, []supervisor.Spec{{Name: "x", Command: "true"}}, RunOptions{DataDir: data})
	if err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Run on a busy data dir: %v", err)
	}
	_ = Down(ctx, data, 20*time.Second)
}

func TestLogsFollowPrintsNewLinesAcrossRotation(t *testing.T) {
	data := t.TempDir()
	if err := os.MkdirAll(contract.DataDir{Root: data}.Logs(), 0o755); err != nil {
		t.Fatal(err)
	}
	path := LogPath(data, "svc")
	var old []string
	for i := 0; i < 100; i++ {
		old = append(old, fmt.Sprintf(`{"n":%d}`, i))
	}
	if err := os.WriteFile(path, []byte(strings.Join(old, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &testsupport.SyncBuffer{}
	done := make(chan error)
	go func() { done <- PrintLogs(ctx, out, data, []string{"svc"}, 3, true) }()

	appendLine := func(line string) {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(f, line)
		f.Close()
	}
	time.Sleep(400 * time.Millisecond)
	appendLine(`{"n":"new"}`)
	time.Sleep(400 * time.Millisecond)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendLine(`{"n":"rotated"}`)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "rotated") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := "{\"n\":97}\n{\"n\":98}\n{\"n\":99}\n{\"n\":\"new\"}\n{\"n\":\"rotated\"}\n"
	if got := out.String(); got != want {
		t.Fatalf("logs -f printed:\n%s\nwant:\n%s", got, want)
	}
}

func TestSpecsSkipDropsProcessAndDependency(t *testing.T) {
	cfg := Config{DataDir: t.TempDir(), Bin: "/bin/true", Skip: []string{Generator, Flink}}
	specs, err := cfg.Specs()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
		for _, d := range s.DependsOn {
			if d == Flink || d == Generator {
				t.Errorf("%s still depends on skipped %s", s.Name, d)
			}
		}
	}
	if strings.Join(names, ",") != "kafka,rules,ingest,serve" {
		t.Fatalf("processes %v", names)
	}
	if _, err := (Config{DataDir: t.TempDir(), Skip: []string{"nope"}}).Specs(); err == nil {
		t.Fatal("skipping an unknown process was accepted")
	}
}

func TestProcArgsAppendToTheNamedProcessOnly(t *testing.T) {
	extra, err := ParseProcArgs([]string{"ingest=--commit-interval 1s", "flink=--state-ttl=2h", "ingest=--retain=1h"})
	if err != nil {
		t.Fatal(err)
	}
	specs, err := Config{DataDir: t.TempDir(), Bin: "/bin/true", Extra: extra}.Specs()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		got := strings.Join(s.Args, " ")
		switch s.Name {
		case Ingest:
			if !strings.HasSuffix(got, " --commit-interval 1s --retain=1h") {
				t.Errorf("ingest args %q do not end with the passed ones", got)
			}
		case Flink:
			if !strings.HasSuffix(got, " --state-ttl=2h") {
				t.Errorf("flink args %q do not end with --state-ttl=2h", got)
			}
		default:
			if strings.Contains(got, "--commit-interval") || strings.Contains(got, "--state-ttl") {
				t.Errorf("%s got another process's arguments: %q", s.Name, got)
			}
		}
	}
	for _, bad := range []string{"ingest", "ingest=", "nope=--x 1"} {
		if _, err := ParseProcArgs([]string{bad}); err == nil {
			t.Errorf("--proc-arg %q was accepted", bad)
		}
	}
}
