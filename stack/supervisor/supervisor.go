package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options tune a Supervisor; zero values take the defaults in brackets.
type Options struct {
	LogDir      string        // where <name>.log files go (required)
	Logger      *slog.Logger  // supervisor events [slog.Default()]
	MinBackoff  time.Duration // first restart delay [500ms]
	MaxBackoff  time.Duration // restart delay cap [30s]
	StableAfter time.Duration // healthy this long resets the backoff [30s]
	// StopDeadline bounds the whole of Stop; whatever still runs at the end
	// is SIGKILLed [55s, so that `down` finishes within a minute].
	StopDeadline    time.Duration
	MonitorInterval time.Duration // health probe period once healthy [5s]
	MaxLogBytes     int64         // rotate a process log past this size [64 MiB]
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.StableAfter <= 0 {
		o.StableAfter = 30 * time.Second
	}
	if o.StopDeadline <= 0 {
		o.StopDeadline = 55 * time.Second
	}
	if o.MonitorInterval <= 0 {
		o.MonitorInterval = 5 * time.Second
	}
	if o.MaxLogBytes <= 0 {
		o.MaxLogBytes = 64 << 20
	}
}

// State is where a process is in its life under the supervisor.
type State string

const (
	Pending   State = "pending"   // waiting for its dependencies to be healthy
	Starting  State = "starting"  // running, health check not yet passed
	Running   State = "running"   // running and healthy
	Unhealthy State = "unhealthy" // running, but the periodic probe fails
	Backoff   State = "backoff"   // died; waiting to be restarted
	Stopping  State = "stopping"  // SIGTERM sent
	Stopped   State = "stopped"   // stopped by the supervisor
)

