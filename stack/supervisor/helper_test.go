package supervisor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/finlake/finlake/internal/testsupport"
)

// The test binary doubles as the small real processes the supervisor runs:
// with FINLAKE_SUP_HELPER set, TestMain runs that helper instead of tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("FINLAKE_SUP_HELPER"); mode != "" {
		os.Exit(helper(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// helperSpec builds a Spec that runs this test binary in the given mode.
func helperSpec(t *testing.T, name, mode string, env ...string) Spec {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Spec{Name: name, Command: exe, Env: append([]string{"FINLAKE_SUP_HELPER=" + mode, "HELPER_NAME=" + name}, env...)}
}

func helper(mode string, _ []string) int {
	name := os.Getenv("HELPER_NAME")
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	recordTerm := func() {
		if f := os.Getenv("HELPER_TERM_FILE"); f != "" {
			fh, err := os.OpenFile(f, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
			if err == nil {
				fmt.Fprintf(fh, "%s %d\n", name, time.Now().UnixNano())
				fh.Close()
			}
		}
	}
	switch mode {
	case "http", "require-http":
		if mode == "require-http" {
			if err := HTTPGetOK(context.Background(), os.Getenv("HELPER_REQUIRE")); err != nil {
				fmt.Fprintln(os.Stderr, "dependency not up:", err)
				return 3
			}
		}
		if d, _ := time.ParseDuration(os.Getenv("HELPER_DELAY")); d > 0 {
			time.Sleep(d)
		}
		ln, err := net.Listen("tcp", os.Getenv("HELPER_ADDR"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "listen:", err)
			return 2
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
		go http.Serve(ln, mux)
		slog.New(slog.NewJSONHandler(os.Stdout, nil)).Info("helper serving", "addr", ln.Addr().String())
		fmt.Fprintln(os.Stderr, "plain text on stderr from", name)
		<-term
		recordTerm()
		return 0
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ignoring SIGTERM")
		select {}
	case "spawn":
		// Forks a child that allocates and touches HELPER_ALLOC_MB, then waits.
		exe, _ := os.Executable()
		c := exec.Command(exe)
		c.Env = append(os.Environ(), "FINLAKE_SUP_HELPER=alloc")
		c.Stdout, c.Stderr = os.Stdout, os.Stderr
		if err := c.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "spawn:", err)
			return 2
		}
		if f := os.Getenv("HELPER_PID_FILE"); f != "" {
			os.WriteFile(f, []byte(strconv.Itoa(c.Process.Pid)), 0o644)
		}
		<-term
		recordTerm()
		c.Wait()
		return 0
	case "alloc":
		mb, _ := strconv.Atoi(os.Getenv("HELPER_ALLOC_MB"))
		buf := make([]byte, mb<<20)
		for i := 0; i < len(buf); i += 4096 {
			buf[i] = 1
		}
		fmt.Println("allocated", mb, "MB")
		<-term
		_ = buf[len(buf)/2]
		return 0
	case "supervise":
		// A supervisor in its own process, so a test can SIGKILL it.
		exe, _ := os.Executable()
		s, err := New([]Spec{{Name: "child", Command: exe, Env: []string{"FINLAKE_SUP_HELPER=alloc", "HELPER_ALLOC_MB=1"}}},
			Options{LogDir: os.Getenv("HELPER_LOG_DIR")})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if err := s.Start(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		os.WriteFile(filepath.Join(os.Getenv("HELPER_LOG_DIR"), "child.pid"), []byte(strconv.Itoa(s.PID("child"))), 0o644)
		select {}
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 2
}

// eventually polls cond every 20ms until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testsupport.Eventually(t, within, 20*time.Millisecond, what, cond)
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	// A zombie still answers kill 0; count it as dead.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err == nil {
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] == ')' {
				return !(i+2 < len(b) && b[i+2] == 'Z')
			}
		}
	}
	return true
}
