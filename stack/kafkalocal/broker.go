// Package kafkalocal owns running a real Kafka broker from the Maven Central
// jars: a single-node KRaft broker (broker and controller in one JVM), with
// no Docker and no Kafka tarball, for Go tests, Java tests (via `lakectl kafka
// run`) and the local stack. It fetches the jars once (EnsureJars), formats
// and configures a broker directory, starts the JVM, waits until the broker
// answers Kafka requests, and stops, kills or restarts it on the same data.
//
// In Go tests: StartT for a broker of the test's own (Kill/Restart allowed),
// SharedT for one broker per test binary (stop it in TestMain with
// StopShared). Both create the contract's topics and use QuickStart.
//
// A broker dir holds server.properties, log4j2.xml, kafkalocal.json (cluster
// id and ports, reused by the next Start), data/ and logs/server.log. The
// jars live in $FINLAKE_CACHE/kafka-<version>/libs (default
// ~/.cache/finlake), with a class-data archive that speeds up JVM starts
// (FINLAKE_KAFKA_CDS=0 disables it). Needs java 17+, and mvn for the first
// fetch. On Linux the broker dies with the process that started it; on
// macOS it outlives a parent that is SIGKILLed.
package kafkalocal

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"

	_ "embed"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Options configure a broker. The zero value is a usable dev broker on a
// temp dir and free ports.
type Options struct {
	// Dir holds the broker's data (data/), config and logs (logs/server.log).
	// Empty: a new temp dir, removed by Stop. Reusing a dir keeps its topics,
	// cluster id and (unless set here) its ports.
	Dir string
	// Port is the client listener on 127.0.0.1; 0 picks the port this Dir
	// used before if it is still free, else a free one. Restart keeps it.
	Port int
	// ControllerPort is the KRaft controller listener; 0 as for Port.
	ControllerPort int
	// HeapMB is the JVM max heap; default 384 (the Kafka scripts use 1 GB).
	HeapMB int
	// CacheDir is where the jars live; "" = DefaultCacheDir().
	CacheDir string
	// LogWriter, when set, also receives the broker's log lines and the
	// JVM's own output. The log always goes to <Dir>/logs/server.log.
	LogWriter io.Writer
	// StartTimeout bounds Start and Restart (format, JVM start, readiness);
	// default 120 s, generous for a loaded 2-core CI machine.
	StartTimeout time.Duration
	// ServerProps add to or override the generated server.properties.
	ServerProps map[string]string
	// QuickStart runs the JVM with the C1 compiler only
	// (-XX:TieredStopAtLevel=1): the broker serves 2-3x sooner (about 2-3 s
	// instead of 5-10 s on 2 busy cores) but has a lower peak throughput.
	// Tests want it; benchmarks and the local stack do not.
	QuickStart bool
	// JVMFlags are appended to the java command line (they win over ours).
	JVMFlags []string
}

// DefaultHeapMB is the broker heap when Options.HeapMB is 0: enough for the
// dev pipeline's few topics, small enough for an 8 GB laptop next to Flink.
const DefaultHeapMB = 384

// Broker is a running (or stopped) broker process on one directory.
type Broker struct {
	opts      Options
	dir       string
	tempDir   bool
	java      string
	classpath string
	port      int
	cport     int
	clusterID string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the current process has exited
	out  *os.File      // the JVM's stdout/stderr file
	// logStart is the size of server.log when the current process started,
	// so startup errors are looked for in this run's lines only.
	logStart int64
}

// state is remembered in the broker dir so a later Start on the same dir
// keeps the cluster id (the data is bound to it) and the ports.
type state struct {
	ClusterID      string `json:"cluster_id"`
	Port           int    `json:"port"`
	ControllerPort int    `json:"controller_port"`
}

const stateFile = "kafkalocal.json"

