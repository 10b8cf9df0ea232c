package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/stack/supervisor"
)

// A running stack is found through three files under <data>/stack/:
//   supervisor.lock  flock held by the running supervisor (one stack per data dir)
//   supervisor.pid   its pid, for `down` to signal
//   state.json       what `status` prints, rewritten every second
// No socket: signals and a state file work the same from any shell, survive
// a supervisor crash (the lock goes with the process) and need no protocol.

// Phase is where the stack as a whole is.
type Phase string

const (
	PhaseStarting Phase = "starting"
	PhaseUp       Phase = "up"
	PhaseStopping Phase = "stopping"
	PhaseStopped  Phase = "stopped"
	PhaseFailed   Phase = "failed"
)

// State is the content of state.json.
type State struct {
	PID       int                 `json:"pid"`
	Phase     Phase               `json:"phase"`
	Error     string              `json:"error,omitempty"`
	StartedAt time.Time           `json:"started_at"`
	UpdatedAt time.Time           `json:"updated_at"`
	DataDir   string              `json:"data_dir"`
	Endpoints map[string]string   `json:"endpoints,omitempty"`
	Processes []supervisor.Status `json:"processes"`
}

// TotalRSS sums the processes' RSS.
func (s State) TotalRSS() int64 {
	var n int64
	for _, p := range s.Processes {
		n += p.RSSBytes
	}
	return n
}

// The stack's own files, in the data dir's stack/ entry.
func stackDir(dataDir string) string  { return contract.DataDir{Root: dataDir}.Stack() }
func lockPath(dataDir string) string  { return filepath.Join(stackDir(dataDir), "supervisor.lock") }
func pidPath(dataDir string) string   { return filepath.Join(stackDir(dataDir), "supervisor.pid") }
func statePath(dataDir string) string { return filepath.Join(stackDir(dataDir), "state.json") }

// ErrNotRunning says no supervisor holds the data dir.
var ErrNotRunning = errors.New("no stack is running on this data directory")

// lock takes the data dir's supervisor lock without waiting.
func lock(dataDir string) (release func(), err error) {
	if err := os.MkdirAll(stackDir(dataDir), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", stackDir(dataDir), err)
	}
	f, err := os.OpenFile(lockPath(dataDir), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid, _ := readPID(dataDir)
			return nil, fmt.Errorf("a stack is already running on %s (supervisor pid %d): `lakectl stack status` shows it, `lakectl stack down` stops it", dataDir, pid)
		}
		return nil, fmt.Errorf("lock %s: %w", lockPath(dataDir), err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// Running gives the pid of the supervisor holding dataDir, or ErrNotRunning.
func Running(dataDir string) (int, error) {
	f, err := os.OpenFile(lockPath(dataDir), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return 0, ErrNotRunning
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return 0, ErrNotRunning
	}
	pid, err := readPID(dataDir)
	if err != nil {
		return 0, fmt.Errorf("the stack lock is held but its pid file is unreadable: %w", err)
	}
	return pid, nil
}

func readPID(dataDir string) (int, error) {
	b, err := os.ReadFile(pidPath(dataDir))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// ReadState reads the last state the supervisor wrote (also after it stopped).
func ReadState(dataDir string) (State, error) {
	var st State
	b, err := os.ReadFile(statePath(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return st, ErrNotRunning
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("parse %s: %w", statePath(dataDir), err)
	}
	return st, nil
}

// writeState replaces state.json atomically, so readers never see half of it.
func writeState(dataDir string, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := statePath(dataDir) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, statePath(dataDir))
}

// WaitPhase polls state.json until the supervisor reports one of phases.
// It fails when the supervisor reports failed or stopped, when exited (the
// supervisor process's end, if the caller started it) fires, or when ctx ends.
func WaitPhase(ctx context.Context, dataDir string, exited <-chan struct{}, phases ...Phase) (State, error) {
	for {
		st, err := ReadState(dataDir)
		if err == nil {
			for _, p := range phases {
				if st.Phase == p {
					return st, nil
				}
			}
			if st.Phase == PhaseFailed || st.Phase == PhaseStopped {
				return st, fmt.Errorf("stack %s: %s", st.Phase, st.Error)
			}
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-exited:
			if st2, err := ReadState(dataDir); err == nil && st2.Error != "" {
				return st2, fmt.Errorf("supervisor exited: %s", st2.Error)
			}
			return st, errors.New("supervisor exited")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Down asks the supervisor of dataDir to stop (SIGTERM) and waits until it
// has released the data dir. If it is still there after grace it is
// SIGKILLed; its children then die with it (Linux) or by their process group.
func Down(ctx context.Context, dataDir string, grace time.Duration) error {
	pid, err := Running(dataDir)
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal supervisor pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(grace)
	for {
		if _, err := Running(dataDir); errors.Is(err, ErrNotRunning) {
			return nil
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return fmt.Errorf("supervisor pid %d did not stop within %s; SIGKILLed it", pid, grace)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ClearState removes a stopped stack's state.json, so a new start is not
// mistaken for the old one's final state. It refuses while a stack runs.
func ClearState(dataDir string) error {
	if pid, err := Running(dataDir); err == nil {
		return fmt.Errorf("a stack is running on %s (supervisor pid %d)", dataDir, pid)
	}
	if err := os.Remove(statePath(dataDir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
