package generator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/finlake/finlake/internal/obs"
)

// NewControlServer gives a run its HTTP face: /status (JSON), PUT /rate,
// /healthz, /readyz and /metrics. Start it with Start(ctx, addr).
func NewControlServer(stats *Stats, sink Sink, pacer *Pacer, mode string) (*obs.Server, error) {
	srv := obs.NewServer(func() any {
		return map[string]any{
			"mode": mode, "rate": pacer.Rate(),
			"generated": stats.Generated.Load(), "produced": stats.Produced.Load(),
			"buffered": sink.Buffered(), "errors": stats.Errors.Load(), "valid": stats.Valid.Load(),
			"malformed": stats.Malformed(), "scenarios": stats.Scenarios(),
			"event_time": time.UnixMilli(stats.EventMS.Load()).UTC().Format(time.RFC3339Nano),
		}
	})
	if err := stats.Register(srv.Registry, sink.Buffered, pacer.Rate); err != nil {
		return nil, err
	}
	srv.Handle("PUT /rate", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 4096))
		if err != nil {
			obs.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		rate, err := ParseRate(body)
		if err != nil {
			obs.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		pacer.SetRate(rate)
		slog.Info("rate changed", "rate", rate)
		obs.WriteJSON(w, http.StatusOK, map[string]float64{"rate": rate})
	})
	return srv, nil
}

// ParseRate reads a PUT /rate body: {"rate": N} or a bare number.
func ParseRate(body []byte) (float64, error) {
	body = bytes.TrimSpace(body)
	var v float64
	if len(body) > 0 && body[0] == '{' {
		var doc struct {
			Rate *float64 `json:"rate"`
		}
		if err := json.Unmarshal(body, &doc); err != nil || doc.Rate == nil {
			return 0, errors.New(`body must be {"rate": N} or a number`)
		}
		v = *doc.Rate
	} else {
		f, err := strconv.ParseFloat(string(body), 64)
		if err != nil {
			return 0, errors.New(`body must be {"rate": N} or a number`)
		}
		v = f
	}
	if v < 0 || v != v || v > 1e9 {
		return 0, errors.New("rate must be 0 (as fast as possible) or a positive number of transactions per second")
	}
	return v, nil
}
