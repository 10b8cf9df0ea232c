//go:build duckdb_arrow

package flight

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/flight/engine"
	"github.com/finlake/finlake/flight/lakeview"
	"github.com/finlake/finlake/internal/obs"
	"github.com/finlake/finlake/lake"
)

// Config is everything `lakectl serve` needs.
type Config struct {
	Lake        lake.Config
	Listen      string // Flight SQL address, e.g. 127.0.0.1:32010 (":0" picks a port)
	HTTP        string // obs endpoints address, e.g. 127.0.0.1:8093; empty: none
	TLSCert     string
	TLSKey      string
	Auth        *Auth
	MemoryLimit string // DuckDB memory_limit, e.g. "2GB"
	MaxSpill    string // DuckDB max_temp_directory_size, e.g. "4GB"
	// AuditLog is the file the audit trail is appended to (JSON lines);
	// "": <data>/logs/flight-audit.jsonl, "-": stderr, "off": none.
	AuditLog string
	Threads  int
	Options
}

// Running is a started server.
type Running struct {
	Server   *Server
	addr     string
	http     *obs.Server
	grpc     flight.Server
	db       *engine.DB
	closeCat func() error
	tmp      string
	audit    *os.File
	cancel   context.CancelFunc
}

// Addr is the Flight SQL address the server listens on.
func (r *Running) Addr() string { return r.addr }

// HTTPAddr is the obs endpoints' address ("" when disabled).
func (r *Running) HTTPAddr() string {
	if r.http == nil {
		return ""
	}
	return r.http.Addr()
}

