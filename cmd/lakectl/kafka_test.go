package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKafkaRunServesUntilSIGTERM drives the contract that Java and Python
// tests rely on: `lakectl kafka run --ready-file` writes the bootstrap
// address once the broker serves (here: topics can be created on it), and
// SIGTERM stops broker and command cleanly.
func TestKafkaRunServesUntilSIGTERM(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	cmd := exec.Command(os.Args[0], "kafka", "run", "--dir", filepath.Join(dir, "kafka"), "--port", "0",
		"--quick-start", "--quiet", "--ready-file", ready)
	cmd.Env = append(os.Environ(), "LAKECTL_TEST_AS_MAIN=1", "FINLAKE_LOG_FORMAT=text")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})

	var addr string
	deadline := time.Now().Add(3 * time.Minute)
	for addr == "" {
		if raw, err := os.ReadFile(ready); err == nil {
			addr = strings.TrimSpace(string(raw))
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("lakectl kafka run exited before ready: %v\n%s", err, stderr.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready file after 3 minutes\n%s", stderr.String())
		}
	}
	created := lakectl(t, nil, "", "topics", "create", "--brokers", addr).mustOK(t)
	again := lakectl(t, nil, "", "topics", "create", "--brokers", addr).mustOK(t)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var runErr error
	select {
	case runErr = <-exited:
	case <-time.After(time.Minute):
		t.Fatalf("lakectl kafka run still running a minute after SIGTERM\n%s", stderr.String())
	}
	_, readyLeft := os.Stat(ready)
	if strings.Count(created.stdout, "created ") != 5 || strings.Count(again.stdout, "found ") != 5 ||
		runErr != nil || readyLeft == nil {
		t.Fatalf("first create:\n%ssecond create:\n%skafka run exit: %v, ready file left behind: %v\nstderr:\n%s",
			created.stdout, again.stdout, runErr, readyLeft == nil, stderr.String())
	}
}
