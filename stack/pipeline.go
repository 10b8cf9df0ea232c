// Package stack owns the finlake pipeline as local processes, without Docker:
// which processes make it (the Kafka broker from jars, the rules watcher, the
// Flink job, ingest, the Flight SQL server, the generator), their flags,
// ports, health checks and dependencies, and the files under <data>/stack/
// through which `lakectl stack status|down|logs` find a running stack. The
// generic start/restart/stop machinery is package stack/supervisor.
package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/stack/supervisor"
)

// Process names, in the order the pipeline comes up.
const (
	Kafka     = "kafka"
	Rules     = "rules"
	Flink     = "flink"
	Ingest    = "ingest"
	Serve     = "serve"
	Generator = "generator"
)

// ProcessNames lists every process of the pipeline.
func ProcessNames() []string { return []string{Kafka, Rules, Flink, Ingest, Serve, Generator} }

// Ports are the pipeline's listening ports, all on 127.0.0.1.
type Ports struct {
	Kafka      int // broker client port
	Flink      int // Flink REST API and web UI
	Flight     int // Flight SQL (gRPC)
	Generator  int // generator HTTP (/healthz, /metrics, /status, rate control)
	Ingest     int // ingest HTTP
	FlightHTTP int // Flight server's HTTP endpoints
}

// DefaultPorts are the contract's (ARCHITECTURE.md, "Ports").
func DefaultPorts() Ports {
	return Ports{Kafka: 9092, Flink: 8081, Flight: 32010, Generator: 8091, Ingest: 8092, FlightHTTP: 8093}
}

// Host is the only interface anything binds to.
const Host = "127.0.0.1"

func addr(port int) string { return net.JoinHostPort(Host, strconv.Itoa(port)) }

// Config describes one local pipeline. Zero values take the defaults noted.
type Config struct {
	DataDir    string // all state (required)
	CatalogURI string // FINLAKE_CATALOG_URI of every Go role; empty: SQLite in DataDir
	Warehouse  string // passed on as --warehouse when set
	Bin        string // the lakectl binary [this executable]
	Java       string // [java]
	FlinkJar   string // [flinkjob/target/finlake-flinkjob.jar]
	RulesFile  string // [config/rules.yaml]
	Ports      Ports  // [DefaultPorts()]
	Rate       float64
	// KafkaHeapMB and FlinkHeapMB size the two JVMs for a laptop.
	KafkaHeapMB int // [lakectl kafka run's default]
	FlinkHeapMB int // [384]: state is in RocksDB, off the heap (128 MB managed memory)
	LogLevel    string
	// Skip leaves processes out (e.g. the generator when a test produces its
	// own input); a process depending on a skipped one no longer waits for it.
	Skip []string
	// Extra appends arguments to a process's command line, by process name.
	Extra map[string][]string
}

func (c *Config) defaults() error {
	if c.DataDir == "" {
		return fmt.Errorf("stack: no data dir")
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return err
	}
	c.DataDir = abs
	if c.Bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("stack: find lakectl binary: %w", err)
		}
		c.Bin = exe
	}
	if c.Java == "" {
		c.Java = "java"
	}
	if c.FlinkJar == "" {
		c.FlinkJar = "flinkjob/target/finlake-flinkjob.jar"
	}
	if c.RulesFile == "" {
		c.RulesFile = "config/rules.yaml"
	}
	def := DefaultPorts()
	for _, p := range []struct {
		v *int
		d int
	}{
		{&c.Ports.Kafka, def.Kafka}, {&c.Ports.Flink, def.Flink}, {&c.Ports.Flight, def.Flight},
		{&c.Ports.Generator, def.Generator}, {&c.Ports.Ingest, def.Ingest}, {&c.Ports.FlightHTTP, def.FlightHTTP},
	} {
		if *p.v == 0 {
			*p.v = p.d
		}
	}
	if c.Rate == 0 {
		c.Rate = 10
	}
	if c.FlinkHeapMB == 0 {
		c.FlinkHeapMB = 384
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	for _, f := range []*string{&c.FlinkJar, &c.RulesFile} {
		if a, err := filepath.Abs(*f); err == nil {
			*f = a
		}
	}
	return nil
}

// Endpoints names what a user connects to.
func (c Config) Endpoints() map[string]string {
	_ = c.defaults()
	e := map[string]string{"data": c.DataDir, "logs": contract.DataDir{Root: c.DataDir}.Logs()}
	add := func(proc, key, value string) {
		if !slices.Contains(c.Skip, proc) {
			e[key] = value
		}
	}
	add(Kafka, "kafka", addr(c.Ports.Kafka))
	add(Flink, "flink_ui", "http://"+addr(c.Ports.Flink))
	add(Serve, "flight_sql", "grpc://"+addr(c.Ports.Flight))
	add(Serve, "flight_http", "http://"+addr(c.Ports.FlightHTTP))
	add(Generator, "generator", "http://"+addr(c.Ports.Generator))
	add(Ingest, "ingest", "http://"+addr(c.Ports.Ingest))
	return e
}

