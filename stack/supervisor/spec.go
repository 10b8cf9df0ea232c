// Package supervisor owns running a fixed set of local processes as one unit:
// start them in dependency order, each gated on its health check; restart any
// that dies with exponential backoff; capture their output as JSON lines under
// a log directory; report state, pid, uptime, restarts and RSS; stop them in
// reverse order, gracefully first and by force after a deadline. It knows
// nothing about finlake: package stack says which processes make the pipeline.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Spec declares one supervised process.
type Spec struct {
	Name      string
	Command   string   // executable path or name looked up in PATH
	Args      []string // arguments after Command
	Env       []string // KEY=VALUE pairs added to the supervisor's environment
	Dir       string   // working directory; "" means the supervisor's
	DependsOn []string // names that must be healthy before this one starts
	Health    Check    // when zero, the process counts as healthy once it has stayed up for Check.Settle
	// StopTimeout is how long SIGTERM may take before SIGKILL (default 15s,
	// always capped by the supervisor's overall stop deadline).
	StopTimeout time.Duration
}

// Check says how to tell that a process is serving. The first non-empty of
// Func, HTTP and TCP is used.
type Check struct {
	HTTP string                          // URL answering GET with 200
	TCP  string                          // host:port accepting connections
	Func func(ctx context.Context) error // nil error means healthy
	// Timeout bounds the time from (re)start to healthy (default 60s). Past
	// it, the first start fails and a restarted process is killed and
	// restarted again.
	Timeout time.Duration
	// Interval between probes (default 250ms while starting).
	Interval time.Duration
	// Settle is how long a process without a probe must stay up to count as
	// healthy (default 1s).
	Settle time.Duration
}

func (c Check) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 60 * time.Second
}

func (c Check) interval() time.Duration {
	if c.Interval > 0 {
		return c.Interval
	}
	return 250 * time.Millisecond
}

func (c Check) settle() time.Duration {
	if c.Settle > 0 {
		return c.Settle
	}
	return time.Second
}

func (c Check) hasProbe() bool { return c.Func != nil || c.HTTP != "" || c.TCP != "" }

// probe runs the check once; errors say what was tried.
func (c Check) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	switch {
	case c.Func != nil:
		return c.Func(ctx)
	case c.HTTP != "":
		return HTTPGetOK(ctx, c.HTTP)
	case c.TCP != "":
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", c.TCP)
		if err != nil {
			return fmt.Errorf("tcp %s: %w", c.TCP, err)
		}
		return conn.Close()
	}
	return nil
}

// HTTPGetOK succeeds when GET url answers 200.
func HTTPGetOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// order validates the specs and returns them sorted so that every process
// comes after its dependencies, plus each one's depth (0 for no dependencies)
// so that stop can go level by level.
func order(specs []Spec) ([]Spec, map[string]int, error) {
	byName := make(map[string]Spec, len(specs))
	for _, s := range specs {
		if s.Name == "" || s.Command == "" {
			return nil, nil, errors.New("supervisor: every process needs a name and a command")
		}
		if _, dup := byName[s.Name]; dup {
			return nil, nil, fmt.Errorf("supervisor: process %q declared twice", s.Name)
		}
		byName[s.Name] = s
	}
	depth := make(map[string]int, len(specs))
	const visiting = -1
	var visit func(name string, path []string) (int, error)
	visit = func(name string, path []string) (int, error) {
		if d, ok := depth[name]; ok {
			if d == visiting {
				return 0, fmt.Errorf("supervisor: dependency cycle %v", append(path, name))
			}
			return d, nil
		}
		depth[name] = visiting
		d := 0
		for _, dep := range byName[name].DependsOn {
			if _, ok := byName[dep]; !ok {
				return 0, fmt.Errorf("supervisor: %q depends on unknown process %q", name, dep)
			}
			dd, err := visit(dep, append(path, name))
			if err != nil {
				return 0, err
			}
			d = max(d, dd+1)
		}
		depth[name] = d
		return d, nil
	}
	for _, s := range specs {
		if _, err := visit(s.Name, nil); err != nil {
			return nil, nil, err
		}
	}
	sorted := append([]Spec(nil), specs...)
	// Stable by depth keeps the declared order within a level.
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && depth[sorted[j].Name] < depth[sorted[j-1].Name]; j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	return sorted, depth, nil
}

// sumTrees adds up rss over each root's process tree.
func sumTrees(roots []int, children map[int][]int, rss func(int) int64) map[int]int64 {
	out := make(map[int]int64, len(roots))
	for _, root := range roots {
		if root <= 0 {
			continue
		}
		var total int64
		seen := map[int]bool{}
		stack := []int{root}
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[p] {
				continue
			}
			seen[p] = true
			total += rss(p)
			stack = append(stack, children[p]...)
		}
		out[root] = total
	}
	return out
}
