package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/finlake/finlake/internal/testsupport"
)

// The tests run lakectl as a user would: as a separate process with its own
// flags, output and exit code. The test binary re-executes itself as lakectl
// (no separate build, always the code under test).
func TestMain(m *testing.M) {
	if os.Getenv("LAKECTL_TEST_AS_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	testsupport.Main(m)
}

type result struct {
	stdout, stderr string
	code           int
}

// lakectl runs the CLI with args and env (KEY=VALUE) and stdin.
func lakectl(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "LAKECTL_TEST_AS_MAIN=1", "FINLAKE_LOG_FORMAT=text", "FINLAKE_TOKEN=", "FINLAKE_FLIGHT=", "COLUMNS=200"), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run lakectl %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

func (r result) mustOK(t *testing.T) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r
}
