package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finlake/finlake/lake"
)

var (
	errPartitionsAdded = errors.New("partitions were added to the topic")
	errDiskFull        = errors.New("disk guard: warehouse filesystem full")
	errOffsetsMoved    = errors.New("the table's offsets moved under this writer (is a second ingest running?)")
)

// Summary properties besides the offsets, for audit.
const (
	propSession = "finlake.ingest.session"
	propRows    = "finlake.ingest.rows"
)

// WriterConfig is one table writer's part of the ingest configuration.
type WriterConfig struct {
	Table          string
	Topic          string
	Brokers        []string
	Group          string        // consumer group whose offsets mirror the table's, for lag monitoring
	CommitInterval time.Duration // commit at least this often while records flow
	CommitRecords  int           // ... or once this many records are in the batch
	ChunkRows      int           // rows per Arrow record batch handed to the Parquet writer
	CommitRetries  int           // attempts after a lost race before giving up the batch
	PartitionCheck time.Duration // how often to look for partitions added to the topic
}

// tableWriter moves one topic into one table, exactly once. It is the only
// writer of its table: every commit carries the next offset of every
// partition, and before committing it checks that the table's newest offsets
// are the ones its batch started from (else the batch is either already in —
// dropped — or someone else writes — fatal).
type tableWriter struct {
	cfg     WriterConfig
	cat     catalog.Catalog
	guard   *DiskGuard
	m       *metrics
	win     *window
	session string
	log     *slog.Logger
	mem     memory.Allocator

	// maintain runs between batches when due, so maintenance never races
	// this writer inside the service.
	maintainDue func() bool
	maintain    func(ctx context.Context) error

	groupBusy atomic.Bool

	// reloadEachCommit restores the old commit path (load the table again
	// before every commit attempt), for BenchmarkCommitGrowth's comparison.
	reloadEachCommit bool

	mu sync.Mutex
	st writerStatus
}

type partitionStatus struct {
	Next      int64 `json:"next_offset"`      // next offset to consume
	Committed int64 `json:"committed_offset"` // next offset per the table's newest snapshot
	Stable    int64 `json:"last_stable_offset"`
	Lag       int64 `json:"lag"` // Stable - Committed
}

type writerStatus struct {
	Topic         string                      `json:"topic"`
	State         string                      `json:"state"`
	Error         string                      `json:"error,omitempty"`
	ResumedFrom   *int64                      `json:"resumed_from_snapshot,omitempty"`
	LastCommit    *commitInfo                 `json:"last_commit,omitempty"`
	Rows          int64                       `json:"rows_committed"` // by this session
	Files         int64                       `json:"files_committed"`
	TableRows     int64                       `json:"table_rows"` // whole table, as of the last commit
	TableFiles    int64                       `json:"table_data_files"`
	Commits       int64                       `json:"commits"`
	Partitions    map[string]*partitionStatus `json:"partitions"`
	Resumes       int64                       `json:"resumes"`
	ready         bool
	lastMaintain  time.Time
	MaintainError string `json:"last_maintenance_error,omitempty"`
}

type commitInfo struct {
	At         time.Time `json:"at"`
	SnapshotID int64     `json:"snapshot_id"`
	Rows       int64     `json:"rows"`
	Files      int       `json:"files"`
	Retries    int       `json:"retries"`
}

func (w *tableWriter) ident() table.Identifier { return lake.Ident(w.cfg.Table) }

func (w *tableWriter) setState(state string, err error) {
	w.mu.Lock()
	w.st.State = state
	w.st.Error = ""
	if err != nil {
		w.st.Error = err.Error()
	}
	w.mu.Unlock()
	paused := 0.0
	if state != "running" {
		paused = 1
	}
	w.m.paused.WithLabelValues(w.cfg.Table).Set(paused)
}

func (w *tableWriter) status() writerStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.st
	st.Partitions = make(map[string]*partitionStatus, len(w.st.Partitions))
	for k, v := range w.st.Partitions {
		c := *v
		st.Partitions[k] = &c
	}
	return st
}

