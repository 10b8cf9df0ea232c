package health

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// FlinkStatus is the stream job as Flink's REST API reports it.
type FlinkStatus struct {
	URL    string `json:"url"`
	Up     bool   `json:"up"`
	Reason string `json:"reason,omitempty"`
	JobID  string `json:"job_id,omitempty"`
	Job    string `json:"job_name,omitempty"`
	State  string `json:"state,omitempty"`
	// Checkpoints.
	Completed            int64   `json:"checkpoints_completed"`
	Failed               int64   `json:"checkpoints_failed"`
	LastCheckpointID     int64   `json:"last_checkpoint_id,omitempty"`
	LastCheckpointAgeSec float64 `json:"last_checkpoint_age_seconds,omitempty"`
	LastCheckpointMs     int64   `json:"last_checkpoint_duration_ms,omitempty"`
	LastCheckpointBytes  int64   `json:"last_checkpoint_state_bytes,omitempty"`
}

type flinkOverview struct {
	Jobs []struct {
		JID       string `json:"jid"`
		Name      string `json:"name"`
		State     string `json:"state"`
		StartTime int64  `json:"start-time"`
	} `json:"jobs"`
}

type flinkCheckpoints struct {
	Counts struct {
		Completed int64 `json:"completed"`
		Failed    int64 `json:"failed"`
	} `json:"counts"`
	Latest struct {
		Completed *struct {
			ID                 int64 `json:"id"`
			LatestAckTimestamp int64 `json:"latest_ack_timestamp"`
			EndToEndDuration   int64 `json:"end_to_end_duration"`
			StateSize          int64 `json:"state_size"`
		} `json:"completed"`
	} `json:"latest"`
}

func checkFlink(ctx context.Context, cfg Config, col *collector) *FlinkStatus {
	base := strings.TrimRight(cfg.FlinkURL, "/")
	st := &FlinkStatus{URL: base}
	code, body, err := httpGet(ctx, cfg, base+"/jobs/overview")
	if err != nil || code != http.StatusOK {
		st.Reason = fmt.Sprintf("REST API answered %d", code)
		if err != nil {
			st.Reason = shortErr(err)
		}
		col.add(Flink, "REST API down at "+base+" ("+st.Reason+")")
		return st
	}
	st.Up = true
	var ov flinkOverview
	if err := json.Unmarshal(body, &ov); err != nil {
		st.Reason = "unreadable /jobs/overview: " + err.Error()
		col.add(Flink, st.Reason)
		return st
	}
	// The newest running job wins; a finished or failed older attempt is
	// history. Without a running one, show the newest so the state explains.
	best := -1
	for i, j := range ov.Jobs {
		switch {
		case best < 0:
			best = i
		case (j.State == "RUNNING") != (ov.Jobs[best].State == "RUNNING"):
			if j.State == "RUNNING" {
				best = i
			}
		case j.StartTime > ov.Jobs[best].StartTime:
			best = i
		}
	}
	if best < 0 {
		st.Reason = "no job submitted"
		col.add(Flink, "no job submitted (start it with `just dev` or the stack)")
		return st
	}
	j := ov.Jobs[best]
	st.JobID, st.Job, st.State = j.JID, j.Name, j.State
	if j.State != "RUNNING" {
		col.add(Flink, fmt.Sprintf("job %s is %s", j.Name, j.State))
	}
	code, body, err = httpGet(ctx, cfg, base+"/jobs/"+j.JID+"/checkpoints")
	if err != nil || code != http.StatusOK {
		return st
	}
	var cp flinkCheckpoints
	if json.Unmarshal(body, &cp) != nil {
		return st
	}
	st.Completed, st.Failed = cp.Counts.Completed, cp.Counts.Failed
	now := time.Now()
	if c := cp.Latest.Completed; c != nil {
		st.LastCheckpointID = c.ID
		st.LastCheckpointAgeSec = round1(now.Sub(time.UnixMilli(c.LatestAckTimestamp)).Seconds())
		st.LastCheckpointMs = c.EndToEndDuration
		st.LastCheckpointBytes = c.StateSize
		if j.State == "RUNNING" && now.Sub(time.UnixMilli(c.LatestAckTimestamp)) > cfg.MaxCheckpointAge {
			col.add(Flink, fmt.Sprintf("last checkpoint %d completed %.0fs ago (more than %s): output is not being committed",
				c.ID, st.LastCheckpointAgeSec, cfg.MaxCheckpointAge))
		}
	} else if j.State == "RUNNING" && j.StartTime > 0 && now.Sub(time.UnixMilli(j.StartTime)) > cfg.MaxCheckpointAge {
		col.add(Flink, fmt.Sprintf("no completed checkpoint in the %s since the job started", now.Sub(time.UnixMilli(j.StartTime)).Round(time.Second)))
	}
	return st
}
