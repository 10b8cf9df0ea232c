// Package obs owns what every finlake service shows of itself: structured
// logging (log/slog) and the HTTP endpoints /healthz, /readyz, /metrics
// (Prometheus text format) and /status (JSON).
package obs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewLogger builds a slog logger writing format ("json" or "text") at level
// ("debug", "info", "warn", "error") to w.
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "json", "":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: want json or text", format)
	}
}

// Server is a service's HTTP face. Liveness is being able to answer at all;
// readiness is whatever the service says through SetReady.
type Server struct {
	Registry *prometheus.Registry
	mux      *http.ServeMux
	status   func() any
	ready    atomic.Pointer[string] // nil when ready, else the reason
	ln       net.Listener
	srv      *http.Server
}

// NewServer prepares the endpoints; status, when not nil, gives the /status body.
func NewServer(status func() any) *Server {
	s := &Server{Registry: prometheus.NewRegistry(), mux: http.NewServeMux(), status: status}
	s.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	notReady := "starting"
	s.ready.Store(&notReady)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if reason := s.ready.Load(); reason != nil {
			http.Error(w, "not ready: "+*reason, http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		var body any = map[string]any{}
		if s.status != nil {
			body = s.status()
		}
		WriteJSON(w, http.StatusOK, body)
	})
	return s
}

// Handle adds a service-specific endpoint, e.g. "PUT /rate".
func (s *Server) Handle(pattern string, h http.HandlerFunc) { s.mux.HandleFunc(pattern, h) }

// SetReady marks the service ready, or not ready with a reason.
func (s *Server) SetReady(ready bool, reason string) {
	if ready {
		s.ready.Store(nil)
		return
	}
	s.ready.Store(&reason)
}

// Start binds addr (":0" picks a free port) and serves until ctx ends.
func (s *Server) Start(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("http listen on %s: %w (is another process using the port? pick another with the --http flag)", addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("http server stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.srv.Shutdown(sctx)
	}()
	slog.Info("http endpoints up", "addr", ln.Addr().String())
	return nil
}

// Addr is the bound address, valid after Start.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// WriteJSON writes v as an indented JSON response.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