// Status is one process's externally visible state.
type Status struct {
	Name          string    `json:"name"`
	State         State     `json:"state"`
	PID           int       `json:"pid,omitempty"`
	StartedAt     time.Time `json:"started_at,omitzero"`
	HealthyAt     time.Time `json:"healthy_at,omitzero"`
	UptimeSeconds float64   `json:"uptime_s"`
	Restarts      int       `json:"restarts"`
	RSSBytes      int64     `json:"rss_bytes"`
	LastExit      string    `json:"last_exit,omitempty"`
	LastExitAt    time.Time `json:"last_exit_at,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
}

// Supervisor runs a fixed set of processes. Use New, then Start, then Stop.
type Supervisor struct {
	opts     Options
	specs    []Spec // dependency order
	depth    map[string]int
	procs    map[string]*proc
	stopping chan struct{} // closed when Stop begins: no more restarts
	stopOnce sync.Once
	started  bool
	wg       sync.WaitGroup
	stopErr  error
}

type proc struct {
	spec    Spec
	log     *logFile
	healthy chan struct{} // closed the first time the process is healthy
	gaveUp  chan struct{} // closed when the first start missed its health timeout
	hOnce   sync.Once
	gOnce   sync.Once

	mu         sync.Mutex
	st         Status
	cmd        *exec.Cmd
	exited     chan struct{} // closed when cmd has been reaped
	stopAsked  bool
	startError error
}

// New validates specs (names, dependencies, no cycles) and opens the logs.
func New(specs []Spec, opts Options) (*Supervisor, error) {
	opts.defaults()
	if opts.LogDir == "" {
		return nil, errors.New("supervisor: Options.LogDir is required")
	}
	sorted, depth, err := order(specs)
	if err != nil {
		return nil, err
	}
	for _, sp := range sorted {
		if _, err := exec.LookPath(sp.Command); err != nil {
			return nil, fmt.Errorf("supervisor: %s: %w", sp.Name, err)
		}
	}
	s := &Supervisor{opts: opts, specs: sorted, depth: depth, procs: map[string]*proc{}, stopping: make(chan struct{})}
	for _, sp := range sorted {
		l, err := openLog(opts.LogDir, sp.Name, opts.MaxLogBytes)
		if err != nil {
			for _, p := range s.procs {
				p.log.close()
			}
			return nil, fmt.Errorf("supervisor: %s: %w", sp.Name, err)
		}
		s.procs[sp.Name] = &proc{spec: sp, log: l, healthy: make(chan struct{}), gaveUp: make(chan struct{}),
			st: Status{Name: sp.Name, State: Pending}}
	}
	return s, nil
}

// Start launches every process, each once its dependencies are healthy, and
// returns when all are healthy. If one misses its health timeout, or ctx
// ends first, Start stops everything it started and returns the reason.
// Processes keep being supervised after Start returns, until Stop.
func (s *Supervisor) Start(ctx context.Context) error {
	if s.started {
		return errors.New("supervisor: Start called twice")
	}
	s.started = true
	for _, sp := range s.specs {
		s.wg.Add(1)
		go s.run(s.procs[sp.Name])
	}
	for _, sp := range s.specs {
		p := s.procs[sp.Name]
		select {
		case <-p.healthy:
		case <-p.gaveUp:
			p.mu.Lock()
			err := p.startError
			p.mu.Unlock()
			_ = s.Stop()
			return fmt.Errorf("start %s: %w (see %s)", sp.Name, err, p.log.path)
		case <-ctx.Done():
			_ = s.Stop()
			return fmt.Errorf("start %s: %w", sp.Name, ctx.Err())
		case <-s.stopping:
			return fmt.Errorf("start %s: supervisor stopped", sp.Name)
		}
	}
	s.opts.Logger.Info("all processes healthy", "count", len(s.specs))
	return nil
}

// Names lists the processes in start order.
func (s *Supervisor) Names() []string {
	out := make([]string, len(s.specs))
	for i, sp := range s.specs {
		out[i] = sp.Name
	}
	return out
}

// Status reports every process, in start order.
func (s *Supervisor) Status() []Status {
	out := make([]Status, 0, len(s.specs))
	now := time.Now()
	var pids []int
	for _, sp := range s.specs {
		p := s.procs[sp.Name]
		p.mu.Lock()
		st := p.st
		p.mu.Unlock()
		if st.PID > 0 && !st.StartedAt.IsZero() {
			st.UptimeSeconds = now.Sub(st.StartedAt).Seconds()
			pids = append(pids, st.PID)
		}
		out = append(out, st)
	}
	rss := treeRSS(pids)
	for i := range out {
		out[i].RSSBytes = rss[out[i].PID]
	}
	return out
}

// PID is the current pid of the named process, 0 when it is not running.
func (s *Supervisor) PID(name string) int {
	p, ok := s.procs[name]
	if !ok {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st.PID
}

// Stop ends supervision: no more restarts, then SIGTERM level by level in
// reverse dependency order (dependents before what they depend on), SIGKILL
// for any process that outlives its StopTimeout, and SIGKILL for everything
// left when the overall StopDeadline passes. It is safe to call more than once.
func (s *Supervisor) Stop() error {
	s.stopOnce.Do(func() {
		close(s.stopping)
		deadline := time.Now().Add(s.opts.StopDeadline)
		levels := map[int][]*proc{}
		maxDepth := 0
		for _, sp := range s.specs {
			d := s.depth[sp.Name]
			levels[d] = append(levels[d], s.procs[sp.Name])
			maxDepth = max(maxDepth, d)
		}
		var killed []string
		var mu sync.Mutex
		for d := maxDepth; d >= 0; d-- {
			var wg sync.WaitGroup
			for _, p := range levels[d] {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if p.terminate(deadline, s.opts.Logger) {
						mu.Lock()
						killed = append(killed, p.spec.Name)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
		}
		s.wg.Wait()
		for _, p := range s.procs {
			p.log.close()
		}
		if len(killed) > 0 {
			sort.Strings(killed)
			s.stopErr = fmt.Errorf("supervisor: SIGKILLed after the stop timeout: %s", strings.Join(killed, ", "))
		}
		s.opts.Logger.Info("all processes stopped", "forced", killed)
	})
	return s.stopErr
}

// run is one process's supervision loop: wait for dependencies, start, wait
// for health, watch, and on death restart with exponential backoff.
func (s *Supervisor) run(p *proc) {
	defer s.wg.Done()
	for _, dep := range p.spec.DependsOn {
		select {
		case <-s.procs[dep].healthy:
		case <-s.stopping:
			p.setState(Stopped)
			return
		}
	}
	log := s.opts.Logger.With("proc", p.spec.Name)
	backoff := s.opts.MinBackoff
	firstDeadline := time.Now().Add(p.spec.Health.timeout())
	for {
		healthySince, err := s.runOnce(p, log)
		select {
		case <-s.stopping:
			p.setState(Stopped)
			return
		default:
		}
		if !healthySince.IsZero() && time.Since(healthySince) >= s.opts.StableAfter {
			backoff = s.opts.MinBackoff
		}
		if err != nil && time.Now().After(firstDeadline) && !p.everHealthy() {
			p.mu.Lock()
			p.startError = err
			p.mu.Unlock()
			p.gOnce.Do(func() { close(p.gaveUp) })
		}
		p.mu.Lock()
		p.st.State = Backoff
		p.st.Restarts++
		p.st.PID = 0
		lastExit := p.st.LastExit
		p.mu.Unlock()
		log.Warn("process died; restarting after backoff", "exit", lastExit, "err", errString(err), "backoff", backoff.String())
		p.log.note("restarting in %s after: %s", backoff, lastExit)
		select {
		case <-time.After(backoff):
		case <-s.stopping:
			p.setState(Stopped)
			return
		}
		backoff = min(backoff*2, s.opts.MaxBackoff)
	}
}

// runOnce starts the process and returns when it has exited. healthySince is
// when it became healthy (zero if it never did); err says why it failed to
// start or become healthy.
func (s *Supervisor) runOnce(p *proc, log *slog.Logger) (healthySince time.Time, err error) {
	exited, err := p.start(s.opts.LogDir)
	if err != nil {
		p.mu.Lock()
		p.st.LastExit = "start failed: " + err.Error()
		p.st.LastExitAt = time.Now()
		p.mu.Unlock()
		p.log.note("start failed: %v", err)
		return time.Time{}, err
	}
	p.mu.Lock()
	pid := p.st.PID
	p.mu.Unlock()
	log.Info("process started", "pid", pid, "cmd", p.spec.Command, "args", p.spec.Args)
	p.log.note("started pid %d: %s %s", pid, p.spec.Command, strings.Join(p.spec.Args, " "))

	started := time.Now()
	if herr := s.awaitHealth(p, exited); herr != nil {
		select {
		case <-exited:
			err = fmt.Errorf("exited before healthy (%s); last probe: %w", p.lastExit(), herr)
		case <-s.stopping:
			<-exited
			return time.Time{}, herr
		default:
			err = fmt.Errorf("not healthy within %s: %w", p.spec.Health.timeout(), herr)
			log.Warn("process not healthy in time; killing it", "err", herr.Error())
			p.log.note("not healthy within %s (%v); killing", p.spec.Health.timeout(), herr)
			p.signal(syscall.SIGKILL)
			<-exited
		}
		return time.Time{}, err
	}
	healthySince = time.Now()
	p.mu.Lock()
	p.st.State = Running
	p.st.HealthyAt = healthySince
	p.st.LastError = ""
	p.mu.Unlock()
	p.hOnce.Do(func() { close(p.healthy) })
	log.Info("process healthy", "pid", pid, "after", healthySince.Sub(started).Round(time.Millisecond).String())
	p.log.note("healthy after %s", healthySince.Sub(started).Round(time.Millisecond))

	s.monitor(p, exited)
	<-exited
	return healthySince, fmt.Errorf("exited: %s", p.lastExit())
}

// awaitHealth probes until healthy, the process exits, the timeout passes or
// the supervisor stops.
func (s *Supervisor) awaitHealth(p *proc, exited <-chan struct{}) error {
	h := p.spec.Health
	timer := time.NewTimer(h.timeout())
	defer timer.Stop()
	if !h.hasProbe() {
		select {
		case <-time.After(h.settle()):
			return nil
		case <-exited:
			return errors.New("process exited")
		case <-s.stopping:
			return errors.New("stopping")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-exited:
		case <-s.stopping:
		case <-ctx.Done():
		}
		cancel()
	}()
	var last error = errors.New("no probe yet")
	for {
		if err := h.probe(ctx); err == nil {
			return nil
		} else {
			last = err
			p.mu.Lock()
			p.st.LastError = err.Error()
			p.mu.Unlock()
		}
		select {
		case <-time.After(h.interval()):
		case <-exited:
			return last
		case <-s.stopping:
			return last
		case <-timer.C:
			return last
		}
	}
}

// monitor re-probes a healthy process until it exits or supervision stops.
// A failing probe only marks it unhealthy: a service may be waiting on a
// dependency that is itself restarting, and killing it would not help.
func (s *Supervisor) monitor(p *proc, exited <-chan struct{}) {
	if !p.spec.Health.hasProbe() {
		select {
		case <-exited:
		case <-s.stopping:
		}
		return
	}
	t := time.NewTicker(s.opts.MonitorInterval)
	defer t.Stop()
	for {
		select {
		case <-exited:
			return
		case <-s.stopping:
			return
		case <-t.C:
		}
		err := p.spec.Health.probe(context.Background())
		p.mu.Lock()
		if p.st.State == Running || p.st.State == Unhealthy {
			if err != nil {
				p.st.State = Unhealthy
				p.st.LastError = err.Error()
			} else {
				p.st.State = Running
			}
		}
		p.mu.Unlock()
	}
}

// start launches the command with its output wired to the log. It refuses
// once a stop was asked, so a restart cannot slip past Stop.
func (p *proc) start(logDir string) (<-chan struct{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopAsked {
		return nil, errors.New("stopping")
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd := exec.Command(p.spec.Command, p.spec.Args...)
	cmd.Env = append(os.Environ(), p.spec.Env...)
	cmd.Dir = p.spec.Dir
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.SysProcAttr = sysProcAttr()
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	go func() { p.log.copyLines(outR, "stdout"); outR.Close() }()
	go func() { p.log.copyLines(errR, "stderr"); errR.Close() }()
	exited := make(chan struct{})
	p.cmd, p.exited = cmd, exited
	p.st.PID = cmd.Process.Pid
	p.st.StartedAt = time.Now()
	p.st.State = Starting
	go func() {
		werr := cmd.Wait()
		desc := "exit status 0"
		if cmd.ProcessState != nil {
			desc = cmd.ProcessState.String()
		} else if werr != nil {
			desc = werr.Error()
		}
		// Helpers the process forked into its group must not outlive it
		// (an orphaned JVM would keep the port the restart needs).
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		p.mu.Lock()
		p.st.LastExit = desc
		p.st.LastExitAt = time.Now()
		p.mu.Unlock()
		p.log.note("exited: %s", desc)
		close(exited)
	}()
	return exited, nil
}

// terminate stops the process for good: SIGTERM to its group, SIGKILL after
// its StopTimeout or at the overall deadline. It reports whether SIGKILL was
// needed.
func (p *proc) terminate(deadline time.Time, log *slog.Logger) (killed bool) {
	p.mu.Lock()
	p.stopAsked = true
	exited := p.exited
	running := exited != nil && p.st.PID > 0
	if running {
		select {
		case <-exited:
			running = false
		default:
			p.st.State = Stopping
		}
	}
	p.mu.Unlock()
	if !running {
		return false
	}
	timeout := p.spec.StopTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	if until := time.Until(deadline); until < timeout {
		timeout = max(until, 0)
	}
	log.Info("stopping process", "proc", p.spec.Name, "timeout", timeout.String())
	p.log.note("SIGTERM (SIGKILL in %s)", timeout.Round(time.Millisecond))
	p.signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(timeout):
		log.Warn("process ignored SIGTERM; killing it", "proc", p.spec.Name)
		p.log.note("still running after %s: SIGKILL", timeout.Round(time.Millisecond))
		p.signal(syscall.SIGKILL)
		<-exited
		killed = true
	}
	p.mu.Lock()
	p.st.State = Stopped
	p.st.PID = 0
	p.mu.Unlock()
	return killed
}

// signal sends sig to the process group of the current command.
func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
		_ = cmd.Process.Signal(sig)
	}
}

func (p *proc) setState(st State) {
	p.mu.Lock()
	p.st.State = st
	if st == Stopped {
		p.st.PID = 0
	}
	p.mu.Unlock()
}

func (p *proc) lastExit() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st.LastExit
}

func (p *proc) everHealthy() bool {
	select {
	case <-p.healthy:
		return true
	default:
		return false
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
