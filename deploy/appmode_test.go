//go:build appmode

package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/finlake/finlake/internal/testsupport"
	"github.com/finlake/finlake/stack/kafkalocal"
)

// The flink image starts its JVMs with these (conf/config.yaml,
// env.java.default-opts.all); Flink 2 needs them on Java 17.
var flinkImageJavaOpts = strings.Fields(`--add-exports=java.base/sun.net.util=ALL-UNNAMED
--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED
--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED
--add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
--add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
--add-opens=java.base/java.text=ALL-UNNAMED --add-opens=java.base/java.time=ALL-UNNAMED
--add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED`)

// TestComposeFlinkRunsTheJobInApplicationMode runs the jobmanager and
// taskmanager services as the flink image would, without Docker: Flink's
// application-mode entrypoint and TaskManagerRunner from the job's jar (plus
// flink-container from Maven Central), each with its service's
// FLINK_PROPERTIES and the JVM sizes Flink derives from them, the
// jobmanager's command line as job arguments, against a real broker. The job
// must reach RUNNING, process generated transactions and complete
// checkpoints. Only host names and ports are local.
func TestComposeFlinkRunsTheJobInApplicationMode(t *testing.T) {
	jar := os.Getenv("FINLAKE_FLINK_JAR")
	bin := os.Getenv("FINLAKE_BIN")
	if jar == "" || bin == "" {
		t.Fatal("FINLAKE_FLINK_JAR and FINLAKE_BIN are required: run `just test-compose-flink`")
	}
	p := loadProject(t)
	pom := readFile(t, "flinkjob/pom.xml")
	container := fetchFlinkContainer(t, pomProp(pom, "flink.version"))
	classpath := jar + string(os.PathListSeparator) + container

	broker := kafkalocal.StartT(t)
	lakectl := func(args ...string) {
		t.Helper()
		out, err := exec.Command(bin, append([]string{"--log-level", "warn"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("lakectl %v: %v\n%s", args, err, out)
		}
	}
	lakectl("rules", "apply", filepath.Join(repoRoot, "config", "rules.yaml"), "--brokers", broker.Bootstrap())

	work := t.TempDir()
	checkpoints := filepath.Join(work, "checkpoints")
	restPort, rpcPort, blobPort := testsupport.FreePort(t), testsupport.FreePort(t), testsupport.FreePort(t)
	// The containers' host names and fixed ports, made local.
	local := map[string]string{
		"jobmanager.rpc.address": "127.0.0.1", "taskmanager.host": "127.0.0.1",
		"jobmanager.bind-host": "127.0.0.1", "taskmanager.bind-host": "127.0.0.1",
		"rest.address": "127.0.0.1", "rest.bind-address": "127.0.0.1",
		"rest.port": strconv.Itoa(restPort), "jobmanager.rpc.port": strconv.Itoa(rpcPort),
		"blob.server.port": strconv.Itoa(blobPort),
	}

	jm := service(t, p, "jobmanager")
	var jobArgs []string
	for _, a := range jm.Command[1:] { // after standalone-job
		switch {
		case a == "kafka:19092":
			a = broker.Bootstrap()
		case strings.HasPrefix(a, "/data/flink/checkpoints"):
			a = checkpoints
		case a == "8081":
			a = strconv.Itoa(restPort)
		}
		jobArgs = append(jobArgs, a)
	}

	// start returns a channel closed when the process exits.
	start := func(role, mainClass string, extra []string) <-chan struct{} {
		t.Helper()
		s := service(t, p, role)
		conf := filepath.Join(work, role)
		if err := os.MkdirAll(conf, 0o755); err != nil {
			t.Fatal(err)
		}
		props := flinkProperties(env(s, "FLINK_PROPERTIES"))
		for k, v := range local {
			props[k] = v
		}
		var lines []string
		for k, v := range props {
			lines = append(lines, k+": "+v)
		}
		propsFile := filepath.Join(conf, "config.yaml")
		if err := os.WriteFile(propsFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("java", "-cp", jar, filepath.Join("testdata", "FlinkMemory.java"), role, propsFile).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: Flink rejects the memory settings: %v\n%s", role, err, tail(out))
		}
		var jvm, dynamic []string
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(line, "jvm="); ok {
				jvm = strings.Fields(v)
			}
			if v, ok := strings.CutPrefix(line, "dynamic="); ok {
				dynamic = strings.Fields(v)
			}
		}
		args := append(append(append([]string{}, flinkImageJavaOpts...), jvm...), "-cp", classpath, mainClass, "--configDir", conf)
		args = append(append(args, dynamic...), extra...)
		log, err := os.Create(filepath.Join(work, role+".log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("java", args...)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: java %s", role, strings.Join(jvm, " "))
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
			log.Close()
			if t.Failed() {
				b, _ := os.ReadFile(log.Name())
				t.Logf("%s log:\n%s", role, tail(b))
			}
		})
		return done
	}
	// The image's entrypoint hands standalone-job's arguments to this class.
	jmDone := start("jobmanager", "org.apache.flink.container.entrypoint.StandaloneApplicationClusterEntryPoint", jobArgs)
	tmDone := start("taskmanager", "org.apache.flink.runtime.taskexecutor.TaskManagerRunner", nil)
	alive := func() error {
		select {
		case <-jmDone:
			return fmt.Errorf("the jobmanager exited (its log is below)")
		case <-tmDone:
			return fmt.Errorf("the taskmanager exited (its log is below)")
		default:
			return nil
		}
	}

	rest := fmt.Sprintf("http://127.0.0.1:%d", restPort)
	var jid string
	waitFor(t, 3*time.Minute, "the job RUNNING on the application cluster", alive, func() (bool, string) {
		var body struct {
			Jobs []struct{ Jid, State string } `json:"jobs"`
		}
		if err := getJSON(rest+"/jobs/overview", &body); err != nil {
			return false, err.Error()
		}
		for _, j := range body.Jobs {
			if j.State == "RUNNING" {
				jid = j.Jid
				return true, ""
			}
		}
		return false, fmt.Sprintf("jobs %+v", body.Jobs)
	})

	const n = 500
	lakectl("generate", "--count", strconv.Itoa(n), "--rate", "max", "--brokers", broker.Bootstrap(), "--http", "off")
	waitFor(t, 2*time.Minute, "the generated records read and a checkpoint completed", alive, func() (bool, string) {
		var job struct {
			Vertices []struct {
				Name    string
				Metrics map[string]any
			}
		}
		var cps struct {
			Counts struct{ Completed int } `json:"counts"`
		}
		if err := getJSON(rest+"/jobs/"+jid, &job); err != nil {
			return false, err.Error()
		}
		if err := getJSON(rest+"/jobs/"+jid+"/checkpoints", &cps); err != nil {
			return false, err.Error()
		}
		var read float64
		for _, v := range job.Vertices {
			if strings.HasPrefix(v.Name, "Source: raw-transactions") {
				read, _ = v.Metrics["read-records"].(float64)
				if w, ok := v.Metrics["write-records"].(float64); ok && w > read {
					read = w
				}
			}
		}
		return read >= n && cps.Counts.Completed > 0, fmt.Sprintf("raw records through the source %v, checkpoints completed %d", read, cps.Counts.Completed)
	})
}

func fetchFlinkContainer(t *testing.T, version string) string {
	t.Helper()
	cache := os.Getenv("FINLAKE_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "finlake")
	}
	dir := filepath.Join(cache, "flink-container-"+version)
	jar := filepath.Join(dir, "flink-container-"+version+".jar")
	if _, err := os.Stat(jar); err == nil {
		return jar
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "mvn", "-q", "-B", "dependency:copy",
		"-Dartifact=org.apache.flink:flink-container:"+version, "-DoutputDirectory="+dir).CombinedOutput()
	if err != nil {
		t.Fatalf("fetch flink-container %s with mvn: %v\n%s", version, err, tail(out))
	}
	return jar
}

func getJSON(url string, v any) error {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func waitFor(t *testing.T, within time.Duration, what string, alive func() error, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for time.Now().Before(deadline) {
		if err := alive(); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(2 * time.Second)
	}
	t.Fatalf("no %s within %s; last: %s", what, within, last)
}