// Run consumes until ctx ends. Any failure (broker down, disk full, lost
// commit) abandons the batch in hand and resumes from the table's newest
// offsets: that is always safe, since those offsets are exactly what the
// table holds.
func (w *tableWriter) Run(ctx context.Context) error {
	backoff := time.Second
	for {
		started := time.Now()
		err := w.runOnce(ctx)
		if ctx.Err() != nil {
			w.setState("stopped", nil)
			return nil
		}
		if errors.Is(err, errDiskFull) {
			w.setState("paused", err)
			w.log.Error("ingest paused by the disk guard", "table", w.cfg.Table, "err", err)
			if err := w.guard.WaitNotCritical(ctx); err != nil {
				w.setState("stopped", nil)
				return nil
			}
			w.log.Info("disk guard cleared; resuming from the table's offsets", "table", w.cfg.Table)
			backoff = time.Second
			continue
		}
		if errors.Is(err, errPartitionsAdded) {
			w.log.Info("resuming to consume new partitions", "table", w.cfg.Table, "topic", w.cfg.Topic, "err", err)
			continue
		}
		w.setState("error", err)
		w.log.Error("table writer failed; resuming from the table's offsets", "table", w.cfg.Table, "err", err, "retry_in", backoff.String())
		if time.Since(started) > time.Minute {
			backoff = time.Second
		}
		select {
		case <-ctx.Done():
			w.setState("stopped", nil)
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (w *tableWriter) partitions(ctx context.Context, cl *kgo.Client) ([]int32, error) {
	adm := kadm.NewClient(cl)
	var lastLog time.Time
	for {
		details, err := adm.ListTopics(ctx, w.cfg.Topic)
		if err == nil {
			d, ok := details[w.cfg.Topic]
			if ok && d.Err == nil && len(d.Partitions) > 0 {
				return d.Partitions.Numbers(), nil
			}
			if ok && d.Err != nil && !errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
				return nil, fmt.Errorf("describe topic %s: %w", w.cfg.Topic, d.Err)
			}
			err = fmt.Errorf("topic %s does not exist yet", w.cfg.Topic)
		}
		werr := fmt.Errorf("waiting for topic %s on %s (is Kafka up? does the topic exist? `lakectl topics create`): %w",
			w.cfg.Topic, strings.Join(w.cfg.Brokers, ","), err)
		w.setState("waiting", werr)
		if time.Since(lastLog) > 30*time.Second {
			lastLog = time.Now()
			w.log.Warn("table writer waiting", "table", w.cfg.Table, "err", werr)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func (w *tableWriter) runOnce(ctx context.Context) error {
	if err := w.guard.CriticalError(); err != nil {
		return err
	}
	tbl, err := w.cat.LoadTable(ctx, w.ident())
	if err != nil {
		return fmt.Errorf("load table %s: %w", w.cfg.Table, err)
	}
	committed, snap, err := lake.LatestOffsets(tbl, w.cfg.Topic)
	if err != nil {
		return err
	}

	meta, err := kgo.NewClient(kgo.SeedBrokers(w.cfg.Brokers...))
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	parts, err := w.partitions(ctx, meta)
	meta.Close()
	if err != nil {
		return err
	}
	assign := make(map[int32]kgo.Offset, len(parts))
	for _, p := range parts {
		if o, ok := committed[p]; ok {
			assign[p] = kgo.NewOffset().At(o)
		} else {
			assign[p] = kgo.NewOffset().AtStart()
		}
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(w.cfg.Brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{w.cfg.Topic: assign}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxPartitionBytes(16<<20),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	if err != nil {
		return fmt.Errorf("kafka consumer: %w", err)
	}
	defer cl.Close()

	w.mu.Lock()
	w.st.Topic = w.cfg.Topic
	w.st.Resumes++
	w.st.ResumedFrom = nil
	if snap != nil {
		id := snap.SnapshotID
		w.st.ResumedFrom = &id
	}
	w.st.Partitions = map[string]*partitionStatus{}
	for _, p := range parts {
		w.st.Partitions[strconv.Itoa(int(p))] = &partitionStatus{Next: committed[p], Committed: committed[p]}
	}
	w.st.ready = true
	w.mu.Unlock()
	w.setState("running", nil)
	w.log.Info("table writer resumed", "table", w.cfg.Table, "topic", w.cfg.Topic, "offsets", committed.Encode(),
		"from_snapshot", w.st.ResumedFrom)

	consumed := committed.Clone() // next offsets after everything polled so far
	lastPartCheck := time.Now()
	for {
		if ctx.Err() != nil {
			return nil
		}
		if w.cfg.PartitionCheck > 0 && time.Since(lastPartCheck) > w.cfg.PartitionCheck {
			// Assignment is explicit, so new partitions need a resume to be
			// consumed (between batches: nothing in hand is lost).
			lastPartCheck = time.Now()
			if d, err := kadm.NewClient(cl).ListTopics(ctx, w.cfg.Topic); err == nil && d[w.cfg.Topic].Err == nil &&
				len(d[w.cfg.Topic].Partitions) > len(parts) {
				return fmt.Errorf("%w (%d → %d)", errPartitionsAdded, len(parts), len(d[w.cfg.Topic].Partitions))
			}
		}
		if err := w.guard.CriticalError(); err != nil {
			return err
		}
		if w.maintainDue != nil && w.maintainDue() {
			if err := w.maintain(ctx); err != nil && ctx.Err() == nil {
				w.log.Warn("scheduled maintenance failed; ingest goes on", "table", w.cfg.Table, "err", err)
			}
			tbl = nil
		}
		if tbl == nil {
			if tbl, err = w.cat.LoadTable(ctx, w.ident()); err != nil {
				return fmt.Errorf("load table %s: %w", w.cfg.Table, err)
			}
		}
		b, err := w.newBatch(ctx, tbl)
		if err != nil {
			return err
		}
		cctx := ctx
		if err := w.fill(ctx, cl, b, consumed); err != nil {
			if ctx.Err() == nil || b.rows == 0 {
				b.abort()
				return err
			}
			// A graceful stop lands the batch in hand, so a restart does not
			// redo it; a kill -9 here is just as safe, only slower.
			stopCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			cctx = stopCtx
		}
		if b.rows == 0 {
			b.abort()
			continue
		}
		filled := time.Now()
		files, err := b.finish()
		if err != nil {
			b.abort()
			return fmt.Errorf("write data files for %s: %w", w.cfg.Table, err)
		}
		written := time.Now()
		next := consumed.Clone()
		// The committed table (with any schema change that landed before
		// it) shapes the next batch; nil means load it afresh.
		if tbl, err = w.commit(cctx, b, files, committed, next); err != nil {
			b.abort()
			return err
		}
		w.log.Debug("batch committed", "table", w.cfg.Table, "rows", b.rows, "files", len(files),
			"fill_ms", filled.Sub(b.startedAt).Milliseconds(), "write_ms", written.Sub(filled).Milliseconds(),
			"commit_ms", time.Since(written).Milliseconds())
		b.release()
		committed = next
		if cctx != ctx {
			w.log.Info("committed the batch in hand before stopping", "table", w.cfg.Table, "offsets", committed.Encode())
			return nil
		}
		w.commitGroupOffsets(ctx, cl, committed)
	}
}

// fill polls into b until the batch is full, its interval has passed since
// its first record, or (while still empty) a second passed so the loop can
// look at the disk guard and the maintenance schedule.
func (w *tableWriter) fill(ctx context.Context, cl *kgo.Client, b *batch, consumed lake.Offsets) error {
	var deadline time.Time
	for b.rows < w.cfg.CommitRecords {
		wait := time.Second
		if !deadline.IsZero() {
			wait = time.Until(deadline)
			if wait <= 0 {
				return nil
			}
		}
		pctx, cancel := context.WithTimeout(ctx, wait)
		fetches := cl.PollRecords(pctx, w.cfg.CommitRecords-b.rows)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ferr error
		fetches.EachError(func(t string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return
			}
			if errors.Is(err, kgo.ErrClientClosed) {
				ferr = err
				return
			}
			w.log.Warn("kafka fetch error (retrying)", "table", w.cfg.Table, "topic", t, "partition", p, "err", err)
		})
		if ferr != nil {
			return fmt.Errorf("kafka: %w", ferr)
		}
		polled := 0
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			for _, r := range fp.Records {
				if err := b.add(r); err != nil {
					lvl := slog.LevelDebug
					if errors.Is(err, ErrInexactDecimal) {
						lvl = slog.LevelWarn // money that would be rounded or lost: loud
					}
					w.log.Log(ctx, lvl, "skipping record", "table", w.cfg.Table, "partition", r.Partition, "offset", r.Offset, "err", err)
				}
				consumed[r.Partition] = r.Offset + 1
				polled++
			}
			if fp.LastStableOffset > 0 || fp.HighWatermark > 0 {
				w.observeLSO(fp.Partition, fp.LastStableOffset, consumed[fp.Partition])
			}
		})
		b.flushCounts()
		if err := w.guard.CriticalError(); err != nil {
			return err
		}
		if b.rows > 0 && deadline.IsZero() {
			deadline = b.firstAt.Add(w.cfg.CommitInterval)
		}
		if b.rows == 0 && deadline.IsZero() && polled == 0 {
			return nil
		}
	}
	return nil
}

func (w *tableWriter) observeLSO(p int32, lso, next int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ps := w.st.Partitions[strconv.Itoa(int(p))]
	if ps == nil {
		return
	}
	ps.Stable = lso
	ps.Next = next
	ps.Lag = max(lso-ps.Committed, 0)
	w.m.lag.WithLabelValues(w.cfg.Table, strconv.Itoa(int(p))).Set(float64(ps.Lag))
}

// commit makes the batch's files visible together with the offsets that
// follow it. A lost race (a concurrent schema change, maintenance) reloads
// the table and tries again; the offsets decide what a retry means.
func (w *tableWriter) commit(ctx context.Context, b *batch, files []iceberg.DataFile, base, next lake.Offsets) (*table.Table, error) {
	props := iceberg.Properties{
		lake.OffsetsProperty(w.cfg.Topic): next.Encode(),
		propSession:                       w.session,
		propRows:                          strconv.Itoa(b.rows),
	}
	var lastErr error
	start := time.Now()
	for attempt := 0; attempt <= w.cfg.CommitRetries; attempt++ {
		if attempt > 0 {
			w.m.retries.WithLabelValues(w.cfg.Table).Inc()
			wait := min(time.Duration(50<<attempt)*time.Millisecond, 5*time.Second)
			w.log.Warn("commit lost a race; reloading the table and retrying", "table", w.cfg.Table,
				"attempt", attempt, "err", lastErr, "retry_in", wait.String())
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(wait):
			}
		}
		if err := w.guard.CriticalError(); err != nil {
			return nil, err
		}
		// The first attempt commits on the table the batch was built on (the
		// previous commit's result, or a fresh load after maintenance or a
		// resume) instead of loading it again: each load parses the whole
		// metadata.json, whose size grows with every snapshot kept, and the
		// catalog parses it once more inside CommitTable. That is safe: the
		// commit pins main to this table's current snapshot
		// (AssertRefSnapshotID), so if anything committed since, the catalog
		// refuses it and the retry below reloads and checks the offsets again.
		tbl := b.tbl
		if attempt > 0 || tbl == nil || w.reloadEachCommit {
			var err error
			if tbl, err = w.cat.LoadTable(ctx, w.ident()); err != nil {
				lastErr = fmt.Errorf("reload table: %w", err)
				continue
			}
		}
		cur, _, err := lake.LatestOffsets(tbl, w.cfg.Topic)
		if err != nil {
			return nil, err
		}
		if !cur.Equal(base) {
			if cur.Covers(next) {
				// An earlier attempt did land (its reply was lost): the rows
				// are in, and writing them again would duplicate them.
				w.m.dropped.WithLabelValues(w.cfg.Table).Inc()
				w.log.Warn("batch already committed by an earlier attempt; dropping it", "table", w.cfg.Table, "offsets", next.Encode())
				w.committed(b, files, tbl.CurrentSnapshot(), attempt)
				return tbl, nil
			}
			return nil, fmt.Errorf("%w: batch starts at %s, table now at %s", errOffsetsMoved, base.Encode(), cur.Encode())
		}
		b.attempted = true
		txn := tbl.NewTransaction()
		if err := txn.AssertRefSnapshotID(table.MainBranch); err != nil {
			return nil, fmt.Errorf("pin snapshot: %w", err)
		}
		if err := txn.AddDataFiles(ctx, files, props, table.WithoutDuplicateCheck()); err != nil {
			return nil, fmt.Errorf("stage data files: %w", err)
		}
		newTbl, err := txn.Commit(ctx)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue
		}
		w.m.commitSecs.WithLabelValues(w.cfg.Table).Observe(time.Since(start).Seconds())
		w.committed(b, files, newTbl.CurrentSnapshot(), attempt)
		return newTbl, nil
	}
	return nil, fmt.Errorf("commit %s after %d attempts: %w", w.cfg.Table, w.cfg.CommitRetries+1, lastErr)
}

func (w *tableWriter) committed(b *batch, files []iceberg.DataFile, snap *table.Snapshot, retries int) {
	snapID := snap.SnapshotID
	var totalRows, totalFiles int64
	if snap.Summary != nil {
		totalRows, _ = strconv.ParseInt(snap.Summary.Properties["total-records"], 10, 64)
		totalFiles, _ = strconv.ParseInt(snap.Summary.Properties["total-data-files"], 10, 64)
	}
	now := time.Now()
	rows := int64(b.rows)
	w.m.written.WithLabelValues(w.cfg.Table).Add(float64(rows))
	w.m.commits.WithLabelValues(w.cfg.Table).Inc()
	w.m.files.WithLabelValues(w.cfg.Table).Add(float64(len(files)))
	w.m.lastCommit.WithLabelValues(w.cfg.Table).Set(float64(now.UnixNano()) / 1e9)
	h := w.m.latency.WithLabelValues(w.cfg.Table)
	nowMs := now.UnixMilli()
	for _, ts := range b.kafkaTs {
		h.Observe(float64(nowMs-ts) / 1000)
	}
	w.win.committed(w.cfg.Table, rows, int64(retries), now, b.kafkaTs)
	b.committed = true

	w.mu.Lock()
	defer w.mu.Unlock()
	w.st.LastCommit = &commitInfo{At: now.UTC(), SnapshotID: snapID, Rows: rows, Files: len(files), Retries: retries}
	w.st.Rows += rows
	w.st.Files += int64(len(files))
	w.st.TableRows, w.st.TableFiles = totalRows, totalFiles
	w.st.Commits++
}

// commitGroupOffsets mirrors the table's offsets into the consumer group so
// standard Kafka tooling shows the lag. Best effort: the table is the truth.
func (w *tableWriter) commitGroupOffsets(ctx context.Context, cl *kgo.Client, committed lake.Offsets) {
	w.mu.Lock()
	for p, o := range committed {
		if ps := w.st.Partitions[strconv.Itoa(int(p))]; ps != nil {
			ps.Committed = o
			ps.Lag = max(ps.Stable-o, 0)
			w.m.lag.WithLabelValues(w.cfg.Table, strconv.Itoa(int(p))).Set(float64(ps.Lag))
		}
	}
	w.mu.Unlock()
	if w.cfg.Group == "" {
		return
	}
	// Off the hot path: a slow group coordinator must not slow ingest; when
	// one mirror is still in flight this one is skipped, the next carries
	// newer offsets anyway.
	if !w.groupBusy.CompareAndSwap(false, true) {
		return
	}
	var os kadm.Offsets
	for p, o := range committed {
		os.AddOffset(w.cfg.Topic, p, o, -1)
	}
	go func() {
		defer w.groupBusy.Store(false)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := kadm.NewClient(cl).CommitAllOffsets(cctx, w.cfg.Group, os); err != nil && ctx.Err() == nil {
			w.log.Debug("consumer group offset commit failed (lag monitoring only)", "group", w.cfg.Group, "err", err)
		}
	}()
}

// batch is the one batch a writer holds: rows go into Arrow builders and,
// every ChunkRows, on to the Parquet writer goroutine, so memory stays at a
// chunk or two whatever the commit size.
type batch struct {
	w         *tableWriter
	tbl       *table.Table // the table the batch commits on
	out       *table.Table // tbl as its data files are written (lake.WithoutLookupFilters)
	rb        *rowBuilder
	rows      int
	startedAt time.Time
	firstAt   time.Time
	kafkaTs   []int64

	ctx       context.Context
	cancel    context.CancelFunc
	ch        chan arrow.RecordBatch
	done      chan struct{}
	started   bool
	closed    bool
	files     []iceberg.DataFile
	err       error
	committed bool
	attempted bool // a commit was tried: its outcome may be unknown
	pending   tableCounts
}

func (w *tableWriter) newBatch(ctx context.Context, tbl *table.Table) (*batch, error) {
	rb, err := newRowBuilder(tbl.Schema(), w.mem, func(col string) {
		w.m.badValues.WithLabelValues(w.cfg.Table, col).Inc()
	})
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", w.cfg.Table, err)
	}
	out, err := lake.WithoutLookupFilters(tbl)
	if err != nil {
		return nil, err
	}
	// Not derived from ctx: a stopping service still finishes the batch's
	// files to commit them; abort cancels.
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &batch{w: w, tbl: tbl, out: out, rb: rb, ctx: bctx, cancel: cancel, startedAt: time.Now()}, nil
}

func (b *batch) add(r *kgo.Record) error {
	b.pending.Consumed++
	unknown, err := b.rb.add(r.Value, KafkaMeta{Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp})
	if err != nil {
		b.pending.Invalid++
		return err
	}
	b.pending.Unknown += int64(unknown)
	if b.rows == 0 {
		b.firstAt = time.Now()
	}
	b.rows++
	b.kafkaTs = append(b.kafkaTs, r.Timestamp.UnixMilli())
	if b.rb.rows >= b.w.cfg.ChunkRows {
		b.send(b.rb.flush())
	}
	return nil
}

// flushCounts publishes the counts of the records added since the last call
// (once per poll, not per record: the hot loop stays lock-free).
func (b *batch) flushCounts() {
	c := b.pending
	b.pending = tableCounts{}
	if c.Consumed == 0 {
		return
	}
	name := b.w.cfg.Table
	b.w.m.consumed.WithLabelValues(name).Add(float64(c.Consumed))
	if c.Invalid > 0 {
		b.w.m.invalid.WithLabelValues(name).Add(float64(c.Invalid))
	}
	if c.Unknown > 0 {
		b.w.m.unknownFields.WithLabelValues(name).Add(float64(c.Unknown))
	}
	b.w.win.consumed(name, c.Consumed, c.Invalid, c.Unknown)
}

func (b *batch) start() {
	b.started = true
	b.ch = make(chan arrow.RecordBatch, 1)
	b.done = make(chan struct{})
	go func() {
		defer close(b.done)
		records := func(yield func(arrow.RecordBatch, error) bool) {
			for rec := range b.ch {
				if !yield(rec, nil) {
					return
				}
			}
		}
		for df, err := range table.WriteRecords(b.ctx, b.out, b.rb.schema, records) {
			if err != nil {
				b.err = err
				break
			}
			b.files = append(b.files, df)
		}
		// Whatever the writer did not take is released here.
		for rec := range b.ch {
			rec.Release()
		}
	}()
}

func (b *batch) send(rec arrow.RecordBatch) {
	if rec == nil {
		return
	}
	if !b.started {
		b.start()
	}
	select {
	case b.ch <- rec:
	case <-b.ctx.Done():
		rec.Release()
	}
}

func (b *batch) closeInput() {
	if b.started && !b.closed {
		b.closed = true
		close(b.ch)
	}
}

// finish flushes the last rows and waits for the data files.
func (b *batch) finish() ([]iceberg.DataFile, error) {
	b.send(b.rb.flush())
	b.closeInput()
	if b.started {
		<-b.done
	}
	if b.err != nil {
		return nil, b.err
	}
	return b.files, nil
}

// release frees the batch after its commit.
func (b *batch) release() {
	b.cancel()
	b.closeInput()
	if b.started {
		<-b.done
	}
	b.rb.release()
}

// abort drops the batch. Its files are deleted when no commit was attempted
// (after an attempt whose reply was lost they may be live); anything left
// behind, like after a crash, is an orphan for `lakectl maintain`.
func (b *batch) abort() {
	b.release()
	if b.committed || b.attempted {
		return
	}
	for _, f := range b.files {
		if p := localPath(f.FilePath()); p != "" {
			_ = os.Remove(p)
		}
	}
}

func localPath(loc string) string {
	if strings.HasPrefix(loc, "/") {
		return loc
	}
	u, err := url.Parse(loc)
	if err != nil || u.Scheme != "file" {
		return ""
	}
	return u.Path
}
