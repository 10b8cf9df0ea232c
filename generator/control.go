package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
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
			"mode": mode, "rate": FormatRate(pacer.Rate()), "paused": pacer.Rate() == Paused,
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
		obs.WriteJSON(w, http.StatusOK, map[string]any{"rate": FormatRate(rate), "paused": rate == Paused})
	})
	return srv, nil
}

// ParseRate reads a PUT /rate body: {"rate": N}, {"rate": "max"}, or a bare
// number or max.
func ParseRate(body []byte) (float64, error) {
	body = bytes.TrimSpace(body)
	text := string(body)
	if len(body) > 0 && body[0] == '{' {
		var doc struct {
			Rate json.RawMessage `json:"rate"`
		}
		if err := json.Unmarshal(body, &doc); err != nil || doc.Rate == nil {
			return 0, fmt.Errorf(`body must be {"rate": R} or a bare R, where R is %s`, RateForms)
		}
		text = string(doc.Rate)
		if s, err := strconv.Unquote(text); err == nil {
			text = s
		}
	}
	return ParseRateText(text)
}