// Start formats Dir if needed, starts the broker JVM and returns once the
// broker answers a metadata request listing itself. On failure the error
// carries the tail of the broker log.
func Start(ctx context.Context, opts Options) (*Broker, error) {
	if opts.HeapMB <= 0 {
		opts.HeapMB = DefaultHeapMB
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 120 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	java, err := javaBinary()
	if err != nil {
		return nil, err
	}
	cp, err := EnsureJars(ctx, opts.CacheDir)
	if err != nil {
		return nil, err
	}
	b := &Broker{opts: opts, java: java, classpath: cp, dir: opts.Dir}
	if b.dir == "" {
		d, err := os.MkdirTemp("", "kafkalocal-")
		if err != nil {
			return nil, fmt.Errorf("kafkalocal: temp dir: %w", err)
		}
		b.dir, b.tempDir = d, true
	}
	if b.dir, err = filepath.Abs(b.dir); err != nil {
		return nil, fmt.Errorf("kafkalocal: broker dir: %w", err)
	}
	for _, d := range []string{b.dataDir(), b.logDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("kafkalocal: create %s: %w", d, err)
		}
	}
	var st state
	if raw, err := os.ReadFile(filepath.Join(b.dir, stateFile)); err == nil {
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, fmt.Errorf("kafkalocal: read %s: %w", filepath.Join(b.dir, stateFile), err)
		}
	}
	// A formatted dir's own record wins: a first start that failed after
	// formatting never saved the state file.
	b.clusterID = formattedClusterID(b.dataDir())
	if b.clusterID == "" {
		b.clusterID = st.ClusterID
	}
	if b.clusterID == "" {
		b.clusterID = newClusterID()
	}

	// Ports we pick ourselves can be taken between our probe and the JVM's
	// bind; then we pick again. Ports the caller fixed are kept; the ports
	// the dir used last time are reused while they are free (the voter
	// address is in the config, not the data, so a move is harmless).
	const attempts = 3
	for i := 1; ; i++ {
		var pickedPorts []int
		b.port, b.cport = opts.Port, opts.ControllerPort
		if b.port == 0 && i == 1 && portFree(st.Port) {
			b.port = st.Port
			pickedPorts = append(pickedPorts, b.port)
		}
		if b.cport == 0 && i == 1 && portFree(st.ControllerPort) {
			b.cport = st.ControllerPort
			pickedPorts = append(pickedPorts, b.cport)
		}
		if b.port == 0 {
			if b.port, err = freePort(); err != nil {
				return nil, err
			}
			pickedPorts = append(pickedPorts, b.port)
		}
		if b.cport == 0 {
			if b.cport, err = freePort(); err != nil {
				return nil, err
			}
			pickedPorts = append(pickedPorts, b.cport)
		}
		err = b.configureAndRun(ctx)
		if err == nil {
			break
		}
		if len(pickedPorts) == 0 || i == attempts || !b.lostPickedPort(pickedPorts) {
			b.cleanupTemp()
			return nil, err
		}
	}
	st = state{ClusterID: b.clusterID, Port: b.port, ControllerPort: b.cport}
	raw, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(filepath.Join(b.dir, stateFile), raw, 0o644); err != nil {
		_ = b.Stop()
		return nil, fmt.Errorf("kafkalocal: save %s: %w", stateFile, err)
	}
	return b, nil
}

func (b *Broker) configureAndRun(ctx context.Context) error {
	if err := b.writeConfig(); err != nil {
		return err
	}
	if err := b.format(ctx); err != nil {
		return err
	}
	return b.launch(ctx)
}

// Bootstrap is the client bootstrap address, "127.0.0.1:PORT".
func (b *Broker) Bootstrap() string { return "127.0.0.1:" + strconv.Itoa(b.port) }

// Port and ControllerPort are the listeners in use.
func (b *Broker) Port() int           { return b.port }
func (b *Broker) ControllerPort() int { return b.cport }

// Dir is the broker directory; Classpath the jars it runs from (for running
// Kafka's own tools, see ProducerPerfTest).
func (b *Broker) Dir() string       { return b.dir }
func (b *Broker) Classpath() string { return b.classpath }

