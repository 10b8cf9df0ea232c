package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"syscall"
	"time"
)

// DiskState is the disk guard's verdict on the warehouse filesystem.
type DiskState int

const (
	DiskOK       DiskState = iota
	DiskWarning            // at or above the warning threshold: keep going, tell people
	DiskCritical           // at or above the stop threshold: no consuming, no committing
)

func (s DiskState) String() string {
	switch s {
	case DiskWarning:
		return "warning"
	case DiskCritical:
		return "critical"
	default:
		return "ok"
	}
}

// DiskGuard watches how full the warehouse's filesystem is. Writers consult
// it before consuming and before committing; at the stop threshold they
// abandon the batch in hand (offsets do not advance, so nothing is lost) and
// wait until space returns.
type DiskGuard struct {
	Dir         string
	WarnPercent float64
	StopPercent float64

	mu       sync.Mutex
	state    DiskState
	used     float64 // percent
	free     uint64
	err      error
	changed  chan struct{} // closed and replaced on every state change
	onChange func(DiskState, float64)
}

// NewDiskGuard checks dir once so the state is known before anything runs.
func NewDiskGuard(dir string, warnPercent, stopPercent float64) (*DiskGuard, error) {
	if warnPercent <= 0 || stopPercent <= 0 || warnPercent > 100 || stopPercent > 100 || warnPercent > stopPercent {
		return nil, fmt.Errorf("disk thresholds: want 0 < warn (%g) <= stop (%g) <= 100", warnPercent, stopPercent)
	}
	g := &DiskGuard{Dir: dir, WarnPercent: warnPercent, StopPercent: stopPercent, changed: make(chan struct{})}
	if err := g.Check(); err != nil {
		return nil, err
	}
	return g, nil
}

// Check measures the filesystem now and updates the state.
func (g *DiskGuard) Check() error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(g.Dir, &st); err != nil {
		g.mu.Lock()
		g.err = err
		g.mu.Unlock()
		return fmt.Errorf("disk guard: statfs %s: %w", g.Dir, err)
	}
	total := float64(st.Blocks) * float64(st.Bsize)
	avail := float64(st.Bavail) * float64(st.Bsize)
	used := 0.0
	if total > 0 {
		// As df computes it: what unprivileged users can no longer use.
		usedBlocks := float64(st.Blocks-st.Bfree) * float64(st.Bsize)
		used = 100 * usedBlocks / (usedBlocks + avail)
	}
	state := DiskOK
	switch {
	case used >= g.StopPercent:
		state = DiskCritical
	case used >= g.WarnPercent:
		state = DiskWarning
	}
	g.mu.Lock()
	prev := g.state
	g.state, g.used, g.free, g.err = state, used, uint64(avail), nil
	var cb func(DiskState, float64)
	if prev != state {
		close(g.changed)
		g.changed = make(chan struct{})
		cb = g.onChange
	}
	g.mu.Unlock()
	if prev != state {
		g.log(state, used, uint64(avail))
		if cb != nil {
			cb(state, used)
		}
	}
	return nil
}

func (g *DiskGuard) log(state DiskState, used float64, free uint64) {
	attrs := []any{"dir", g.Dir, "used_percent", fmt.Sprintf("%.1f", used), "free_bytes", free,
		"warn_percent", g.WarnPercent, "stop_percent", g.StopPercent}
	switch state {
	case DiskCritical:
		slog.Error("disk guard: warehouse filesystem almost full; ingest stopped consuming and committing "+
			"(offsets not advanced, nothing lost); free space and it resumes by itself", attrs...)
	case DiskWarning:
		slog.Warn("disk guard: warehouse filesystem filling up; run `lakectl maintain` or free space", attrs...)
	default:
		slog.Info("disk guard: warehouse filesystem has room again", attrs...)
	}
}

// Run re-checks every interval until ctx ends.
func (g *DiskGuard) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := g.Check(); err != nil {
				slog.Warn("disk guard check failed", "err", err)
			}
		}
	}
}

// State gives the current state and percent used.
func (g *DiskGuard) State() (DiskState, float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state, g.used
}

// Critical reports whether writers must stop.
func (g *DiskGuard) Critical() bool {
	s, _ := g.State()
	return s == DiskCritical
}

// CriticalError describes the stop for logs, errors and /status.
func (g *DiskGuard) CriticalError() error {
	s, used := g.State()
	if s != DiskCritical {
		return nil
	}
	return fmt.Errorf("%w: %s is %.1f%% used (stop threshold %.0f%%): ingest paused, offsets not advanced; "+
		"free space (e.g. `lakectl maintain`, delete other files) and ingest resumes by itself",
		errDiskFull, g.Dir, used, g.StopPercent)
}

// WaitNotCritical blocks until the state is below critical or ctx ends.
func (g *DiskGuard) WaitNotCritical(ctx context.Context) error {
	for {
		g.mu.Lock()
		state, ch := g.state, g.changed
		g.mu.Unlock()
		if state != DiskCritical {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// Status is the guard's /status entry.
func (g *DiskGuard) Status() map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := map[string]any{
		"dir": g.Dir, "state": g.state.String(), "used_percent": round1(g.used), "free_bytes": g.free,
		"warn_percent": g.WarnPercent, "stop_percent": g.StopPercent,
	}
	switch g.state {
	case DiskWarning:
		m["message"] = fmt.Sprintf("warehouse filesystem %.1f%% used (warning at %.0f%%)", g.used, g.WarnPercent)
	case DiskCritical:
		m["message"] = fmt.Sprintf("warehouse filesystem %.1f%% used (stop at %.0f%%): ingest paused, offsets not advanced; free space to resume", g.used, g.StopPercent)
	}
	if g.err != nil {
		m["error"] = g.err.Error()
	}
	return m
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }
