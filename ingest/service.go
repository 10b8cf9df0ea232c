// Package ingest owns `lakectl ingest`: the exactly-once Kafka → Iceberg
// committer (one writer per table, offsets in the snapshot summaries),
// lake.pipeline_runs reporting, the disk guard and table maintenance
// (compaction, snapshot expiry, orphan removal).
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/google/uuid"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/internal/obs"
	"github.com/finlake/finlake/lake"
)

// Config is the whole ingest service configuration.
type Config struct {
	Lake              lake.Config
	Brokers           []string
	TransactionsTopic string
	AlertsTopic       string
	Group             string
	CommitInterval    time.Duration
	CommitRecords     int
	ChunkRows         int
	HTTPAddr          string // empty: no HTTP endpoints
	DiskWarnPercent   float64
	DiskStopPercent   float64
	DiskCheckEvery    time.Duration
	PartitionCheck    time.Duration // how often writers look for partitions added to their topic
	RunsInterval      time.Duration // lake.pipeline_runs row period; 0 disables
	MaintainInterval  time.Duration // scheduled maintenance period; 0 disables
	// ExpireInterval runs compaction and retention between full passes
	// (capped by MaintainInterval), without orphan removal: metadata.json
	// grows by every commit until retention trims it, and a rewrite of it is
	// most of a commit's cost, so trimming often keeps commits fast; and a
	// query opens every small file of a partition, 720 an hour at 5 s
	// commits, which the size tiers' smallest merge cheaply. 0: only with
	// maintenance.
	ExpireInterval time.Duration
	Maintain       MaintainOptions
	Version        string
	// OnReady, when set, is called once with the HTTP address after every
	// writer has resumed (tests use it instead of polling).
	OnReady func(httpAddr string)
}

// DefaultConfig holds the documented defaults.
func DefaultConfig() Config {
	return Config{
		Brokers:           []string{"127.0.0.1:9092"},
		TransactionsTopic: contract.TransactionsProcessed,
		AlertsTopic:       contract.Alerts,
		Group:             "finlake-ingest",
		CommitInterval:    5 * time.Second,
		CommitRecords:     50000,
		ChunkRows:         8192,
		HTTPAddr:          "127.0.0.1:8092",
		DiskWarnPercent:   80,
		DiskStopPercent:   95,
		DiskCheckEvery:    time.Second,
		PartitionCheck:    30 * time.Second,
		RunsInterval:      time.Minute,
		MaintainInterval:  time.Hour,
		ExpireInterval:    5 * time.Minute,
		Maintain:          DefaultMaintainOptions(),
		Version:           "dev",
	}
}

// Service is a running ingest.
type Service struct {
	cfg      Config
	cat      catalog.Catalog
	guard    *DiskGuard
	m        *metrics
	win      *window
	http     *obs.Server
	writers  []*tableWriter
	session  string
	started  time.Time
	log      *slog.Logger
	maintMu  sync.Mutex
	lastMain map[string]time.Time
	lastExp  map[string]time.Time
	mainErr  map[string]string
	runsMu   sync.Mutex
	runsInfo map[string]any
}

