package generator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// RunOptions drive one run of a generator into a sink.
type RunOptions struct {
	Gen   *Generator
	Sink  Sink
	Stats *Stats
	Pacer *Pacer // paces new transactions on the wall clock; nil = unpaced
	// Live: event time is the wall clock (the Generator was built with Live).
	Live bool
	// Speed, in simulated modes, paces the event clock at this many event
	// seconds per wall second (0: no such pacing). It compresses time evenly,
	// so every wall-clock cadence downstream can be scaled by the same factor.
	Speed float64
	// Count stops after this many records (0 = no limit).
	Count int64
	// Until stops before the first record whose event time is at or after it
	// (zero = no limit); in live mode the event clock is the wall clock.
	Until time.Time
	// Labels receives the ground-truth lines; nil = none.
	Labels io.Writer
	// Progress, when set, is called every few thousand records and at the end.
	Progress func(records int64, eventTime time.Time)
	// FlushTimeout bounds the wait for undelivered records after an interrupt.
	FlushTimeout time.Duration
}

// Run generates until Count, Until or ctx ends, then flushes the sink. An
// interrupt (ctx canceled) is a normal end: records already handed to the
// sink are still delivered, within FlushTimeout.
func Run(ctx context.Context, o RunOptions) error {
	g := o.Gen
	var labels *json.Encoder
	if o.Labels != nil {
		labels = json.NewEncoder(o.Labels)
	}
	var buf []byte
	retains := o.Sink.Retains()
	var runErr error
	var speed eventPace
	for ctx.Err() == nil {
		if o.Count > 0 && g.Seq() >= o.Count {
			break
		}
		if !retains {
			buf = buf[:0]
		} else {
			buf = make([]byte, 0, 320)
		}
		var rec Record
		if o.Live {
			now := time.Now()
			if !o.Until.IsZero() && !now.Before(o.Until) {
				break
			}
			r, ok := g.NextLive(buf, now, false)
			if !ok {
				wake, _ := g.NextDue()
				if !o.Until.IsZero() && (wake.IsZero() || o.Until.Before(wake)) {
					wake = o.Until
				}
				ready := true
				if o.Pacer != nil {
					var err error
					if ready, err = o.Pacer.Wait(ctx, wake); err != nil {
						break
					}
				}
				if r, ok = g.NextLive(buf, time.Now(), ready); !ok {
					continue
				}
			}
			rec = r
		} else {
			if !o.Until.IsZero() && !g.NextTime().Before(o.Until) {
				break
			}
			if o.Pacer != nil && g.NextIsNew() {
				if _, err := o.Pacer.Wait(ctx, time.Time{}); err != nil {
					break
				}
			}
			if o.Speed > 0 {
				if err := speed.wait(ctx, g.NextTime(), o.Speed); err != nil {
					break
				}
			}
			rec = g.Next(buf)
		}
		if err := o.Sink.Write(ctx, &rec); err != nil {
			if !errors.Is(err, context.Canceled) {
				runErr = err
			}
			break
		}
		o.Stats.count(&rec)
		if !retains {
			buf = rec.Value
		}
		if rec.Label != nil && labels != nil {
			if err := labels.Encode(rec.Label); err != nil {
				runErr = fmt.Errorf("write labels: %w", err)
				break
			}
		}
		if o.Progress != nil && g.Seq()%4096 == 0 {
			o.Progress(g.Seq(), time.UnixMilli(rec.Time))
		}
	}
	timeout := o.FlushTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	// A finished run waits for delivery as long as it takes (the broker may
	// still be down); an interrupted one gives up FlushTimeout after the interrupt.
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	flushed := make(chan struct{})
	go func() {
		select {
		case <-flushed:
			return
		case <-ctx.Done():
		}
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-flushed:
		case <-t.C:
			cancel()
		}
	}()
	err := o.Sink.Flush(fctx)
	close(flushed)
	cancel()
	if err != nil && runErr == nil {
		runErr = err
	}
	if o.Progress != nil {
		o.Progress(g.Seq(), time.UnixMilli(g.now))
	}
	if n := o.Stats.Errors.Load(); n > 0 && runErr == nil {
		runErr = fmt.Errorf("%d records were not delivered", n)
	}
	return runErr
}

// eventPace holds the event clock to a fixed multiple of the wall clock from
// the first record on. It sleeps only when ahead by more than a few
// milliseconds, so thousands of records a second cost few timers.
type eventPace struct {
	wall0, event0 time.Time
}

func (p *eventPace) wait(ctx context.Context, next time.Time, speed float64) error {
	if p.wall0.IsZero() {
		p.wall0, p.event0 = time.Now(), next
		return nil
	}
	due := p.wall0.Add(time.Duration(float64(next.Sub(p.event0)) / speed))
	d := time.Until(due)
	if d < 5*time.Millisecond {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