// ClusterID is the KRaft cluster id the dir was formatted with.
func (b *Broker) ClusterID() string { return b.clusterID }

// LogFile is the broker's log4j2 log.
func (b *Broker) LogFile() string { return filepath.Join(b.logDir(), "server.log") }

// Pid of the running JVM, 0 when none runs.
func (b *Broker) Pid() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil || b.cmd.Process == nil || b.exited() {
		return 0
	}
	return b.cmd.Process.Pid
}

// Done is closed when the current broker process exits (crash, Kill, Stop).
// After Restart, call Done again for the new process.
func (b *Broker) Done() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return b.done
}

func (b *Broker) exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

func (b *Broker) dataDir() string { return filepath.Join(b.dir, "data") }
func (b *Broker) logDir() string  { return filepath.Join(b.dir, "logs") }

//go:embed log4j2.xml.tmpl
var log4jTemplate string

var log4jTmpl = template.Must(template.New("log4j2").Parse(log4jTemplate))

// serverProps is the single-node configuration. Notes on the choices:
//   - one node is both broker and controller; every listener on 127.0.0.1.
//   - a static voter set (controller.quorum.voters) rather than a formatted
//     standalone dynamic quorum: the voter's address then lives in the
//     config, not in the formatted log, so a dir can restart on new ports.
//   - internal topics (offsets, transaction state, share state) need
//     replication 1 and min ISR 1, or group commits and transactional
//     producers fail on one broker; fewer partitions make their first use
//     (coordinator load) quicker.
//   - auto.create.topics.enable=false: the contract's topics are created with
//     their specs (topics.Ensure); a typo in a topic name should fail loudly
//     rather than create a 1-partition, non-compacted topic.
//   - group.initial.rebalance.delay.ms=0: consumers in tests start at once.
//   - per-partition retention of 1 GiB (time retention stays 7 days): the
//     ingest lags far less than that, and the disk stays bounded.
//   - a small log-cleaner dedupe buffer: the default 128 MB would be a third
//     of the heap, and only alert-rules is compacted.
func (b *Broker) serverProps() map[string]string {
	p := map[string]string{
		"process.roles":                                    "broker,controller",
		"node.id":                                          "1",
		"controller.quorum.voters":                         fmt.Sprintf("1@127.0.0.1:%d", b.cport),
		"listeners":                                        fmt.Sprintf("PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d", b.port, b.cport),
		"advertised.listeners":                             fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", b.port),
		"controller.listener.names":                        "CONTROLLER",
		"inter.broker.listener.name":                       "PLAINTEXT",
		"listener.security.protocol.map":                   "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"log.dirs":                                         b.dataDir(),
		"num.partitions":                                   "3",
		"default.replication.factor":                       "1",
		"min.insync.replicas":                              "1",
		"offsets.topic.replication.factor":                 "1",
		"offsets.topic.num.partitions":                     "10",
		"transaction.state.log.replication.factor":         "1",
		"transaction.state.log.min.isr":                    "1",
		"transaction.state.log.num.partitions":             "10",
		"share.coordinator.state.topic.replication.factor": "1",
		"share.coordinator.state.topic.min.isr":            "1",
		"group.initial.rebalance.delay.ms":                 "0",
		"auto.create.topics.enable":                        "false",
		"num.network.threads":                              "2",
		"num.io.threads":                                   "4",
		"background.threads":                               "4",
		"log.cleaner.dedupe.buffer.size":                   strconv.Itoa(16 << 20),
		"log.cleaner.threads":                              "1",
		// A generator left running writes GBs an hour: cap each partition
		// at 1 GiB (in 128 MiB segments, the unit retention deletes) so a
		// laptop disk survives a forgotten `just dev`.
		"log.segment.bytes":   strconv.Itoa(128 << 20),
		"log.retention.bytes": strconv.Itoa(1 << 30),
		// After a SIGKILL the old registration blocks the restarted broker
		// until its session expires (default 9 s); a shorter session makes
		// Kill+Restart tests quick while surviving multi-second stalls.
		"broker.session.timeout.ms":    "4000",
		"broker.heartbeat.interval.ms": "1000",
	}
	for k, v := range b.opts.ServerProps {
		p[k] = v
	}
	return p
}