// Run starts the ingest and blocks until ctx ends (nil) or it cannot start.
func Run(ctx context.Context, cfg Config) error {
	if cfg.CommitRecords <= 0 || cfg.CommitInterval <= 0 {
		return fmt.Errorf("--commit-records and --commit-interval must be positive")
	}
	if cfg.ChunkRows <= 0 {
		cfg.ChunkRows = 8192
	}
	if cfg.DiskCheckEvery <= 0 {
		cfg.DiskCheckEvery = time.Second
	}
	cat, closeCat, err := lake.OpenCatalog(ctx, cfg.Lake)
	if err != nil {
		return err
	}
	defer closeCat()
	if err := lake.EnsureTables(ctx, cat); err != nil {
		return err
	}
	wh, err := cfg.Lake.WarehouseDir()
	if err != nil {
		return err
	}
	s := &Service{cfg: cfg, cat: cat, session: uuid.NewString(), started: time.Now().UTC(), log: slog.Default(),
		lastMain: map[string]time.Time{}, lastExp: map[string]time.Time{}, mainErr: map[string]string{}}
	s.win = newWindow(s.started)
	s.http = obs.NewServer(s.status)
	s.m = newMetrics(s.http.Registry)
	s.guard, err = NewDiskGuard(wh, cfg.DiskWarnPercent, cfg.DiskStopPercent)
	if err != nil {
		return err
	}
	s.guard.onChange = func(st DiskState, used float64) {
		s.m.diskState.Set(float64(st))
		s.m.diskUsed.Set(used / 100)
	}
	st, used := s.guard.State()
	s.m.diskState.Set(float64(st))
	s.m.diskUsed.Set(used / 100)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.HTTPAddr != "" {
		if err := s.http.Start(runCtx, cfg.HTTPAddr); err != nil {
			return err
		}
	}
	go s.guard.Run(runCtx, cfg.DiskCheckEvery)
	go func() { // keep the used-ratio gauge fresh between state changes
		t := time.NewTicker(cfg.DiskCheckEvery)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				_, used := s.guard.State()
				s.m.diskUsed.Set(used / 100)
			}
		}
	}()

	topics := []struct{ table, topic string }{
		{lake.TableTransactions, cfg.TransactionsTopic},
		{lake.TableAlerts, cfg.AlertsTopic},
	}
	for _, tt := range topics {
		if tt.topic == "" {
			continue
		}
		w := &tableWriter{
			cfg: WriterConfig{Table: tt.table, Topic: tt.topic, Brokers: cfg.Brokers, Group: cfg.Group,
				CommitInterval: cfg.CommitInterval, CommitRecords: cfg.CommitRecords, ChunkRows: cfg.ChunkRows, CommitRetries: 10,
				PartitionCheck: cfg.PartitionCheck},
			cat: cat, guard: s.guard, m: s.m, win: s.win, session: s.session, log: s.log, mem: memory.DefaultAllocator,
		}
		w.st.State = "starting"
		name := tt.table
		s.lastMain[name], s.lastExp[name] = time.Now(), time.Now()
		if cfg.MaintainInterval > 0 {
			w.maintainDue = func() bool { return s.maintenanceDue(name) }
			w.maintain = func(ctx context.Context) error { return s.runMaintenance(ctx, name) }
		}
		s.writers = append(s.writers, w)
	}
	s.log.Info("ingest starting", "session_id", s.session, "brokers", cfg.Brokers, "warehouse", wh,
		"commit_interval", cfg.CommitInterval.String(), "commit_records", cfg.CommitRecords)

	var wg sync.WaitGroup
	for _, w := range s.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = w.Run(runCtx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.readiness(runCtx)
	}()
	if cfg.RunsInterval > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.reportRuns(runCtx)
		}()
	}
	<-ctx.Done()
	cancel()
	wg.Wait()
	s.log.Info("ingest stopped", "session_id", s.session)
	return nil
}

