package stack

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/stack/supervisor"
)

// RunOptions configure Run.
type RunOptions struct {
	DataDir    string
	Endpoints  map[string]string  // shown by `status`
	Logger     *slog.Logger       // default slog.Default()
	Supervisor supervisor.Options // LogDir is always <data>/logs
	// Ready, if set, is called once every process is healthy.
	Ready func(State)
}

// Run supervises specs in the foreground until ctx ends, then stops them
// gracefully. It owns the data dir's lock, pid file and state.json for its
// whole life, so `lakectl stack status|down|logs` work from another shell.
// It returns an error if the stack fails to come up or is already running.
func Run(ctx context.Context, specs []supervisor.Spec, o RunOptions) error {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	release, err := lock(o.DataDir)
	if err != nil {
		return err
	}
	defer release()
	if err := os.WriteFile(pidPath(o.DataDir), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	defer os.Remove(pidPath(o.DataDir))

	sopts := o.Supervisor
	sopts.LogDir = contract.DataDir{Root: o.DataDir}.Logs()
	sopts.Logger = log
	sup, err := supervisor.New(specs, sopts)
	if err != nil {
		return err
	}

	var mu sync.Mutex
	st := State{PID: os.Getpid(), Phase: PhaseStarting, StartedAt: time.Now().UTC(), DataDir: o.DataDir, Endpoints: o.Endpoints}
	save := func(phase Phase, errText string) {
		mu.Lock()
		defer mu.Unlock()
		if phase != "" {
			st.Phase = phase
		}
		if errText != "" {
			st.Error = errText
		}
		st.UpdatedAt = time.Now().UTC()
		st.Processes = sup.Status()
		if err := writeState(o.DataDir, st); err != nil {
			log.Warn("cannot write stack state", "err", err.Error())
		}
	}
	save(PhaseStarting, "")
	tickCtx, stopTick := context.WithCancel(context.Background())
	tickDone := make(chan struct{})
	go func() {
		defer close(tickDone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-tickCtx.Done():
				return
			case <-t.C:
				save("", "")
			}
		}
	}()
	finish := func(phase Phase, errText string) {
		stopTick()
		<-tickDone
		save(phase, errText)
	}

	log.Info("stack starting", "data", o.DataDir, "processes", sup.Names())
	if err := sup.Start(ctx); err != nil {
		finish(PhaseFailed, err.Error())
		return fmt.Errorf("stack did not come up: %w", err)
	}
	save(PhaseUp, "")
	log.Info("stack up", "endpoints", o.Endpoints)
	if o.Ready != nil {
		mu.Lock()
		snapshot := st
		mu.Unlock()
		o.Ready(snapshot)
	}
	<-ctx.Done()
	log.Info("stack stopping")
	save(PhaseStopping, "")
	stopErr := sup.Stop()
	if stopErr != nil {
		finish(PhaseStopped, stopErr.Error())
	} else {
		finish(PhaseStopped, "")
	}
	log.Info("stack stopped")
	return stopErr
}