func (b *Broker) propsFile() string  { return filepath.Join(b.dir, "server.properties") }
func (b *Broker) log4jFile() string  { return filepath.Join(b.dir, "log4j2.xml") }
func (b *Broker) stdoutFile() string { return filepath.Join(b.logDir(), "stdout.log") }

func (b *Broker) writeConfig() error {
	props := b.serverProps()
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	sb.WriteString("# Written by finlake kafkalocal on every start; edits are overwritten.\n")
	for _, k := range keys {
		fmt.Fprintf(&sb, "%s=%s\n", k, props[k])
	}
	if err := os.WriteFile(b.propsFile(), []byte(sb.String()), 0o644); err != nil {
		return fmt.Errorf("kafkalocal: write server.properties: %w", err)
	}
	f, err := os.Create(b.log4jFile())
	if err != nil {
		return fmt.Errorf("kafkalocal: write log4j2.xml: %w", err)
	}
	defer f.Close()
	if err := log4jTmpl.Execute(f, map[string]any{"LogFile": b.LogFile(), "Console": b.opts.LogWriter != nil}); err != nil {
		return fmt.Errorf("kafkalocal: write log4j2.xml: %w", err)
	}
	return f.Close()
}

// jvmArgs keep the footprint small: SerialGC (one GC thread, no G1 region
// overhead on a small heap) and a small initial heap.
func (b *Broker) jvmArgs(heapMB int) []string {
	xms := min(64, heapMB)
	args := []string{
		fmt.Sprintf("-Xmx%dm", heapMB), fmt.Sprintf("-Xms%dm", xms),
		"-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError",
		"-Djava.awt.headless=true",
		"-Dlog4j2.configurationFile=" + b.log4jFile(),
		"-Dkafka.logs.dir=" + b.logDir(),
		"-cp", b.classpath,
	}
	return args
}

// format writes meta.properties and the bootstrap metadata once per dir;
// an already formatted dir is left alone so its data survives.
func (b *Broker) format(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(b.dataDir(), "meta.properties")); err == nil {
		return nil
	}
	args := append(b.jvmArgs(128), "-XX:TieredStopAtLevel=1", "kafka.tools.StorageTool",
		"format", "--ignore-formatted", "-t", b.clusterID, "-c", b.propsFile())
	cmd := exec.CommandContext(ctx, b.java, args...)
	cmd.SysProcAttr = sysProcAttr()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := runOnOwnThread(cmd); err != nil {
		return fmt.Errorf("kafkalocal: format %s (kafka.tools.StorageTool): %w\n%s", b.dataDir(), err, tail(out.Bytes(), 4000))
	}
	return nil
}