// readiness: ready once every writer has resumed from its offsets, and not
// while the disk guard holds ingest.
func (s *Service) readiness(ctx context.Context) {
	announced := false
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		all := true
		for _, w := range s.writers {
			w.mu.Lock()
			r := w.st.ready
			w.mu.Unlock()
			all = all && r
		}
		switch {
		case s.guard.Critical():
			s.http.SetReady(false, s.guard.CriticalError().Error())
		case !all:
			s.http.SetReady(false, "resuming table writers")
		default:
			s.http.SetReady(true, "")
			if !announced {
				announced = true
				s.log.Info("ingest ready", "http", s.http.Addr())
				if s.cfg.OnReady != nil {
					s.cfg.OnReady(s.http.Addr())
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) maintenanceDue(table string) bool {
	s.maintMu.Lock()
	defer s.maintMu.Unlock()
	return (s.fullDue(table) || s.expireDue(table)) && !s.guard.Critical()
}

// fullDue and expireDue need maintMu held.
func (s *Service) fullDue(table string) bool {
	return time.Since(s.lastMain[table]) >= s.cfg.MaintainInterval
}

func (s *Service) expireDue(table string) bool {
	return s.cfg.ExpireInterval > 0 && time.Since(s.lastExp[table]) >= min(s.cfg.ExpireInterval, s.cfg.MaintainInterval)
}

func (s *Service) runMaintenance(ctx context.Context, table string) error {
	s.maintMu.Lock()
	opts := s.cfg.Maintain
	if s.fullDue(table) {
		s.lastMain[table] = time.Now()
	} else { // between full passes: orphans wait for the next one
		opts.SkipOrphans = true
	}
	s.lastExp[table] = time.Now()
	s.maintMu.Unlock()
	rep, err := Maintain(ctx, s.cat, table, opts)
	s.maintMu.Lock()
	defer s.maintMu.Unlock()
	if err != nil {
		s.mainErr[table] = err.Error()
		s.m.maintenance.WithLabelValues(table, "error").Inc()
		return err
	}
	delete(s.mainErr, table)
	s.m.maintenance.WithLabelValues(table, "ok").Inc()
	s.log.Info("maintenance done", "table", table, "compacted_groups", rep.CompactedGroups,
		"files_rewritten", rep.FilesRewritten, "snapshots_expired", rep.SnapshotsExpired,
		"snapshots_kept", rep.SnapshotsKept, "keep_tags", rep.KeepTags, "oldest_kept", rep.OldestKept,
		"orphans_removed", rep.OrphansRemoved, "took", rep.Duration.String())
	return nil
}

func (s *Service) status() any {
	tables := map[string]any{}
	for _, w := range s.writers {
		tables[w.cfg.Table] = w.status()
	}
	s.maintMu.Lock()
	maint := map[string]any{"interval": s.cfg.MaintainInterval.String(), "last_run": s.lastMain,
		"expire_interval": s.cfg.ExpireInterval.String(), "last_expiry": s.lastExp, "errors": s.mainErr}
	s.maintMu.Unlock()
	s.runsMu.Lock()
	runs := s.runsInfo
	s.runsMu.Unlock()
	return map[string]any{
		"service":       "ingest",
		"session_id":    s.session,
		"started":       s.started,
		"version":       s.cfg.Version,
		"disk":          s.guard.Status(),
		"tables":        tables,
		"maintenance":   maint,
		"pipeline_runs": runs,
	}
}

// reportRuns appends a lake.pipeline_runs row every RunsInterval.
func (s *Service) reportRuns(ctx context.Context) {
	host, _ := os.Hostname()
	t := time.NewTicker(s.cfg.RunsInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// The last partial window is written on the way out when possible.
			wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			s.writeRun(wctx, host, time.Now().UTC())
			cancel()
			return
		case <-t.C:
			s.writeRun(ctx, host, time.Now().UTC())
			if s.cfg.MaintainInterval > 0 && s.maintenanceDue(lake.TablePipelineRuns) {
				if err := s.runMaintenance(ctx, lake.TablePipelineRuns); err != nil && ctx.Err() == nil {
					s.log.Warn("pipeline_runs maintenance failed", "err", err)
				}
			}
		}
	}
}

func (s *Service) writeRun(ctx context.Context, host string, now time.Time) {
	if s.guard.Critical() {
		return // the window keeps growing; it is written when space returns
	}
	w := s.win.cut(now)
	row := runRow(w, s.session, s.started, s.cfg.Version, host, now)
	if err := appendRun(ctx, s.cat, s.session, row); err != nil {
		s.log.Warn("could not append to lake.pipeline_runs; the window is kept for the next row", "err", err)
		s.win.merge(w)
		return
	}
	s.runsMu.Lock()
	s.runsInfo = row
	s.runsMu.Unlock()
}

// runRow is the lake.pipeline_runs row of one ended window of a session.
func runRow(w *window, session string, started time.Time, version, host string, now time.Time) map[string]any {
	c := func(t string) *tableCounts {
		if v := w.tables[t]; v != nil {
			return v
		}
		return &tableCounts{}
	}
	tx, al := c(lake.TableTransactions), c(lake.TableAlerts)
	secs := now.Sub(w.start).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(tx.Written+al.Written) / secs
	}
	q := func(p float64) any {
		v := w.latency.quantile(p)
		if math.IsNaN(v) {
			return nil
		}
		return math.Round(v*10) / 10
	}
	var maxMs any
	if w.latency.n > 0 {
		maxMs = w.latency.max
	}
	return map[string]any{
		"session_id": session, "session_start": started.Format(time.RFC3339Nano),
		"window_start": w.start.UTC().Format(time.RFC3339Nano), "window_end": now.Format(time.RFC3339Nano),
		"transactions_consumed": tx.Consumed, "transactions_written": tx.Written,
		"alerts_consumed": al.Consumed, "alerts_written": al.Written,
		"records_invalid": tx.Invalid + al.Invalid, "unknown_fields": tx.Unknown + al.Unknown,
		"commits": w.commits, "commit_retries": w.retries, "rows_per_second": math.Round(rate*100) / 100,
		"storage_latency_p50_ms": q(0.50), "storage_latency_p95_ms": q(0.95), "storage_latency_p99_ms": q(0.99),
		"storage_latency_max_ms": maxMs, "host": host, "version": version,
	}
}

// appendRun writes one row; the row goes through the same JSON → Arrow path
// as the records, so a column added to pipeline_runs later just stays NULL.
func appendRun(ctx context.Context, cat catalog.Catalog, session string, row map[string]any) error {
	js, err := json.Marshal(row)
	if err != nil {
		return err
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		_, err := appendJSON(ctx, cat, lake.TablePipelineRuns, [][]byte{js}, []KafkaMeta{{}}, iceberg.Properties{propSession: session})
		if err == nil {
			return nil
		}
		lastErr = err
		if ctx.Err() != nil {
			return errors.Join(err, ctx.Err())
		}
		time.Sleep(time.Duration(100*(attempt+1)) * time.Millisecond)
	}
	return lastErr
}

// appended is what one appendJSON call did with its records.
type appended struct {
	rows, invalid, unknown int64
}

// appendJSON appends contract JSON records to lake.<name> in one commit,
// through the streaming writer's JSON → Arrow mapping (decode.go), so a record
// lands exactly as it would from Kafka. A record that is not a JSON object is
// skipped and counted, as in the stream.
func appendJSON(ctx context.Context, cat catalog.Catalog, name string, values [][]byte, metas []KafkaMeta, props iceberg.Properties) (appended, error) {
	var res appended
	tbl, err := cat.LoadTable(ctx, lake.Ident(name))
	if err != nil {
		return res, fmt.Errorf("load lake.%s: %w", name, err)
	}
	rb, err := newRowBuilder(tbl.Schema(), memory.DefaultAllocator, nil)
	if err != nil {
		return res, fmt.Errorf("table %s: %w", name, err)
	}
	defer rb.release()
	for i, v := range values {
		unknown, err := rb.add(v, metas[i])
		if err != nil {
			res.invalid++
			continue
		}
		res.rows++
		res.unknown += int64(unknown)
	}
	rec := rb.flush()
	if rec == nil {
		return res, nil
	}
	defer rec.Release()
	rdr, err := array.NewRecordReader(rb.schema, []arrow.RecordBatch{rec})
	if err != nil {
		return res, err
	}
	defer rdr.Release()
	if _, err := tbl.Append(ctx, rdr, props); err != nil {
		return res, fmt.Errorf("append to lake.%s: %w", name, err)
	}
	return res, nil
}
