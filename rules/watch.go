package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WatchOptions configures Watch.
type WatchOptions struct {
	RulesPath string
	FXPath    string // "" to leave the live FX table alone
	Kafka     Kafka
	Debounce  time.Duration // default 300ms
	Retry     time.Duration // retry after a Kafka failure; default 5s
	// OnApply, when set, sees every attempt: the plan published, or the error
	// (a *ValidationError for a bad file).
	OnApply func(Plan, error)
}

// Watch applies the files at start and again whenever either changes. It
// watches the directories, not the files, because editors save by writing a
// new file and renaming it over the old one, which a file watch loses. A file
// that does not validate is reported with its line numbers and nothing is
// published, so the job keeps the last good rules. It returns only when ctx
// ends or the watcher itself fails.
func Watch(ctx context.Context, o WatchOptions) error {
	if o.Debounce <= 0 {
		o.Debounce = 300 * time.Millisecond
	}
	if o.Retry <= 0 {
		o.Retry = 5 * time.Second
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("file watcher: %w", err)
	}
	defer w.Close()
	watched := map[string]bool{}
	for _, p := range []string{o.RulesPath, o.FXPath} {
		if p == "" {
			continue
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		watched[abs] = true
		dir := filepath.Dir(abs)
		if err := w.Add(dir); err != nil {
			return fmt.Errorf("watch %s: %w", dir, err)
		}
	}

	apply := func() (retry bool) {
		set, err := LoadFiles(o.RulesPath, o.FXPath)
		if err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				// One line per problem, so each reads as file:line:col in a log.
				for _, p := range ve.Problems {
					slog.Error("rule problem", "at", fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column), "path", p.Path, "problem", p.Msg)
				}
				slog.Error("rule configuration invalid; nothing published, the last good rules stay live", "problems", len(ve.Problems))
			} else {
				slog.Error("rule configuration unreadable; the last good rules stay live", "err", err.Error())
			}
			if o.OnApply != nil {
				o.OnApply(Plan{}, err)
			}
			return false
		}
		plan, err := o.Kafka.Apply(ctx, set)
		if o.OnApply != nil {
			o.OnApply(plan, err)
		}
		if err != nil {
			if ctx.Err() == nil {
				slog.Error("publishing rules failed; retrying", "err", err, "retry_in", o.Retry.String())
			}
			return true
		}
		for _, c := range plan.Changes {
			if c.Kind != Unchanged {
				slog.Info("rule published", "change", c.Kind, "key", c.Key, "version", versionOf(c.New), "details", c.Details)
			}
		}
		slog.Info("rules applied", "changes", plan.Pending(), "rules", len(set.Rules))
		return false
	}

	timer := time.NewTimer(0) // apply once at start
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("file watcher closed")
			}
			abs, _ := filepath.Abs(ev.Name)
			if watched[abs] {
				timer.Reset(o.Debounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("file watcher closed")
			}
			slog.Warn("file watcher error", "err", err)
		case <-timer.C:
			if apply() {
				timer.Reset(o.Retry)
			}
		}
	}
}

func versionOf(v any) int64 {
	switch x := v.(type) {
	case *Rule:
		return x.Version
	case *FXTable:
		return x.Version
	}
	return 0
}