func (b *Broker) launch(ctx context.Context) error {
	out, err := os.OpenFile(b.stdoutFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("kafkalocal: open %s: %w", b.stdoutFile(), err)
	}
	b.logStart = 0
	if st, err := os.Stat(b.LogFile()); err == nil {
		b.logStart = st.Size()
	}
	fmt.Fprintf(out, "\n=== kafkalocal: starting broker at %s on %s\n", time.Now().Format(time.RFC3339), b.Bootstrap())
	args := b.jvmArgs(b.opts.HeapMB)
	cdsArgs, dumpTo := b.cdsArgs()
	args = append(args, cdsArgs...)
	if b.opts.QuickStart {
		args = append(args, "-XX:TieredStopAtLevel=1")
	}
	args = append(args, b.opts.JVMFlags...)
	args = append(args, "kafka.Kafka", b.propsFile())
	// Not CommandContext: the broker must outlive Start's context.
	cmd := exec.Command(b.java, args...)
	cmd.Dir = b.dir
	cmd.SysProcAttr = sysProcAttr()
	if b.opts.LogWriter != nil {
		// stdout then carries the log4j console appender, a copy of
		// server.log; the JVM's own errors come on stderr and are kept.
		cmd.Stdout, cmd.Stderr = b.opts.LogWriter, io.MultiWriter(out, b.opts.LogWriter)
	} else {
		cmd.Stdout, cmd.Stderr = out, out
	}
	// Pdeathsig fires when the OS thread that forked the child exits, and Go
	// ends a thread when a goroutine that locked it returns: a thread we
	// merely borrowed could be such a one later. So the fork happens on a
	// thread of our own, locked and kept alive until the JVM exits.
	started := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		b.mu.Lock()
		b.cmd, b.done, b.out = cmd, done, out
		b.mu.Unlock()
		started <- nil
		_ = cmd.Wait()
		out.Close()
		b.keepCDSArchive(cmd, dumpTo)
		close(done)
	}()
	if err := <-started; err != nil {
		out.Close()
		return fmt.Errorf("kafkalocal: start java: %w", err)
	}
	if err := b.waitReady(ctx, done); err != nil {
		b.killAndWait()
		return err
	}
	return nil
}

// runOnOwnThread runs a short-lived child (format, tools) on a locked thread,
// for the same Pdeathsig reason as launch.
func runOnOwnThread(cmd *exec.Cmd) error {
	res := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		res <- cmd.Run()
	}()
	return <-res
}

// waitReady polls with a real Kafka metadata request until the broker lists
// itself: the socket accepting is not enough, the broker must have
// registered with its controller to serve produce and transactions.
func (b *Broker) waitReady(ctx context.Context, done <-chan struct{}) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Bootstrap()), kgo.DialTimeout(time.Second),
		kgo.RequestRetries(0), kgo.RetryTimeout(2*time.Second))
	if err != nil {
		return fmt.Errorf("kafkalocal: client: %w", err)
	}
	defer cl.Close()
	start := time.Now()
	var lastErr error
	for {
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		req := kmsg.NewPtrMetadataRequest()
		resp, err := req.RequestWith(actx, cl)
		cancel()
		if err == nil && len(resp.Brokers) > 0 {
			return nil
		}
		if err == nil {
			err = errors.New("metadata lists no broker yet")
		}
		lastErr = err
		select {
		case <-done:
			return fmt.Errorf("kafkalocal: broker exited during startup (see %s):\n%s%s", b.LogFile(), b.startupErrors(), b.LogTail(4000))
		case <-ctx.Done():
			return fmt.Errorf("kafkalocal: broker on %s not serving after %s (last: %v; see %s):\n%s%s",
				b.Bootstrap(), time.Since(start).Round(time.Millisecond), lastErr, b.LogFile(), b.startupErrors(), b.LogTail(4000))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// LogTail returns the last n bytes of the broker log and of the JVM output
// (where JVM errors such as a bad flag or an OutOfMemoryError land).
func (b *Broker) LogTail(n int) string {
	var sb strings.Builder
	for _, f := range []string{b.stdoutFile(), b.LogFile()} {
		raw, err := readTail(f, n)
		if err != nil || len(strings.TrimSpace(raw)) == 0 {
			continue
		}
		fmt.Fprintf(&sb, "--- %s (tail)\n%s\n", f, raw)
	}
	return sb.String()
}

// startupErrors collects this run's ERROR and FATAL log lines with the
// exception message that follows each: the cause of a failed start is
// usually there, while the log's tail is the shutdown that followed.
func (b *Broker) startupErrors() string {
	f, err := os.Open(b.LogFile())
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(b.logStart, io.SeekStart); err != nil {
		return ""
	}
	var sb strings.Builder
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n, after := 0, false
	for sc.Scan() && n < 12 {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "[") && (strings.Contains(line, "] ERROR ") || strings.Contains(line, "] FATAL ")):
			sb.WriteString(line + "\n")
			n, after = n+1, true
		case after && line != "" && !strings.HasPrefix(line, "[") && !strings.HasPrefix(line, "\t"):
			sb.WriteString("    " + line + "\n")
			n++
			after = false
		default:
			after = false
		}
	}
	if sb.Len() == 0 {
		return ""
	}
	return "--- errors logged by this start\n" + sb.String()
}