// Specs builds the supervised processes of the pipeline.
func (c Config) Specs() ([]supervisor.Spec, error) {
	if err := c.defaults(); err != nil {
		return nil, err
	}
	for _, s := range c.Skip {
		if !slices.Contains(ProcessNames(), s) {
			return nil, fmt.Errorf("stack: cannot skip unknown process %q (processes: %v)", s, ProcessNames())
		}
	}
	brokers := addr(c.Ports.Kafka)
	// Every Go role gets the global flags through the environment, so each
	// command line only carries what is specific to the role.
	// FINLAKE_CATALOG_URI is set even when empty (SQLite in the data
	// directory): the containers of `just up` carry the same variable, so
	// the two stacks are pointed at PostgreSQL the same way.
	env := []string{
		"FINLAKE_DATA=" + c.DataDir,
		"FINLAKE_BROKERS=" + brokers,
		"FINLAKE_CATALOG_URI=" + c.CatalogURI,
		"FINLAKE_LOG_FORMAT=json",
		"FINLAKE_LOG_LEVEL=" + c.LogLevel,
	}
	if c.Warehouse != "" {
		env = append(env, "FINLAKE_WAREHOUSE="+c.Warehouse)
	}
	readyz := func(port int) string { return "http://" + addr(port) + "/readyz" }

	kafkaArgs := []string{"kafka", "run", "--dir", contract.DataDir{Root: c.DataDir}.Kafka(), "--port", strconv.Itoa(c.Ports.Kafka)}
	if c.KafkaHeapMB > 0 {
		kafkaArgs = append(kafkaArgs, "--heap-mb", strconv.Itoa(c.KafkaHeapMB))
	}
	specs := []supervisor.Spec{
		{
			Name: Kafka, Command: c.Bin, Args: kafkaArgs, Env: env,
			// Healthy means serving with the contract's topics in place, so
			// nothing downstream races topic creation.
			Health: supervisor.Check{Func: func(ctx context.Context) error {
				return contract.Ensure(ctx, []string{brokers}, contract.WithTimeout(4*time.Second))
			}, Timeout: 3 * time.Minute, Interval: time.Second},
			StopTimeout: 30 * time.Second,
		},
		{
			Name: Rules, Command: c.Bin, Args: []string{"rules", "watch", c.RulesFile}, Env: env,
			DependsOn: []string{Kafka},
			Health:    supervisor.Check{Settle: 3 * time.Second},
		},
		{
			Name: Flink, Command: c.Java,
			Args: []string{
				// A heap fixed and touched up front: the job's memory is known at
				// start and RSS stays flat while its state fills the heap, instead
				// of creeping up as the collector grows the old generation.
				"-Xms" + strconv.Itoa(c.FlinkHeapMB) + "m", "-Xmx" + strconv.Itoa(c.FlinkHeapMB) + "m",
				"-XX:+AlwaysPreTouch", "-XX:+UseSerialGC",
				"-jar", c.FlinkJar,
				"--bootstrap", brokers,
				"--checkpoint-dir", contract.DataDir{Root: c.DataDir}.FlinkCheckpoints(),
				"--rest-port", strconv.Itoa(c.Ports.Flink),
			},
			Env:       env,
			DependsOn: []string{Kafka, Rules},
			Health: supervisor.Check{Func: func(ctx context.Context) error {
				return flinkJobRunning(ctx, "http://"+addr(c.Ports.Flink))
			}, Timeout: 3 * time.Minute, Interval: time.Second},
			StopTimeout: 30 * time.Second,
		},
		{
			Name: Ingest, Command: c.Bin, Args: []string{"ingest", "--http", addr(c.Ports.Ingest)}, Env: env,
			DependsOn: []string{Kafka},
			Health:    supervisor.Check{HTTP: readyz(c.Ports.Ingest), Timeout: 2 * time.Minute},
			// A commit in flight finishes before exit; the next start resumes
			// from the lake's own offsets either way.
			StopTimeout: 30 * time.Second,
		},
		{
			Name: Serve, Command: c.Bin,
			Args: []string{"serve", "--listen", addr(c.Ports.Flight), "--http", addr(c.Ports.FlightHTTP), "--memory-limit", "1GB"}, Env: env,
			DependsOn: []string{Ingest},
			Health:    supervisor.Check{HTTP: readyz(c.Ports.FlightHTTP), Timeout: 2 * time.Minute},
		},
		{
			Name: Generator, Command: c.Bin,
			Args: []string{"generate", "--rate", strconv.FormatFloat(c.Rate, 'f', -1, 64), "--http", addr(c.Ports.Generator)}, Env: env,
			// Producing before the job runs would only build a backlog that
			// distorts the first latency figures.
			DependsOn: []string{Flink, Ingest},
			Health:    supervisor.Check{HTTP: readyz(c.Ports.Generator), Timeout: time.Minute},
		},
	}
	var out []supervisor.Spec
	for _, s := range specs {
		if slices.Contains(c.Skip, s.Name) {
			continue
		}
		s.DependsOn = slices.DeleteFunc(s.DependsOn, func(d string) bool { return slices.Contains(c.Skip, d) })
		s.Args = append(s.Args, c.Extra[s.Name]...)
		out = append(out, s)
	}
	return out, nil
}

// ParseProcArgs reads `--proc-arg` values, NAME=ARGS with ARGS split at
// white space, into Config.Extra; NAME must be a process of the pipeline.
func ParseProcArgs(values []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, v := range values {
		name, args, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(args) == "" {
			return nil, fmt.Errorf("%q: want NAME=ARGS, e.g. \"ingest=--commit-interval 1s\"", v)
		}
		if !slices.Contains(ProcessNames(), name) {
			return nil, fmt.Errorf("%q: no process %q (processes: %s)", v, name, strings.Join(ProcessNames(), ", "))
		}
		out[name] = append(out[name], strings.Fields(args)...)
	}
	return out, nil
}

// flinkJobRunning succeeds when the REST API lists a job in state RUNNING.
func flinkJobRunning(ctx context.Context, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/jobs/overview", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("flink REST: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("flink REST /jobs/overview: %s", resp.Status)
	}
	var body struct {
		Jobs []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"jobs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("flink REST /jobs/overview: %w", err)
	}
	for _, j := range body.Jobs {
		if j.State == "RUNNING" {
			return nil
		}
	}
	return fmt.Errorf("flink: no RUNNING job yet (%d jobs listed)", len(body.Jobs))
}