// Stop shuts the server down, letting running calls finish for a moment.
func (r *Running) Stop() {
	r.Server.Close() // running queries end now, so the graceful stop is quick
	done := make(chan struct{})
	go func() { r.grpc.Shutdown(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		slog.Warn("flight server did not stop within 10 s")
	}
	r.cancel()
	r.db.Close()
	if r.closeCat != nil {
		_ = r.closeCat()
	}
	if r.tmp != "" {
		_ = os.RemoveAll(r.tmp)
	}
	if r.audit != nil {
		_ = r.audit.Close()
	}
	slog.Info("flight sql stopped", "addr", r.addr)
}

// handshakeOK answers the Flight handshake once the basic-auth middleware has
// accepted the credentials and set the session token (the Flight SQL base
// server would answer Unimplemented). It sends no message: the token travels
// in the trailer, and arrow-go's client reads the trailer after its first
// Recv; with a message that Recv returns before the trailer is there, and the
// login fails now and then with "no authorization header on the response".
// With none, the first Recv is io.EOF, after which the trailer is complete.
type handshakeOK struct{ flight.FlightServer }

func (handshakeOK) Handshake(flight.FlightService_HandshakeServer) error { return nil }

// Start opens the catalog and DuckDB, and serves Flight SQL (and the obs
// endpoints) until Stop or ctx ends.
func Start(ctx context.Context, cfg Config) (*Running, error) {
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("TLS needs both --tls-cert and --tls-key")
	}
	cat, closeCat, err := lake.OpenCatalog(ctx, cfg.Lake)
	if err != nil {
		return nil, err
	}
	wh, err := cfg.Lake.WarehouseDir()
	if err != nil {
		closeCat()
		return nil, err
	}
	// The warehouse itself may be a symlink: DuckDB checks resolved paths.
	if real, err := filepath.EvalSymlinks(wh); err == nil {
		wh = real
	}
	tmp, err := os.MkdirTemp("", "finlake-duckdb-")
	if err != nil {
		closeCat()
		return nil, fmt.Errorf("duckdb temp directory: %w", err)
	}
	eopts := engine.Options{AllowedDirs: []string{wh}, TempDir: tmp, MemoryLimit: cfg.MemoryLimit, Threads: cfg.Threads, MaxTempSize: cfg.MaxSpill}
	db, err := engine.Open(eopts)
	if err != nil {
		closeCat()
		os.RemoveAll(tmp)
		return nil, err
	}
	loc, err := lake.OpenLocator(ctx, cfg.Lake)
	if err != nil {
		closeCat()
		db.Close()
		os.RemoveAll(tmp)
		return nil, err
	}
	closeCatalog := closeCat
	closeCat = func() error { loc.Close(); return closeCatalog() }
	lk := lakeview.New(cat, lake.CatalogName, lake.Namespace, wh).WithLocator(loc)

	rctx, cancel := context.WithCancel(ctx)
	r := &Running{db: db, closeCat: closeCat, tmp: tmp, cancel: cancel}
	fail := func(err error) (*Running, error) {
		cancel()
		db.Close()
		closeCat()
		os.RemoveAll(tmp)
		return nil, err
	}
	var httpSrv *obs.Server
	var srvRef *Server
	if cfg.HTTP != "" {
		httpSrv = obs.NewServer(func() any {
			if srvRef == nil {
				return map[string]any{"service": "flight", "state": "starting"}
			}
			return srvRef.Status()
		})
		cfg.Options.Registerer = httpSrv.Registry
	}
	if cfg.Options.ShareKeyFile == "" {
		cfg.Options.ShareKeyFile = contract.DataDir{Root: cfg.Lake.DataDir}.ShareKey()
	}
	if abs, err := filepath.Abs(cfg.Options.ShareKeyFile); err == nil && strings.HasPrefix(abs+"/", wh+"/") {
		return fail(fmt.Errorf("the pseudonym key file %s lies inside the warehouse, which queries may read: keep it outside (--share-key-file)", cfg.Options.ShareKeyFile))
	}
	switch cfg.AuditLog {
	case "off":
	case "-":
		cfg.Options.Audit = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	default:
		path := cfg.AuditLog
		if path == "" {
			path = filepath.Join(contract.DataDir{Root: cfg.Lake.DataDir}.Logs(), "flight-audit.jsonl")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fail(fmt.Errorf("audit log directory: %w", err))
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fail(fmt.Errorf("audit log (--audit-log): %w", err))
		}
		r.audit = f
		cfg.Options.Audit = slog.New(slog.NewJSONHandler(f, nil))
	}
	shareTmp := filepath.Join(tmp, "share")
	cfg.Options.ShareEngine = eopts
	cfg.Options.ShareEngine.TempDir = shareTmp
	srv, err := New(lk, db, cfg.Auth, cfg.Options)
	if err != nil {
		return fail(err)
	}
	srvRef = srv
	r.Server = srv
	go srv.Janitor(rctx)

	var opts []grpc.ServerOption
	if cfg.TLSCert != "" {
		creds, err := credentials.NewServerTLSFromFile(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fail(fmt.Errorf("load TLS certificate %s / key %s: %w", cfg.TLSCert, cfg.TLSKey, err))
		}
		opts = append(opts, grpc.Creds(creds))
	}
	gs := flight.NewServerWithMiddleware(cfg.Auth.Middleware(), opts...)
	gs.RegisterFlightService(handshakeOK{flightsql.NewFlightServer(srv)})
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fail(fmt.Errorf("listen on %s: %w (is another lakectl serve running? pick another address with --listen)", cfg.Listen, err))
	}
	gs.InitListener(ln)
	r.grpc = gs
	r.addr = ln.Addr().String()
	go func() {
		if err := gs.Serve(); err != nil {
			slog.Error("flight server stopped", "err", err)
		}
	}()
	if httpSrv != nil {
		if err := httpSrv.Start(rctx, cfg.HTTP); err != nil {
			gs.Shutdown()
			return fail(err)
		}
		r.http = httpSrv
		httpSrv.SetReady(true, "")
	}
	slog.Info("flight sql serving", "addr", r.addr, "warehouse", wh, "tls", cfg.TLSCert != "", "auth", cfg.Auth.Enabled(), "http", r.HTTPAddr())
	return r, nil
}