// lostPickedPort tells whether the failed start could not bind a port we
// picked ourselves (someone took it after our probe): worth another try.
func (b *Broker) lostPickedPort(picked []int) bool {
	errs := b.startupErrors()
	for _, p := range picked {
		if strings.Contains(errs, fmt.Sprintf("bind to 127.0.0.1:%d", p)) {
			return true
		}
	}
	return false
}

func readTail(path string, n int) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	off := max(st.Size()-int64(n), 0)
	buf := make([]byte, st.Size()-off)
	_, err = f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return string(buf), nil
}

// StopTimeout is how long Stop waits for a controlled shutdown before SIGKILL.
const StopTimeout = 30 * time.Second

// Stop shuts the broker down gracefully (SIGTERM: controlled shutdown,
// flushed logs), SIGKILLs it after StopTimeout, and removes the dir if Start
// made it as a temp dir. Safe to call twice.
func (b *Broker) Stop() error {
	err := b.stopProcess()
	b.cleanupTemp()
	return err
}

func (b *Broker) cleanupTemp() {
	if b.tempDir {
		_ = os.RemoveAll(b.dir)
	}
}

func (b *Broker) stopProcess() error {
	b.mu.Lock()
	cmd, done := b.cmd, b.done
	b.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kafkalocal: SIGTERM broker pid %d: %w", cmd.Process.Pid, err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(StopTimeout):
		b.killAndWait()
		return fmt.Errorf("kafkalocal: broker pid %d ignored SIGTERM for %s; killed", cmd.Process.Pid, StopTimeout)
	}
}

// Kill SIGKILLs the broker (no controlled shutdown, unflushed page cache is
// the kernel's), for fault tests; Restart brings it back on the same data.
func (b *Broker) Kill() error {
	b.killAndWait()
	return nil
}

func (b *Broker) killAndWait() {
	b.mu.Lock()
	cmd, done := b.cmd, b.done
	b.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Restart stops the broker if it runs (gracefully) and starts it again on
// the same dir, cluster id and ports, returning once it serves.
func (b *Broker) Restart(ctx context.Context) error {
	if err := b.stopProcess(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, b.opts.StartTimeout)
	defer cancel()
	if err := b.writeConfig(); err != nil {
		return err
	}
	return b.launch(ctx)
}

// formattedClusterID reads cluster.id from a formatted dir's meta.properties.
func formattedClusterID(dataDir string) string {
	raw, err := os.ReadFile(filepath.Join(dataDir, "meta.properties"))
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "cluster.id="); ok {
			return v
		}
	}
	return ""
}

// newClusterID makes a KRaft cluster id the way Kafka's Uuid.randomUuid does:
// 16 random bytes, URL-safe base64 without padding.
// Like Kafka, it never starts with '-', which command-line parsers would take
// for a flag.
func newClusterID() string {
	for {
		var u [16]byte
		_, _ = rand.Read(u[:])
		u[6] = (u[6] & 0x0f) | 0x40 // version 4, like java.util.UUID.randomUUID
		u[8] = (u[8] & 0x3f) | 0x80
		if id := base64.RawURLEncoding.EncodeToString(u[:]); id[0] != '-' {
			return id
		}
	}
}

// portFree tells whether 127.0.0.1:p can be bound now (false for 0).
func portFree(p int) bool {
	if p <= 0 {
		return false
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("kafkalocal: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
